// Staff identity on relays and closing in the system's own terms (issue 14):
// the relay is from "<staff name> via <department>" at the bridge address;
// a close takes the profile's relayClose form, or stays local (staff told)
// when the system has no close by mail; a reply to a closed ticket reopens
// it in the relayReopen form.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addDepartment } from '../../src/admin/departments';
import { addMap } from '../../src/admin/correspondences';
import { addSystem } from '../../src/admin/systems';
import { outboundFrom } from '../../src/outbound/notify';
import { loadTemplates } from '../../src/outbound/render';
import { makeToken } from '../../src/outbound/reply-token';
import { createPipeline } from '../../src/pipeline';
import { listOutbox } from '../../src/store/outbox';
import { getThread, getTicket } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { cliFor } from '../helpers/cli';
import { rawMail } from '../helpers/mail';
import { outboxMail } from '../helpers/outbox';

const SECRET = 'relay-close-secret-0123';
let db: Awaited<ReturnType<typeof openTestDatabase>>;
const dir = mkdtempSync(join(tmpdir(), 'deskbridge-relay-close-'));
const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test' }, () => loadTemplates())!;
const pipeline = () => createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 1_000_000, outbound });
const stdin = (raw: Buffer) => ({ raw, label: 'mail', source: 'stdin' as const });

