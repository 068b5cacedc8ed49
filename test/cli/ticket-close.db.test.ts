// `ticket close` and `ticket reopen` through the real binary: the close mail
// queued to the system in its own form, the thread's events, and bad input.
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { FIXTURES } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';
import { outboxMail } from '../helpers/outbox';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;
let ticketId: number;

beforeAll(async () => {
  db = await openTestDatabase('cli_ticket');
  await seedRouting(db);
  cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'cli-ticket-secret-0123' });
  const r = await cli(['ingest', '--json', join(FIXTURES, 'whmcs-new.eml')]);
  ticketId = (JSON.parse(r.stdout) as Array<{ ticketId: number }>)[0]!.ticketId;
});
afterAll(async () => db?.drop());

describe(`ticket close and reopen on ${BACKEND}`, () => {
  it('close: the ticket is closed, the thread says who did it, and the close mail is queued to the system as a reply to its notification', async () => {
    const r = await cli(['ticket', 'close', String(ticketId), '--message', 'Solved by the kernel update.']);
    expect(r.code, r.stderr).toBe(0);
    // WHMCS has no close by mail (the whmcs preset's relayClose is false): closed here, the words still sent
    expect(r.stdout).toMatch(new RegExp(`^closed ticket #${ticketId} here only: its system has no close by mail; close it there too \\(the message is outbox #\\d+\\)\\n$`));
    const shown = JSON.parse((await cli(['ticket', 'show', String(ticketId), '--json'])).stdout) as { status: string; thread: Array<{ direction: string; event: string; text: string }> };
    expect(shown.status).toBe('closed');
    expect(shown.thread.at(-1)).toMatchObject({ direction: 'event', event: 'closed', text: expect.stringMatching(/^closed by .+: Solved by the kernel update\.$/) });
    const row = await db.knex('outbox').where({ kind: 'close' }).first();
    expect(JSON.parse(row.to_addresses)).toEqual(['support@billing.acme.example']);
    const mail = await simpleParser(await outboxMail(db.knex, Number(row.id)));
    expect(mail.subject).toBe('Re: [Ticket ID: 482913] Server down since midnight');
    expect(mail.inReplyTo).toBe('<whmcs-482913-1@billing.acme.example>');
    expect(mail.text).toContain('Solved by the kernel update.');
    expect(mail.text).toContain('closed on our side');
  });

  it('reopen: open again, with an event in the thread; closing twice or reopening an open ticket is refused', async () => {
    expect((await cli(['ticket', 'close', String(ticketId)])).stderr).toMatch(new RegExp(`^deskbridge: ticket #${ticketId} is already closed\\n$`));
    const r = await cli(['ticket', 'reopen', String(ticketId)]);
    expect(r).toMatchObject({ code: 0, stdout: `reopened ticket #${ticketId}\n` });
    const again = await cli(['ticket', 'reopen', String(ticketId)]);
    expect(again).toMatchObject({ code: 2, stderr: `deskbridge: ticket #${ticketId} is already open\n` });
  });

  it.each([
    [['ticket', 'close', '999'], /^deskbridge: unknown ticket #999/],
    [['ticket', 'close', 'abc'], /^deskbridge: ticket id "abc" is not valid/],
    [['ticket', 'reopen', '0'], /^deskbridge: ticket id "0" is not valid/],
  ])('%j: exit 2, one line, nothing changed', async (args, message) => {
    const before = { tickets: await db.knex('tickets').select('id', 'status'), outbox: await db.knex('outbox').count({ n: '*' }) };
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect({ tickets: await db.knex('tickets').select('id', 'status'), outbox: await db.knex('outbox').count({ n: '*' }) }).toEqual(before);
  });

  it('close without an address and secret is refused before anything changes', async () => {
    const r = await cliFor(db.url)(['ticket', 'close', String(ticketId)]);
    expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/^deskbridge: ticket close: DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET are needed/) });
  });
});
