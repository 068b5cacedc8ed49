// One measurement of the ingest benchmark, in its own process so its peak RSS
// is its own: `parse` runs mailparser alone over the files, `pipeline` runs
// them through deskbridge's pipeline into a fresh SQLite database in batches
// of 100, as `deskbridge ingest` does (the next batch parsing on the parse
// pool's thread while one is written). `pipeline-ar` and `pipeline-dkim` do
// the same with the system at `--auth dmarc`: the mails carry a trusted
// Authentication-Results header, or a DKIM signature verified by mailauth
// against the zone in DIR/zone.json (an in-process resolver: DNS round trips
// are not in the figure; the resolver's cache makes them one per key anyway).
// Prints one JSON line.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createPipeline, inBatches } from '../src/pipeline';
import { createParsePool } from '../src/mail/parse-pool';
import { editSystem } from '../src/admin/systems';
import { createAuthenticator, type Authenticate } from '../src/auth/sender-auth';
import { zoneResolver, type Zone } from '../test/helpers/dkim';
import { seededBenchDatabase } from './seed';

const [mode, dir, database] = process.argv.slice(2) as ['parse' | 'pipeline' | 'pipeline-ar' | 'pipeline-dkim', string, string];
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
    const db = await seededBenchDatabase(database);
    const pool = createParsePool();
    let authenticate: Authenticate | undefined;
    if (mode !== 'pipeline') {
      await editSystem(db, 'bench', 'billmgr', { auth: 'dmarc' });
      const zone = mode === 'pipeline-dkim' ? (JSON.parse(readFileSync(join(dir, 'zone.json'), 'utf8')) as Zone) : {};
      authenticate = createAuthenticator({ authservIds: mode === 'pipeline-ar' ? ['mx.support.example'] : [], resolver: zoneResolver(zone) });
    }
    const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, parse: pool.parse, authenticate });
    const nextFiles = inBatches(files, BATCH);
    const batchAt = () => nextFiles()?.map((file) => ({ raw: readFileSync(file), label: file, source: 'file' as const, sourceRef: file })) ?? null;
    const start = process.hrtime.bigint();
    // as `deskbridge ingest` does: the next batch parses on the pool's thread while this one is written
    for (const r of await pipeline.ingestInTurn(batchAt)) states[r.state] = (states[r.state] ?? 0) + 1;
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
