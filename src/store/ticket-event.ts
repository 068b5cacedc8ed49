// Applies one remote message to its ticket: create the ticket or find it,
// follow a department move (recorded on the thread as a transfer), close on a
// `closed` event, reopen a closed ticket on a new remote message, and append
// the message with its attachments. A follow-up that names no mapped
// department (departmentId null) goes to the ticket's own department; with no
// local ticket yet there is nothing to follow and nothing is written. The
// ledger row is written in the middle, through the caller's `writeLedger`:
// once the ticket is known (its id and what happened to it) and before the
// messages that point at the row.
import type { Knex } from 'knex';
import type { LedgerState } from './inbound';
import { appendMessage, findTicketByRemote, insertTicket, tryInsertTicket, updateTicket, type NewAttachment, type NewTicket } from './tickets';

export type RemoteEvent = 'new' | 'reply' | 'closed';

export interface RemoteMessage {
  systemId: number;
  remoteTicketId: string;
  /** null: the mail names no mapped department; it may only follow a ticket we already have. */
  departmentId: number | null;
  event: RemoteEvent | null;
  subject: string;
  customerEmail: string | null;
  customerName: string | null;
  fromAddress: string | null;
  fromName: string | null;
  messageId: string | null;
  text: string;
  html: string | null;
  attachments: NewAttachment[];
}

export interface TicketEventResult {
  ticketId: number;
  state: Extract<LedgerState, 'ticket_created' | 'ticket_updated' | 'ticket_closed'>;
  event: RemoteEvent;
  reopened: boolean;
  /** The ticket's department after this message. */
  departmentId: number;
  /** The department the ticket was moved from, when this message moved it. */
  transferredFrom: number | null;
}

export type WriteLedger = (result: TicketEventResult) => Promise<number>;

/** Returns null, writing nothing, when the message names no department and there is no local ticket to follow. */
export async function applyRemoteMessage(trx: Knex, m: RemoteMessage, writeLedger: WriteLedger): Promise<(TicketEventResult & { inboundId: number; messageId: number }) | null> {
  const newTicket = (departmentId: number, event: RemoteEvent): NewTicket => ({
    systemId: m.systemId,
    remoteTicketId: m.remoteTicketId,
    departmentId,
    subject: m.subject,
    customerEmail: m.customerEmail,
    customerName: m.customerName,
    status: event === 'closed' ? 'closed' : 'open',
    lastRemoteMessageId: m.messageId,
  });
  // A mail that says it opens a ticket most often does: insert first, and look the ticket up only if it exists (one statement instead of two)
  const insertedNew = m.event === 'new' && m.departmentId !== null ? await tryInsertTicket(trx, newTicket(m.departmentId, 'new')) : null;
  const existing = insertedNew === null ? await findTicketByRemote(trx, m.systemId, m.remoteTicketId) : undefined;
  if (insertedNew === null && !existing && m.departmentId === null) return null;
  const event: RemoteEvent = m.event ?? (existing ? 'reply' : 'new');
  const departmentId = m.departmentId ?? Number(existing!.department_id);
  const transferredFrom = existing && Number(existing.department_id) !== departmentId ? Number(existing.department_id) : null;
  let ticketId: number;
  let created = false;
  let reopened = false;
  if (insertedNew !== null) {
    ticketId = insertedNew;
    created = true;
  } else if (!existing) {
    const r = await insertTicket(trx, newTicket(departmentId, event));
    ticketId = r.id;
    created = r.created;
  } else {
    ticketId = Number(existing.id);
    reopened = existing.status === 'closed' && event !== 'closed';
    await updateTicket(trx, ticketId, {
      ...(transferredFrom !== null && { departmentId }),
      ...(event === 'closed' ? { status: 'closed' as const } : reopened ? { status: 'open' as const } : {}),
      ...(existing.customer_email == null && m.customerEmail && { customerEmail: m.customerEmail }),
      ...(existing.customer_name == null && m.customerName && { customerName: m.customerName }),
      ...(m.messageId && { lastRemoteMessageId: m.messageId }),
    });
  }
  const state = event === 'closed' ? 'ticket_closed' : created ? 'ticket_created' : 'ticket_updated';
  const result: TicketEventResult = { ticketId, state, event, reopened, departmentId, transferredFrom };
  const inboundId = await writeLedger(result);
  if (transferredFrom !== null) {
    const slugs = new Map((await trx('departments').select('id', 'slug').whereIn('id', [transferredFrom, departmentId])).map((d: { id: number; slug: string }) => [Number(d.id), d.slug]));
    const text = `transferred by the remote system from ${slugs.get(transferredFrom)} to ${slugs.get(departmentId)}`;
    await appendMessage(trx, { ticketId, inboundId, direction: 'event', event: 'transferred', fromAddress: null, fromName: null, messageId: null, text, html: null });
  }
  if (reopened) {
    await appendMessage(trx, { ticketId, inboundId, direction: 'event', event: 'reopened', fromAddress: null, fromName: null, messageId: null, text: 'reopened by a new remote message', html: null });
  }
  const messageId = await appendMessage(trx, {
    ticketId,
    inboundId,
    direction: 'remote',
    event,
    fromAddress: m.fromAddress,
    fromName: m.fromName,
    messageId: m.messageId,
    text: m.text,
    html: m.html,
    attachments: m.attachments,
  });
  return { ...result, inboundId, messageId };
}
