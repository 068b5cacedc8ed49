// Every mail recoverable (issue 13): a mail that came before its system, or
// while its system was disabled, is decided again with today's configuration
// by `inbox replay` / `parked replay`, its earlier outcome kept in its
// history, and `inbox show` tells the whole story. Through the real binary.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editSystem } from '../../src/admin/systems';
import { cliFor, type CliResult } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { FIXTURES } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;
const f = (name: string) => join(FIXTURES, name);

beforeAll(async () => {
  db = await openTestDatabase('cli_replay');
  cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'replay-test-secret-0123456789' });
});
afterAll(async () => db?.drop());

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
type Result = { inboundId: number; state: string; reason: string };
const ingest = async (file: string) => (JSON.parse(ok(await cli(['ingest', '--json', f(file)])).stdout) as Result[])[0]!;
const state = async (id: number) => ((await db.knex('inbound').where({ id }).first()) as { state: string }).state;

describe(`inbox show and replay on ${BACKEND}`, () => {
  let first: Result;

  it('a mail from before `system add` is not taken (an unknown sender\'s automatic mail); parked replay refuses it and the same file again is a duplicate', async () => {
    first = await ingest('whmcs-new.eml');
    expect(first.state).toBe('auto_reply'); // WHMCS says Auto-Submitted: auto-generated, which only a known system may
    const parked = await cli(['parked', 'replay', String(first.inboundId)]);
    expect(parked.code).toBe(2);
    expect((await ingest('whmcs-new.eml')).state).toBe('duplicate');
  });

  it('inbox replay re-decides it once the system exists: a ticket, a notification, and the rejection kept in its history', async () => {
    await seedRouting(db);
    const r = ok(await cli(['inbox', 'replay', String(first.inboundId)]));
    expect(r.stdout).toMatch(new RegExp(`ticket_created\\s+#\\d+\\s+acme ticket 482913`));
    const shown = JSON.parse(ok(await cli(['inbox', 'show', String(first.inboundId), '--json'])).stdout);
    expect(shown).toMatchObject({ id: first.inboundId, state: 'ticket_created', system: 'acme', replayable: false });
    expect(shown.history).toEqual([expect.objectContaining({ state: 'auto_reply', reason: 'Auto-Submitted: auto-generated', replacedBy: expect.stringContaining('inbox replay') })]);
    expect(shown.ticket).toMatchObject({ system: 'acme', remoteTicketId: '482913', department: 'hosting', status: 'open' });
    expect(shown.outbox).toEqual([expect.objectContaining({ kind: 'notification', state: 'queued', to: ['anna@support.example'] })]);
    const text = ok(await cli(['inbox', 'show', String(first.inboundId)])).stdout;
    expect(text).toMatch(/^state:\s+ticket_created$/m);
    expect(text).toMatch(/^ {2}\S+ {2}auto_reply .*\(replaced .* by .*inbox replay\)$/m);
    expect(text).toMatch(/^ {2}#\d+ notification queued to anna@support\.example$/m);
  });

  it('refuses, changing nothing, a mail whose ticket event is done, a duplicate, and an unknown id', async () => {
    const done = await cli(['inbox', 'replay', String(first.inboundId)]);
    expect(done.code).toBe(2);
    expect(done.stderr).toMatch(/is ticket_created: its ticket event is done/);
    const dup = (await db.knex('inbound').where({ state: 'duplicate' }).first()) as { id: number };
    const r = await cli(['inbox', 'replay', String(dup.id)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`is a duplicate of #${first.inboundId}; replay #${first.inboundId}`);
    expect((await cli(['inbox', 'replay', '99999'])).code).toBe(2);
    // a malformed id: one line, pointing where inbound ids are shown
    expect(await cli(['inbox', 'replay', 'abc'])).toMatchObject({ code: 2, stderr: 'deskbridge: inbound id "abc" is not valid (expected a positive whole number, as `inbox list` shows)\n' });
    expect((await cli(['inbox', 'replay', '--state', 'ticket_created'])).code).toBe(2);
    expect(Number(((await db.knex('inbound_history').count({ n: '*' }).first()) as { n: string | number }).n)).toBe(1);
  });

  it('a disabled system parks its mail (parked_disabled), and parked replay brings it in once enabled', async () => {
    await editSystem(db, 'test', 'billmgr', { enabled: false });
    const parked = await ingest('billmgr-new.eml');
    expect(parked).toMatchObject({ state: 'parked_disabled', reason: expect.stringContaining('system billmgr is disabled') });
    expect(ok(await cli(['inbox', 'list', '--state', 'parked_disabled'])).stdout).toContain('billmgr');
    await editSystem(db, 'test', 'billmgr', { enabled: true });
    ok(await cli(['parked', 'replay', String(parked.inboundId)]));
    expect(await state(parked.inboundId)).toBe('ticket_created');
  });

  it('inbox replay --state takes every mail in that state; inbox show --raw prints the stored bytes', async () => {
    await editSystem(db, 'test', 'acme', { from: 'nobody@acme.example' });
    const rejected = await ingest('whmcs-sales.eml');
    expect(rejected.state).toBe('rejected_sender');
    await editSystem(db, 'test', 'acme', { from: '@billing.acme.example' });
    const r = JSON.parse(ok(await cli(['inbox', 'replay', '--state', 'rejected_sender', '--json'])).stdout) as Array<{ state: string }>;
    expect(r).toEqual([expect.objectContaining({ state: 'parked_unmapped' })]);
    const raw = ok(await cli(['inbox', 'show', String(rejected.inboundId), '--raw'])).stdout;
    expect(raw).toMatch(/^From: .*sales@billing\.acme\.example/m);
  });
});
