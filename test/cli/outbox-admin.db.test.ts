// Every failure visible (issue 13): a dead relay shows in `ticket show`, in
// `outbox show` and in /metrics; `outbox retry --reroute` sends it to the
// system's relay address as it is now; `outbox discard` gives up on it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editSystem } from '../../src/admin/systems';
import { createMetrics } from '../../src/http/metrics';
import { cliFor, type CliResult } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { FIXTURES } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';
import { enqueueMany } from '../../src/store/outbox';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;

beforeAll(async () => {
  db = await openTestDatabase('cli_outbox');
  await seedRouting(db);
  cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'outbox-test-secret-0123456789' });
});
afterAll(async () => db?.drop());

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const row = async (id: number) => (await db.knex('outbox').where({ id }).first()) as { state: string; to_addresses: string; raw: Uint8Array; last_error: string | null };

describe(`outbox show, retry --reroute, discard, ticket show and metrics on ${BACKEND}`, () => {
  let closeId: number;
  let ticketId: number;

  it('a relay refused for good shows as DEAD with its error in ticket show, and in outbox show', async () => {
    const [mail] = JSON.parse(ok(await cli(['ingest', '--json', join(FIXTURES, 'whmcs-new.eml')])).stdout) as Array<{ ticketId: number }>;
    ticketId = mail!.ticketId;
    ok(await cli(['ticket', 'close', String(ticketId), '--message', 'Fixed.']));
    closeId = Number(((await db.knex('outbox').where({ kind: 'close' }).first()) as { id: number }).id);
    await db.knex('outbox').where({ id: closeId }).update({ state: 'dead', last_error: '550 5.1.1 <support@billing.acme.example>: no such user' });
    const shown = ok(await cli(['ticket', 'show', String(ticketId)])).stdout;
    expect(shown).toContain(`[close #${closeId} DEAD] to support@billing.acme.example: 550 5.1.1`);
    expect(shown).toMatch(/\[notification #\d+ QUEUED\] to anna@support\.example/);
    const json = JSON.parse(ok(await cli(['outbox', 'show', String(closeId), '--json'])).stdout);
    expect(json).toMatchObject({ id: closeId, state: 'dead', kind: 'close', to: ['support@billing.acme.example'], lastError: expect.stringContaining('no such user') });
  });

  it('/metrics counts the dead row and how old the oldest is', async () => {
    await db.knex('outbox').where({ id: closeId }).update({ created_at: new Date(Date.now() - 7200_000).toISOString() });
    const text = await createMetrics(db.knex).registry.metrics();
    expect(text).toMatch(/deskbridge_outbox_items\{state="dead"\} 1/);
    const oldest = Number(/deskbridge_outbox_oldest_seconds\{state="dead"\} ([\d.]+)/.exec(text)?.[1]);
    expect(oldest).toBeGreaterThan(7000);
    expect(text).toMatch(/deskbridge_parked_mails\{state="parked_unmapped"\} 0/);
    expect(text).toMatch(/deskbridge_parked_oldest_seconds 0/);
  });

  it('retry --reroute sends it to the relay address the system has now: recipients and To: header', async () => {
    // the close mail is composed as it is sent (never, here): its recipients decide its To:, which `outbox show --raw` previews;
    // a relay already composed (sent once and refused) has its stored To: header rewritten, the rest byte for byte
    const composedRaw = 'From: Anna <bridge@support.example>\r\nTo: support@billing.acme.example\r\nSubject: Re: [Ticket ID: 1] x\r\nMessage-ID: <deskbridge.r.1.composed@support.example>\r\n\r\nWe fixed it.\r\n';
    const [composedId] = await enqueueMany(db.knex, [
      { kind: 'relay', ticketId, sourceMessageId: null, to: ['support@billing.acme.example'], subject: 'Re: [Ticket ID: 1] x', messageId: '<deskbridge.r.1.composed@support.example>', raw: Buffer.from(composedRaw), deadlineAt: new Date(Date.now() + 3600_000), state: 'parked', lastError: 'test' },
    ]);
    await editSystem(db, 'test', 'acme', { relayTo: 'desk@billing.acme.example' });
    const r = ok(await cli(['outbox', 'retry', String(closeId), String(composedId), '--reroute']));
    expect(r.stdout).toContain(`#${closeId}: support@billing.acme.example → desk@billing.acme.example (system acme)`);
    expect(r.stdout).toContain(`#${composedId}: support@billing.acme.example → desk@billing.acme.example (system acme)`);
    const after = await row(closeId);
    expect(after.state).toBe('queued');
    expect(JSON.parse(after.to_addresses)).toEqual(['desk@billing.acme.example']);
    const shown = await cli(['outbox', 'show', String(closeId), '--raw']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stderr).toBe(`deskbridge: outbox id ${closeId} was never composed (a close is composed as it is sent, from the words and headers fixed when it was queued): this is a preview; the mail sent differs only in its Date and MIME boundaries\n`);
    expect(shown.stdout).toMatch(/^To: desk@billing\.acme\.example\r?$/m);
    expect(shown.stdout).not.toContain('To: support@billing.acme.example');
    expect(shown.stdout).toContain('Fixed.');
    const composed = await row(composedId!);
    expect(composed.state).toBe('queued');
    expect(Buffer.from(composed.raw).toString('latin1')).toBe(composedRaw.replace('To: support@billing.acme.example', 'To: desk@billing.acme.example'));
    await db.knex('outbox').where({ id: composedId }).delete();
  });

  it('retry --reroute leaves a notice to a staff member addressed to that member: only relays and close mails go to the system', async () => {
    const [noticeId] = await enqueueMany(db.knex, [
      { kind: 'notice', ticketId, sourceMessageId: null, to: ['anna@support.example'], subject: 'Not delivered: your reply', messageId: '<deskbridge.x.1.notice@support.example>', raw: Buffer.from('To: anna@support.example\r\nSubject: Not delivered\r\n\r\nYour reply was refused: 550 no such user.\r\n'), deadlineAt: new Date(Date.now() + 3600_000), state: 'parked', lastError: 'test' },
    ]);
    const r = ok(await cli(['outbox', 'retry', String(noticeId), '--reroute']));
    expect(r.stdout).not.toContain('→');
    const after = await row(noticeId!);
    expect(after.state).toBe('queued');
    expect(JSON.parse(after.to_addresses)).toEqual(['anna@support.example']);
    expect(Buffer.from(after.raw).toString('latin1')).toMatch(/^To: anna@support\.example\r?$/m);
    await db.knex('outbox').where({ id: noticeId }).delete();
  });

  it('a row a worker is sending this moment is neither requeued nor discarded under it (exit 2, nothing changed); once its claim lapses it is', async () => {
    const claim = { claimed_by: 'bridge-b:4242:cafe', claimed_until: new Date(Date.now() + 60_000).toISOString() };
    await db.knex('outbox').where({ id: closeId }).update(claim);
    const before = await db.knex('outbox').where({ id: closeId }).first();
    for (const args of [['retry', String(closeId), '--reroute'], ['discard', String(closeId)]]) {
      const r = await cli(['outbox', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`deskbridge: outbox id ${closeId} is being sent now (by bridge-b:4242:cafe); nothing was changed: try again once its send is done (\`outbox show ${closeId}\`)\n`);
      expect(await db.knex('outbox').where({ id: closeId }).first()).toEqual(before);
    }
    // the worker died: its claim lapses, and the row is the admin's again
    await db.knex('outbox').where({ id: closeId }).update({ claimed_until: new Date(Date.now() - 1000).toISOString() });
    ok(await cli(['outbox', 'retry', String(closeId), '--reroute']));
  });

  it('outbox discard gives up on it (never sent, still listed); a sent or unknown row is refused', async () => {
    ok(await cli(['outbox', 'discard', String(closeId), String(closeId)])); // named twice: one row
    expect(await row(closeId)).toMatchObject({ state: 'discarded', last_error: expect.stringContaining('(was queued') });
    expect(ok(await cli(['outbox', 'list', '--state', 'discarded'])).stdout).toContain(`${closeId}`);
    expect((await cli(['outbox', 'discard', String(closeId)])).code).toBe(2);
    expect((await cli(['outbox', 'show', '99999'])).code).toBe(2);
  });
});
