// Follow-ups route by their ticket (issue 14): a system's mail for a remote
// ticket that already has a local ticket goes to it with or without a
// department; a department that changed is a transfer on the thread and the
// new department is told; the first mail of a ticket still needs its mapping.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outboundFrom } from '../../src/outbound/notify';
import { loadTemplates } from '../../src/outbound/render';
import { createPipeline } from '../../src/pipeline';
import { listOutbox } from '../../src/store/outbox';
import { getThread, listTickets } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { rawMail } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
beforeEach(async () => {
  db = await openTestDatabase('follow_up');
  await seedRouting(db);
});
afterEach(async () => db.drop());

const outbound = outboundFrom({ address: 'bridge@support.example', secret: 'follow-up-secret-0123', instance: 'test' }, () => loadTemplates())!;
const pipeline = () => createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 1_000_000, outbound });
let n = 0;
/** A BILLmanager-style (`headers` profile) notification for remote ticket 77; `dept` adds X-Department-ID / X-Department. */
const mail = (dept: Record<string, string>, body = 'More details.\n') => ({
  raw: rawMail({ From: 'noreply@bill.example', To: 'bridge@support.example', Subject: 'Ticket 77: mail is down', 'Message-ID': `<fu-${++n}@bill.example>`, 'X-Ticket-ID': '77', ...dept }, body),
  label: `mail ${n}`,
  source: 'file' as const,
});

describe(`follow-ups by ticket on ${BACKEND}`, () => {
  it('a follow-up without a department, or with one that maps to nothing, goes to the ticket and notifies its department', async () => {
    const [first] = await pipeline().ingest([mail({ 'X-Department-ID': '12' }, 'Mail is down.\n')]);
    expect(first).toMatchObject({ state: 'ticket_created', reason: 'billmgr ticket 77 → hosting (by department ID)' });
    const results = await pipeline().ingest([mail({}), mail({ 'X-Department': 'Renamed queue', 'X-Department-ID': '999' })]);
    expect(results.map((r) => [r.state, r.ticketId, r.reason])).toEqual([
      ['ticket_updated', first!.ticketId, `billmgr ticket 77 → hosting (by ticket #${first!.ticketId})`],
      ['ticket_updated', first!.ticketId, `billmgr ticket 77 → hosting (by ticket #${first!.ticketId})`],
    ]);
    expect(await listTickets(db.knex)).toHaveLength(1);
    expect((await listOutbox(db.knex)).map((o) => o.to)).toEqual([['anna@support.example'], ['anna@support.example'], ['anna@support.example']]);
  });

  it('the first mail of a ticket still needs its mapping: parked unmapped, then followed once replayed after the first', async () => {
    const [early] = await pipeline().ingest([mail({})]);
    expect(early).toMatchObject({ state: 'parked_unmapped', reason: 'no remote department ID or name found by the profile, and no local ticket to follow' });
    expect(await listTickets(db.knex)).toHaveLength(0);
    const [created] = await pipeline().ingest([mail({ 'X-Department-ID': '12' })]);
    const [replayed] = await pipeline().reprocess([early!.inboundId], { resetAttempts: true });
    expect(replayed).toMatchObject({ state: 'ticket_updated', ticketId: created!.ticketId });
  });

  it('a department that changed is a transfer on the thread, not a new ticket, and the new department is told', async () => {
    const [first] = await pipeline().ingest([mail({ 'X-Department-ID': '12' }, 'Mail is down.\n')]);
    const [moved] = await pipeline().ingest([mail({ 'X-Department-ID': '13' }, 'Moved to billing.\n')]);
    expect(moved).toMatchObject({ state: 'ticket_updated', ticketId: first!.ticketId, reason: 'billmgr ticket 77 → billing (by department ID), transferred from hosting' });
    expect((await listTickets(db.knex)).map((t) => [t.id, t.department])).toEqual([[first!.ticketId, 'billing']]);
    const thread = await getThread(db.knex, first!.ticketId!);
    expect(thread.map((m) => `${m.direction}:${m.event}`)).toEqual(['remote:new', 'event:transferred', 'remote:reply']);
    expect(thread[1]!.text).toBe('transferred by the remote system from hosting to billing');
    expect((await listOutbox(db.knex)).map((o) => o.to)).toEqual([['anna@support.example'], ['carol@support.example']]);
  });
});
