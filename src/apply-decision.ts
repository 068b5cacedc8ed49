// The writes a decided mail makes besides a plain outcome's ledger row
// (pipeline.ts decides, then calls this inside the batch's transaction): a
// bounce marks the outbox item it names, an echo of our own relay is
// recorded as such, a remote message goes to its ticket (store/ticket-event.ts)
// and its staff are notified — queued now, or handed to `defer` when the
// batch queues its notifications together at its end — and a staff reply is relayed
// (outbound/relay.ts). The ledger row is written through the caller's
// `writeLedger`, so the same code serves a new mail and a replayed one.
import type { Knex } from 'knex';
import type { Decision } from './decide';
import { notificationItems, type NotificationInput, type Outbound } from './outbound/notify';
import { handleStaffReply } from './outbound/relay';
import { noticeUndelivered } from './outbound/staff-notice';
import type { RoutingSnapshot } from './route/snapshot';
import * as ledger from './store/inbound';
import type { InboundOutcome } from './store/inbound';
import { enqueueMany, type NewOutboxItem } from './store/outbox';
import { echoedRelay } from './store/relay-echo';
import { applyRemoteMessage, type RemoteEvent, type TicketEventResult } from './store/ticket-event';

/** Writes the mail's ledger row with this outcome (a new row, or the stored row on replay); returns its id. */
export type WriteLedger = (outcome: InboundOutcome) => Promise<number>;

/** Where a staff notification's outbox items go when its batch queues them all in one insert at its end (pipeline.ts). */
export type Defer = (items: NewOutboxItem[]) => void;

const bouncedFor = (recipients: string[]) => (recipients.length ? ` for ${recipients.join(', ')}` : '');

/** The writes a decision with effects makes, the ledger row among them. */
export async function applyEffects(
  trx: Knex,
  d: Exclude<Decision, { kind: 'outcome' }>,
  writeLedger: WriteLedger,
  snapshot: RoutingSnapshot,
  outbound: Outbound | null | undefined,
  defer: Defer | null,
): Promise<{ id: number; outcome: InboundOutcome }> {
  if (d.kind === 'staff') return handleStaffReply(trx, d, writeLedger, snapshot, outbound);
  if (d.kind === 'bounce') {
    const id = await writeLedger(d.outcome);
    const marked: Array<{ id: number }> = await trx('outbox')
      .where({ message_id: d.originalMessageId })
      .whereIn('state', ['queued', 'sent'])
      .update({ state: 'bounced', last_error: `bounced${bouncedFor(d.failedRecipients)}: see inbound #${id}` })
      .returning('id');
    if (marked.length === 0) return { id, outcome: d.outcome };
    if (outbound) await noticeUndelivered(trx, outbound, marked.map((r) => Number(r.id))); // a bounced relay's author is told
    const outcome = { ...d.outcome, reason: `${d.outcome.reason}; outbox item bounced${bouncedFor(d.failedRecipients)}` };
    await ledger.setOutcome(trx, id, outcome); // the row exists now: update its reason, do not write it again
    return { id, outcome };
  }
  const echo = await echoedRelay(trx, d.relayRefs, d.message.text);
  if (echo) {
    const own: InboundOutcome = { state: 'own_mail', reason: `echo of relay #${echo.outboxId}`, systemId: d.message.systemId, ticketId: echo.ticketId };
    return { id: await writeLedger(own), outcome: own };
  }
  let outcome: InboundOutcome | undefined;
  const result = await applyRemoteMessage(trx, d.message, (r) => {
    outcome = { state: r.state, reason: `${d.how}${ticketRouteNote(r, snapshot, d.unmapped !== undefined)}${r.reopened ? ', reopened' : ''}${d.note}`, systemId: d.message.systemId, ticketId: r.ticketId };
    return writeLedger(outcome);
  });
  if (!result) return { id: await writeLedger(d.unmapped!), outcome: d.unmapped! }; // a follow-up with no local ticket to follow
  const note = await notifyStaff(trx, d, result, snapshot, outbound, defer);
  if (note) {
    outcome = { ...outcome!, reason: `${outcome!.reason}; ${note}` };
    await ledger.setOutcome(trx, result.inboundId, outcome);
  }
  return { id: result.inboundId, outcome: outcome! };
}

/** What the ledger reason adds for a follow-up routed by its ticket, or a ticket moved to another department. */
function ticketRouteNote(r: TicketEventResult, snapshot: RoutingSnapshot, byTicket: boolean): string {
  const slug = (id: number) => snapshot.department(id)?.slug ?? `#${id}`;
  if (byTicket) return ` → ${slug(r.departmentId)} (by ticket #${r.ticketId})`;
  return r.transferredFrom !== null ? `, transferred from ${slug(r.transferredFrom)}` : '';
}

/** Queues the staff notification for a remote message; returns what to add to the ledger reason, if anything. */
async function notifyStaff(
  trx: Knex,
  d: Extract<Decision, { kind: 'ticket' }>,
  result: { ticketId: number; event: RemoteEvent; messageId: number; departmentId: number },
  snapshot: RoutingSnapshot,
  outbound: Outbound | null | undefined,
  defer: Defer | null,
): Promise<string | null> {
  if (!outbound) return null;
  const department = snapshot.department(result.departmentId);
  if (!department || department.staff.length === 0) return `no staff in department ${department?.slug ?? result.departmentId} to notify`;
  const input: NotificationInput = {
    ticket: {
      id: result.ticketId,
      remoteTicketId: d.message.remoteTicketId,
      subject: d.message.subject,
      status: result.event === 'closed' ? 'closed' : 'open',
      department: department.slug,
      departmentName: department.name,
      system: d.system.slug,
      systemName: d.system.name,
      customerEmail: d.message.customerEmail ?? '',
      customerName: d.message.customerName ?? '',
    },
    staff: department.staff,
    event: result.event,
    sourceMessageId: result.messageId,
  };
  const items = notificationItems(outbound, input);
  if (defer) defer(items);
  else await enqueueMany(trx, items);
  return null;
}