/** A system on a custom `headers`-style profile with the given extra keys (relayClose, relayReopen, relayFrom). */
async function setUp(extra: Record<string, unknown>): Promise<number> {
  const file = join(dir, `p-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ name: 'desk', fields: { ticket: [{ from: 'header', name: 'X-Ticket-ID' }], departmentId: [{ from: 'header', name: 'X-Department-ID' }] }, relaySubject: 'Re: [Desk #{{remoteTicketId}}] {{subject}}', ...extra }));
  await addSystem(db, 'test', 'desk', { name: 'Desk', from: 'desk@remote.example', relayTo: 'desk@remote.example', profileFile: file, auth: 'none' }); // unsigned test mail: this file is about the relay's form
  await addDepartment(db, 'test', 'hosting', { name: 'Hosting', staff: '"Staff, Anna" <anna@support.example>, bob@support.example', staffAuth: 'token' });
  await addMap(db, 'test', { system: 'desk', remoteId: '1', name: 'Support', department: 'hosting', enabled: true });
  const [r] = await pipeline().ingest([stdin(rawMail({ From: 'desk@remote.example', Subject: 'Mail is down', 'Message-ID': '<n1@remote.example>', 'X-Ticket-ID': '31', 'X-Department-ID': '1' }, 'Mail is down.\n'))]);
  return r!.ticketId!;
}

const staffMail = (ticketId: number, body: string, from = 'Anna From Header <anna@support.example>') =>
  stdin(rawMail({ From: from, To: `bridge+${makeToken(ticketId, /<([^>]+)>/.exec(from)![1]!, SECRET)}@support.example`, Subject: `Re: [DB#${ticketId}] Mail is down`, 'Message-ID': `<s${Math.random()}@support.example>` }, body));
const relayed = async () => (await listOutbox(db.knex)).filter((o) => o.kind !== 'notification');
const parsed = async (id: number) => simpleParser(await outboxMail(db.knex, id));

beforeEach(async () => {
  db = await openTestDatabase('relay_close');
});
afterEach(async () => db.drop());

describe(`relay identity and close forms on ${BACKEND}`, () => {
  it("a relay is from the staff member's name (the department's staff list first) via the department, at the bridge address", async () => {
    const ticketId = await setUp({});
    await pipeline().ingest([staffMail(ticketId, 'Restarted.\n'), staffMail(ticketId, 'And again.\n', 'Bob B <bob@support.example>')]);
    const [anna, bob] = await relayed();
    expect((await parsed(anna!.id)).from!.value).toEqual([{ name: 'Staff, Anna via Hosting', address: 'bridge@support.example' }]);
    expect((await parsed(bob!.id)).from!.value).toEqual([{ name: 'Bob B via Hosting', address: 'bridge@support.example' }]);
  });

  it('relayFrom is a template of its own', async () => {
    const ticketId = await setUp({ relayFrom: '{{department.name}} team ({{staff.name}})' });
    await pipeline().ingest([staffMail(ticketId, 'Restarted.\n')]);
    expect((await parsed((await relayed())[0]!.id)).from!.text).toBe('"Hosting team (Staff, Anna)" <bridge@support.example>');
  });

  it('#close takes the relayClose form: its headers and command lines above the close text', async () => {
    const ticketId = await setUp({ relayClose: { headers: { 'X-Desk-State': 'closed' }, firstLines: ['Status: resolved'] } });
    const [r] = await pipeline().ingest([staffMail(ticketId, '#close\nFixed for good.\n')]);
    expect(r).toMatchObject({ state: 'staff_reply', reason: expect.stringContaining('closes it; relayed to desk@remote.example') });
    const [close] = await relayed();
    expect(close!.kind).toBe('close');
    const mail = await parsed(close!.id);
    expect(mail.headers.get('x-desk-state')).toBe('closed');
    expect(mail.text!.split('\n').slice(0, 3)).toEqual(['Status: resolved', '', 'Fixed for good.']);
    expect((await getTicket(db.knex, ticketId))!.status).toBe('closed');
  });

  it('relayClose false: #close closes here only, nothing is relayed, and the staff member is told', async () => {
    const ticketId = await setUp({ relayClose: false });
    const [r] = await pipeline().ingest([staffMail(ticketId, '#close\n')]);
    expect(r!.reason).toContain('closes it here only (desk has no close by mail; staff told); nothing relayed');
    expect((await getTicket(db.knex, ticketId))!.status).toBe('closed');
    expect(await relayed()).toEqual([]);
    const notice = (await listOutbox(db.knex)).at(-1)!;
    expect(notice).toMatchObject({ kind: 'notification', to: ['anna@support.example'], subject: `[DB#${ticketId}] closed here only: Mail is down` });
    expect((await parsed(notice.id)).text).toContain('Desk has no way to close a ticket by mail: close ticket 31 in Desk itself.');
  });

  it('relayClose false with words: the words go in the close template as ordinary correspondence, and the staff member is told', async () => {
    const ticketId = await setUp({ relayClose: false, relayHeaders: { 'X-Desk': '{{remoteTicketId}}' } });
    await pipeline().ingest([staffMail(ticketId, '#close\nAll done, closing.\n')]);
    const [relay] = await relayed();
    const mail = await parsed(relay!.id);
    expect(mail.text).toContain('All done, closing.');
    expect(mail.text).toContain('closed on our side');
    expect(mail.headers.get('x-desk')).toBe('31');
    expect((await parsed((await listOutbox(db.knex)).at(-1)!.id)).text).toContain('Your words were sent to Desk as an ordinary reply, which does not close it.');
  });

  it('a staff reply to a closed ticket reopens it, in the relayReopen form', async () => {
    const ticketId = await setUp({ relayReopen: { firstLines: ['Status: open'] } });
    await pipeline().ingest([staffMail(ticketId, '#close\n')]);
    const [r] = await pipeline().ingest([staffMail(ticketId, 'One more thing.\n')]);
    expect(r!.reason).toContain('reopens it');
    expect((await getTicket(db.knex, ticketId))!.status).toBe('open');
    expect((await getThread(db.knex, ticketId)).map((m) => `${m.direction}:${m.event}`)).toEqual(['remote:new', 'staff:closed', 'event:reopened', 'staff:reply']);
    expect((await parsed((await relayed()).at(-1)!.id)).text!.split('\n').slice(0, 3)).toEqual(['Status: open', '', 'One more thing.']);
  });

  it('ticket reopen (CLI) sends the relayReopen form; without one it sends nothing', async () => {
    const ticketId = await setUp({ relayReopen: { firstLines: ['Status: open'] } });
    await pipeline().ingest([staffMail(ticketId, '#close\n')]);
    const cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: SECRET });
    const r = await cli(['ticket', 'reopen', String(ticketId), '--message', 'Reopened: the fix did not hold.']);
    expect(r.stdout).toMatch(new RegExp(`^reopened ticket #${ticketId}; the reopen mail is outbox #\\d+\\n$`));
    const text = (await parsed((await relayed()).at(-1)!.id)).text!;
    expect(text.split('\n').slice(0, 3)).toEqual(['Status: open', '', 'Reopened: the fix did not hold.']);
    await db.knex('systems').update({ profile_json: null, profile: 'headers' });
    await pipeline().ingest([staffMail(ticketId, '#close\n')]);
    const before = (await listOutbox(db.knex)).length;
    expect((await cli(['ticket', 'reopen', String(ticketId)])).stdout).toBe(`reopened ticket #${ticketId}\n`);
    expect((await listOutbox(db.knex)).length).toBe(before);
  });
});
