// A system's copy of our own relay is own_mail ("echo of relay #id"), not a
// new message for staff; a customer's reply that quotes the relay is still a
// message. Through the whole pipeline: the relay is made by a real staff reply.
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outboundFrom } from '../src/outbound/notify';
import { loadTemplates } from '../src/outbound/render';
import { makeToken } from '../src/outbound/reply-token';
import { createPipeline } from '../src/pipeline';
import { listOutbox } from '../src/store/outbox';
import { getThread } from '../src/store/tickets';
import { BACKEND, openTestDatabase } from './helpers/database';
import { rawMail } from './helpers/mail';
import { outboxMail } from './helpers/outbox';
import { seedRouting } from './helpers/seed';

const SECRET = 'echo-test-secret-0123';
let db: Awaited<ReturnType<typeof openTestDatabase>>;
beforeEach(async () => {
  db = await openTestDatabase('echo');
  await seedRouting(db);
});
afterEach(async () => db.drop());

const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test' }, () => loadTemplates())!;
const pipeline = () => createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 1_000_000, outbound });
const stdin = (raw: Buffer) => ({ raw, label: 'mail', source: 'stdin' as const });
const fromSystem = (id: string, extra: Record<string, string>, body: string) =>
  stdin(rawMail({ From: 'noreply@bill.example', To: 'bridge@support.example', Subject: 'Ticket 88: mail is down', 'Message-ID': `<${id}@bill.example>`, 'X-Ticket-ID': '88', ...extra }, body));

async function ticketWithRelay(): Promise<{ ticketId: number; relay: { id: number; messageId: string } }> {
  const [created] = await pipeline().ingest([fromSystem('new', { 'X-Department-ID': '12' }, 'Mail is down.\n')]);
  const ticketId = created!.ticketId!;
  const reply = rawMail(
    { From: 'Anna <anna@support.example>', To: `bridge+${makeToken(ticketId, 'anna@support.example', SECRET)}@support.example`, Subject: `Re: [DB#${ticketId}] mail is down`, 'Message-ID': '<staff-1@support.example>' },
    'We restarted the mail service;\nplease try again now.\n\nOn Mon, Nov 30, 2026, Deskbridge wrote:\n> Mail is down.\n',
  );
  const [staff] = await pipeline().ingest([stdin(reply)]);
  expect(staff!.state).toBe('staff_reply');
  const relay = (await listOutbox(db.knex)).find((o) => o.kind === 'relay')!;
  return { ticketId, relay };
}

describe(`echoes of our relays on ${BACKEND}`, () => {
  it("the system's copy of the relay is own_mail: no message on the thread, nothing for staff", async () => {
    const { ticketId, relay } = await ticketWithRelay();
    const before = { thread: (await getThread(db.knex, ticketId)).length, outbox: (await listOutbox(db.knex)).length };
    const echo = fromSystem('echo', { 'In-Reply-To': relay.messageId, References: `<new@bill.example> ${relay.messageId}` }, `<URL: http://bill.example/t/88 >\n\nWe restarted the mail service; please try\nagain now.\n\nAnna\n`);
    const [r] = await pipeline().ingest([echo]);
    expect(r).toMatchObject({ state: 'own_mail', reason: `echo of relay #${relay.id}`, ticketId });
    expect({ thread: (await getThread(db.knex, ticketId)).length, outbox: (await listOutbox(db.knex)).length }).toEqual(before);
  });

  it("the system's copy of a close without words is own_mail while the close is still queued, not composed yet", async () => {
    const { ticketId } = await ticketWithRelay();
    const close = rawMail({ From: 'Anna <anna@support.example>', To: `bridge+${makeToken(ticketId, 'anna@support.example', SECRET)}@support.example`, Subject: `Re: [DB#${ticketId}] mail is down`, 'Message-ID': '<staff-2@support.example>' }, '#close\n');
    expect((await pipeline().ingest([stdin(close)]))[0]!.state).toBe('staff_reply');
    const row = (await db.knex('outbox').where({ kind: 'close' }).first()) as { id: number; message_id: string; state: string; render_input: string | null };
    expect(row).toMatchObject({ state: 'queued', render_input: expect.any(String) }); // composed only as it is sent
    const closeText = (await simpleParser(await outboxMail(db.knex, row.id))).text!;
    expect(closeText.trim()).not.toBe('');
    const echo = fromSystem('close-echo', { 'In-Reply-To': row.message_id, References: row.message_id }, `${closeText}\n`);
    const [r] = await pipeline().ingest([echo]);
    expect(r).toMatchObject({ state: 'own_mail', reason: `echo of relay #${row.id}`, ticketId });
  });

  it('a customer reply that names the relay and quotes it is a message, and staff are told', async () => {
    const { ticketId, relay } = await ticketWithRelay();
    const reply = fromSystem('cust', { 'In-Reply-To': relay.messageId, References: relay.messageId }, 'Still broken, sorry.\n\nOn Mon, Nov 30, 2026, Anna via Hosting wrote:\n> We restarted the mail service;\n> please try again now.\n');
    const [r] = await pipeline().ingest([reply]);
    expect(r).toMatchObject({ state: 'ticket_updated', ticketId });
    expect((await getThread(db.knex, ticketId)).at(-1)!.text).toContain('Still broken, sorry.');
    expect((await listOutbox(db.knex)).filter((o) => o.kind === 'notification')).toHaveLength(2);
  });
});
