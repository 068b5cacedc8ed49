// One measurement of the ingest benchmark, in its own process so its peak RSS
// is its own: `parse` runs mailparser alone over the files, `pipeline` runs
// them through deskbridge's pipeline into a fresh SQLite database in batches
// of 100, as `deskbridge ingest` does (the next batch parsing on the parse
// pool's thread while one is written). Prints one JSON line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createPipeline } from '../src/pipeline';
import { createParsePool } from '../src/mail/parse-pool';
import { openDatabase } from '../src/store/db';
import { migrateLatest } from '../src/store/migrate';
import { addSystem } from '../src/admin/systems';
import { addDepartment } from '../src/admin/departments';
import { addMap } from '../src/admin/correspondences';

const [mode, dir, database] = process.argv.slice(2) as ['parse' | 'pipeline', string, string];
const BATCH = 100;

async function main() {
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => join(dir, f));
  let seconds: number;
  const states: Record<string, number> = {};
  if (mode === 'parse') {
    const start = process.hrtime.bigint();
    for (const file of files) await simpleParser(readFileSync(file));
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  } else {
    const db = openDatabase(database);
    await migrateLatest(db);
    await addSystem(db, 'bench', 'billmgr', { name: 'BILLmanager', from: 'noreply@bill.example', relayTo: 'tickets@bill.example', profile: 'headers' });
    await addDepartment(db, 'bench', 'hosting', { name: 'Hosting', staff: 'anna@support.example' });
    await addMap(db, 'bench', { system: 'billmgr', remoteId: '12', name: 'Technical support', department: 'hosting', enabled: true });
    const pool = createParsePool();
    const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, parse: pool.parse });
    const read = (i: number) => pipeline.prepareBatch(files.slice(i, i + BATCH).map((file) => ({ raw: readFileSync(file), label: file, source: 'file' as const, sourceRef: file })));
    const start = process.hrtime.bigint();
    // as `deskbridge ingest` does: the next batch parses on the pool's thread while this one is written
    let next = read(0);
    for (let i = 0; i < files.length; i += BATCH) {
      const current = next;
      if (i + BATCH < files.length) next = read(i + BATCH);
      for (const r of await pipeline.ingest(current)) states[r.state] = (states[r.state] ?? 0) + 1;
    }
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
    await pool.close();
    await db.close();
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ mode, mails: files.length, seconds, mailsPerSecond: files.length / seconds, peakRssMb, states })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
