// A mail over DESKBRIDGE_MAX_MESSAGE_BYTES is kept as its headers only
// (too_large). Raising the limit must not turn those headers into a ticket
// event with no body (`inbox replay` decides the stored bytes), and the
// whole mail, ingested again, must get in: it takes the place of the row that
// kept its headers, which becomes its duplicate with the too_large outcome in
// its history. Through the real binary, on both backends.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, type CliResult } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { notification } from '../helpers/notifications';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;
let dir: string;
let big: string;
const LIMIT = '100000';

beforeAll(async () => {
  db = await openTestDatabase('too_large_again');
  await seedRouting(db);
  cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'too-large-test-secret-0123456789' });
  dir = mkdtempSync(join(tmpdir(), 'deskbridge-too-large-'));
  big = join(dir, 'big.eml');
  // a BILLmanager notification (headers profile, department 12 → hosting) with a 300 KB log pasted in
  writeFileSync(big, notification(7, 1, 'big') + 'kernel: ata1: hard resetting link\r\n'.repeat(9000));
});
afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
type Result = { inboundId: number; state: string; reason: string; ticketId: number | null };
const ingest = async (env: Record<string, string> = {}) => (JSON.parse(ok(await cli(['ingest', '--json', big], { env })).stdout) as Result[])[0]!;
const row = async (id: number) => (await db.knex('inbound').where({ id }).first()) as { state: string; reason: string; duplicate_of: number | null; size: number | string };
const counts = async () => ({
  tickets: Number((await db.knex('tickets').count({ n: '*' }).first())!.n),
  messages: Number((await db.knex('messages').count({ n: '*' }).first())!.n),
  outbox: Number((await db.knex('outbox').count({ n: '*' }).first())!.n),
});

describe(`a mail over the size limit, once the limit is raised, on ${BACKEND}`, () => {
  let first: Result;

  it('over the limit it is too_large, its headers kept', async () => {
    first = await ingest({ DESKBRIDGE_MAX_MESSAGE_BYTES: LIMIT });
    expect(first).toMatchObject({ state: 'too_large', ticketId: null, reason: expect.stringMatching(/over the limit of 100000/) });
    expect(await counts()).toEqual({ tickets: 0, messages: 0, outbox: 0 });
  });

  it('inbox replay under the raised limit keeps it too_large (only its headers are here) and says to ingest the whole mail again; no ticket, no notification', async () => {
    const r = JSON.parse(ok(await cli(['inbox', 'replay', String(first.inboundId), '--json'])).stdout) as Result[];
    expect(r).toEqual([expect.objectContaining({ inboundId: first.inboundId, state: 'too_large', reason: expect.stringMatching(/only its headers were kept: ingest the whole mail again/) })]);
    expect(await counts()).toEqual({ tickets: 0, messages: 0, outbox: 0 });
  });

  it('the whole mail ingested again is processed, with its body, and the headers-only row becomes its duplicate, the too_large outcome in its history', async () => {
    const whole = await ingest();
    expect(whole).toMatchObject({ state: 'ticket_created' });
    expect(whole.inboundId).not.toBe(first.inboundId);
    const message = (await db.knex('messages').where({ inbound_id: whole.inboundId }).first()) as { text: string };
    expect(message.text).toContain('kernel: ata1: hard resetting link');
    expect(await counts()).toEqual({ tickets: 1, messages: 1, outbox: 1 });
    expect(await row(first.inboundId)).toMatchObject({ state: 'duplicate', duplicate_of: whole.inboundId, reason: expect.stringMatching(new RegExp(`superseded by #${whole.inboundId}`)) });
    const shown = JSON.parse(ok(await cli(['inbox', 'show', String(first.inboundId), '--json'])).stdout);
    // the outcome before the replay, and the replay's own, both too_large; the last was replaced by the whole mail
    expect(shown.history.map((h: { state: string }) => h.state)).toEqual(['too_large', 'too_large']);
    expect(shown.history.at(-1)).toMatchObject({ replacedBy: expect.stringContaining(`ingested again as #${whole.inboundId}`) });
    // a duplicate is not replayed: its original is
    const replay = await cli(['inbox', 'replay', String(first.inboundId)]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(new RegExp(`duplicate of #${whole.inboundId}`));
  });

  it('a third copy is a duplicate of the whole one, and changes nothing', async () => {
    const whole = (await db.knex('inbound').whereNull('duplicate_of').where({ state: 'ticket_created' }).first()) as { id: number };
    const third = await ingest();
    expect(third).toMatchObject({ state: 'duplicate', reason: expect.stringMatching(new RegExp(`duplicate of #${whole.id}`)) });
    expect(await counts()).toEqual({ tickets: 1, messages: 1, outbox: 1 });
  });
});

describe(`a mail over a limit below the 256 KiB kept head (read whole, hashed whole), once the limit is raised, on ${BACKEND}`, () => {
  it('the whole mail ingested again still takes the place of the row that kept its headers (it matched that row by content)', async () => {
    const small = join(dir, 'small.eml');
    writeFileSync(small, notification(8, 1, 'small') + 'kernel: ata2: hard resetting link\r\n'.repeat(3000)); // ~110 KB
    const first = (JSON.parse(ok(await cli(['ingest', '--json', small], { env: { DESKBRIDGE_MAX_MESSAGE_BYTES: '50000' } })).stdout) as Result[])[0]!;
    expect(first.state).toBe('too_large');
    const whole = (JSON.parse(ok(await cli(['ingest', '--json', small])).stdout) as Result[])[0]!;
    expect(whole).toMatchObject({ state: 'ticket_created' });
    expect(await row(first.inboundId)).toMatchObject({ state: 'duplicate', duplicate_of: whole.inboundId });
  });
});
