// Every real-world mail of ../shared/corpus through the pipeline: no crash, no
// unhandled rejection, every one ends in a ledger state. DSNs must come out as
// bounces (>= 98%), auto-replies as auto_reply or bounce (all), and none of
// them may create a ticket — even with its sender on a system's allowlist.
// The corpus is found through DESKBRIDGE_CORPUS (default ../shared/corpus);
// when it is absent the test says so loudly, and fails under CI.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSystem } from '../src/admin/systems';
import { createPipeline, type MailResult } from '../src/pipeline';
import { parseMail } from '../src/mail/parse-mail';
import { BACKEND, openTestDatabase } from './helpers/database';
import { seedRouting } from './helpers/seed';

const CORPUS = resolve(process.env.DESKBRIDGE_CORPUS ?? join(__dirname, '..', '..', 'shared', 'corpus'));
const present = existsSync(join(CORPUS, 'index.json'));
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (!present) {
  console.error(`\n!!!!!!!! corpus not found at ${CORPUS}: the real-mail test does not run (set DESKBRIDGE_CORPUS) !!!!!!!!\n`);
}

interface Entry {
  file: string;
  kinds: string[];
  duplicate_of?: string;
}

const entries: Entry[] = present ? (JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as Entry[]).filter((e) => !e.kinds.includes('fragment')) : [];

describe.skipIf(!present && !ci)(`the real-mail corpus on ${BACKEND}`, () => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  const results = new Map<string, MailResult>();
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  beforeAll(async () => {
    expect(present, `corpus missing at ${CORPUS}`).toBe(true);
    process.on('unhandledRejection', onUnhandled);
    db = await openTestDatabase('corpus');
    await seedRouting(db);
    const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024 });
    for (let i = 0; i < entries.length; i += 100) {
      const batch = entries.slice(i, i + 100).map((e) => ({ raw: readFileSync(join(CORPUS, e.file)), label: e.file, source: 'file' as const, sourceRef: e.file }));
      for (const r of await pipeline.ingest(batch)) results.set(r.label, r);
    }
  }, 300_000);

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await db?.drop();
  });

  it('gives every mail a ledger state, with no unhandled rejection', () => {
    const counts: Record<string, number> = {};
    for (const r of results.values()) counts[r.state] = (counts[r.state] ?? 0) + 1;
    console.log(`corpus on ${BACKEND}: ${results.size} mails`, JSON.stringify(counts));
    expect(results.size).toBe(new Set(entries.map((e) => e.file)).size);
    expect([...results.values()].filter((r) => !r.state || r.state === 'failed' || r.state === 'parked_failed')).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('DSNs are bounces (>= 98%); auto-replies are auto_reply or bounce (all); none creates a ticket', async () => {
    // A line-ending variant of an earlier mail is a `duplicate` of it: judge it by the original's outcome.
    const rows: Array<{ id: number; state: string; duplicate_of: number | null; ticket_id: number | null }> = await db.knex('inbound').select('id', 'state', 'duplicate_of', 'ticket_id');
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    const first = (e: Entry): MailResult | undefined => {
      if (e.duplicate_of) return undefined;
      const r = results.get(e.file)!;
      const row = byId.get(r.inboundId)!;
      const original = row.duplicate_of ? byId.get(Number(row.duplicate_of))! : row;
      return { ...r, state: original.state as MailResult['state'], ticketId: original.ticket_id };
    };
    const dsn = entries.filter((e) => e.kinds.includes('dsn')).map(first).filter((r): r is MailResult => r !== undefined);
    const bounced = dsn.filter((r) => r.state === 'bounce').length;
    console.log(`dsn: ${bounced}/${dsn.length} bounce (${((100 * bounced) / dsn.length).toFixed(1)}%)`);
    console.log('dsn not bounce:', dsn.filter((r) => r.state !== 'bounce').map((r) => `${r.label} ${r.state}`).slice(0, 40).join('\n'));
    expect(bounced / dsn.length).toBeGreaterThanOrEqual(0.98);
    const auto = entries.filter((e) => e.kinds.includes('auto-reply')).map(first).filter((r): r is MailResult => r !== undefined);
    expect(auto.filter((r) => r.state !== 'auto_reply' && r.state !== 'bounce').map((r) => `${r.label}: ${r.state}`)).toEqual([]);
    expect([...dsn, ...auto].filter((r) => r.ticketId !== null)).toEqual([]);
  });

  it('a DSN or a mail with an auto-reply header creates no ticket even when its sender is on an allowlist', async () => {
    const picked = entries.filter((e) => !e.duplicate_of && (e.kinds.includes('dsn') || e.kinds.includes('auto-submitted:auto-replied') || e.kinds.includes('auto-reply')));
    const senders = new Set<string>();
    for (const e of picked) {
      const from = (await parseMail(readFileSync(join(CORPUS, e.file)))).fromAddress;
      // only senders an admin could put on an allowlist (some corpus addresses are not valid ones)
      if (from && /^[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/i.test(from)) senders.add(from);
    }
    await addSystem(db, 'test', 'corpus', { name: 'Everyone in the corpus', from: [...senders].join(','), relayTo: 'x@corpus.example', profile: 'headers', auth: 'none' }); // unsigned corpus mail: this test is about parsing
    // The same mails, now from a known system: ledger rows are duplicates of the first run, so reprocess them in place.
    const rows: Array<{ id: number; duplicate_of: number | null }> = await db.knex('inbound').select('id', 'duplicate_of');
    const originalOf = new Map(rows.map((r) => [Number(r.id), Number(r.duplicate_of ?? r.id)]));
    const ids = [...new Set(picked.map((e) => originalOf.get(results.get(e.file)!.inboundId)!))];
    const rerun = await createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024 }).reprocess(ids, { resetAttempts: true });
    const states: Record<string, number> = {};
    for (const r of rerun) states[r.state] = (states[r.state] ?? 0) + 1;
    console.log(`with senders allowlisted: ${rerun.length} mails`, JSON.stringify(states));
    expect(rerun.filter((r) => r.ticketId !== null).map((r) => r.label)).toEqual([]);
    expect(rerun.filter((r) => r.state.startsWith('ticket_'))).toEqual([]);
  }, 300_000);
});
