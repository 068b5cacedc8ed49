// The systems, departments and correspondences the pipeline tests route by.
// Their fixtures are unsigned mail, so these systems are `--auth none` and the
// departments `--staff-auth token`, said here rather than hidden: these tests
// are about routing and relaying; sender authentication is tested over signed
// mail in test/auth/.
import { addMap } from '../../src/admin/correspondences';
import { addDepartment } from '../../src/admin/departments';
import { addSystem } from '../../src/admin/systems';
import type { Database } from '../../src/store/db';

export async function seedRouting(db: Database): Promise<{ techSupport: number; billmgrTech: number }> {
  await addSystem(db, 'test', 'acme', { name: 'Acme WHMCS', from: '@billing.acme.example', relayTo: 'support@billing.acme.example', profile: 'whmcs', auth: 'none' });
  await addSystem(db, 'test', 'billmgr', { name: 'BILLmanager', from: 'noreply@bill.example', relayTo: 'tickets@bill.example', profile: 'headers', auth: 'none' });
  await addDepartment(db, 'test', 'hosting', { name: 'Hosting', staff: 'anna@support.example', staffAuth: 'token' });
  await addDepartment(db, 'test', 'billing', { name: 'Billing', staff: 'carol@support.example', staffAuth: 'token' });
  const techSupport = (await addMap(db, 'test', { system: 'acme', remoteId: 'support@billing.acme.example', name: 'Technical Support', department: 'hosting', enabled: true })).id;
  const billmgrTech = (await addMap(db, 'test', { system: 'billmgr', remoteId: '12', name: 'Техническая поддержка', department: 'hosting', enabled: true })).id;
  await addMap(db, 'test', { system: 'billmgr', remoteId: '13', name: 'Billing dept', department: 'billing', enabled: true });
  return { techSupport, billmgrTech };
}
