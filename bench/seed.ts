// The database every benchmark role writes to: migrated, with one system
// (BILLmanager, `headers` profile), one department (anna@ on its staff) and
// the correspondence the generated notifications route by.
import { addMap } from '../src/admin/correspondences';
import { addDepartment } from '../src/admin/departments';
import { addSystem } from '../src/admin/systems';
import { openDatabase } from '../src/store/db';
import { migrateLatest } from '../src/store/migrate';

export async function seededBenchDatabase(path: string) {
  const db = openDatabase(path);
  await migrateLatest(db);
  await addSystem(db, 'bench', 'billmgr', { name: 'BILLmanager', from: 'noreply@bill.example', relayTo: 'tickets@bill.example', profile: 'headers', auth: 'none' });
  await addDepartment(db, 'bench', 'hosting', { name: 'Hosting', staff: 'anna@support.example', staffAuth: 'token' });
  await addMap(db, 'bench', { system: 'billmgr', remoteId: '12', name: 'Technical support', department: 'hosting', enabled: true });
  return db;
}
