// "Once" held by the database when writers race (issue 12): the same mail
// ingested by two processes at once, and the same stored mail retried or
// replayed by two processes at once, each end as one effect. On PostgreSQL
// the race is forced: the second writer is held on a row lock until the first
// has committed (pg_locks shows it waiting); on SQLite, whose writers take
// turns, the two runs interleave on one connection.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outboundFrom } from '../src/outbound/notify';
import { loadTemplates } from '../src/outbound/render';
import { createPipeline, type IncomingMail } from '../src/pipeline';
import { openDatabase, type Database } from '../src/store/db';
import { PARKED_STATES } from '../src/store/inbound';
import { BACKEND, openTestDatabase } from './helpers/database';
import { fixture } from './helpers/mail';
import { seedRouting } from './helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let other: Database; // the second process's connection (SQLite: the same one; its writers take turns anyway)
const outbound = outboundFrom({ address: 'bridge@support.example', secret: 'test-secret-0123456789', instance: 'test-node' }, () => loadTemplates())!;
const options = { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, outbound };

beforeEach(async () => {
  db = await openTestDatabase('once');
  await seedRouting(db);
  other = BACKEND === 'postgres' ? openDatabase(db.url) : db;
});
afterEach(async () => {
  if (other !== db) await other.close();
  await db.drop();
});

const count = async (table: string, where: Record<string, unknown> = {}) => Number(((await db.knex(table).where(where).count({ n: '*' }).first()) as { n: string | number }).n);
const effects = async () => ({ tickets: await count('tickets'), messages: await count('messages'), notifications: await count('outbox', { kind: 'notification' }) });

/** Resolves once `n` statements of this test's database wait for a lock (PostgreSQL only). */
async function waitersAtLeast(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const row = (await db.knex.raw("select count(*)::int as n from pg_locks where not granted and locktype in ('transactionid', 'tuple')")).rows[0] as { n: number };
    if (row.n >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${n} statements waited for a lock in 10 s`);
}

const mailIn = (mailbox: string, uid: number): IncomingMail => ({ raw: fixture('whmcs-new.eml'), label: `${mailbox} uid ${uid}`, source: 'imap', sourceRef: mailbox, mailbox, uidvalidity: 1, uid });

describe(`exactly once across writers on ${BACKEND}`, () => {
  it('the same mail in two mailboxes, ingested by two processes at once, is one ticket; the second is a duplicate', async () => {
    let second: Promise<Awaited<ReturnType<ReturnType<typeof createPipeline>['ingest']>>> | null = null;
    const [first] = await createPipeline(db, options).ingest([mailIn('a@host/INBOX', 7)], async () => {
      if (BACKEND !== 'postgres') return;
      // the other process looks for the mail now, finds nothing committed, and writes it too
      second = createPipeline(other, options).ingest([mailIn('b@host/INBOX', 3)]);
      await waitersAtLeast(1);
    });
    const [dup] = await (second ?? createPipeline(other, options).ingest([mailIn('b@host/INBOX', 3)]));
    expect(first!.state).toBe('ticket_created');
    expect(dup).toMatchObject({ state: 'duplicate', reason: expect.stringMatching(new RegExp(`^duplicate of #${first!.inboundId} `)) });
    expect(await effects()).toEqual({ tickets: 1, messages: 1, notifications: 1 });
  });

  it('the database refuses a second original of the same mail even when no lookup ran first', async () => {
    await createPipeline(db, options).ingest([mailIn('a@host/INBOX', 1)]);
    const [row] = await db.knex('inbound').select('*');
    const copy = { ...row, id: undefined, mailbox: 'c@host/INBOX', uid: 9 };
    await expect(db.knex('inbound').insert(copy)).rejects.toThrow(/unique|UNIQUE/);
    await expect(db.knex('inbound').insert({ ...copy, content_hash: 'f'.repeat(64) })).rejects.toThrow(/unique|UNIQUE/); // same Message-ID and sender
  });

  /** A billmgr mail that fails (its system's stored profile is broken), then the profile is fixed. */
  async function failedMail(): Promise<number> {
    await db.knex('systems').where({ slug: 'billmgr' }).update({ profile_json: '{"name": "broken", "fields": ' });
    const [failed] = await createPipeline(db, options).ingest([{ raw: fixture('billmgr-new.eml'), label: 'billmgr', source: 'stdin' }]);
    expect(failed!.state).toBe('failed');
    await db.knex('systems').where({ slug: 'billmgr' }).update({ profile_json: null });
    return failed!.inboundId;
  }

  /** Runs both at once; on PostgreSQL both are held on the row until each has read it as still to do. */
  async function together<T>(id: number, a: () => Promise<T>, b: () => Promise<T>): Promise<[T, T]> {
    if (BACKEND !== 'postgres') return Promise.all([a(), b()]);
    const gate = await db.knex.transaction();
    await gate('inbound').where({ id }).forUpdate().select('id');
    const both = Promise.all([a(), b()]);
    await waitersAtLeast(2);
    await gate.commit();
    return both;
  }

  it('two retryFailed at once (a run starting beside an MTA-started ingest) apply the failed mail once', async () => {
    const id = await failedMail();
    const [x, y] = await together(id, () => createPipeline(db, options).retryFailed(), () => createPipeline(other, options).retryFailed());
    expect([...x, ...y].map((r) => r.state)).toEqual(['ticket_created']);
    expect(await effects()).toEqual({ tickets: 1, messages: 1, notifications: 1 });
    expect(await db.knex('inbound').where({ id }).first()).toMatchObject({ state: 'ticket_created' });
  });

  it('two parked replays at once apply the parked mail once', async () => {
    const id = await failedMail();
    await db.knex('inbound').where({ id }).update({ state: 'parked_failed' });
    const replay = (d: Database) => () => createPipeline(d, options).reprocess([id], { resetAttempts: true, states: [...PARKED_STATES, 'failed'] });
    const [x, y] = await together(id, replay(db), replay(other));
    expect([...x, ...y].map((r) => r.state)).toEqual(['ticket_created']);
    expect(await effects()).toEqual({ tickets: 1, messages: 1, notifications: 1 });
  });
});
