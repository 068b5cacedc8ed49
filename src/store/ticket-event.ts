// Applies one remote message to its ticket: create the ticket or find it,
// follow a department move, close on a `closed` event, reopen a closed ticket
// on a new remote message, and append the message with its attachments. The
// ledger row is written in the middle, through the caller's `writeLedger`:
// once the ticket is known (its id and what happened to it) and before the
// messages that point at the row.
import type { Knex } from 'knex';
import type { LedgerState } from './inbound';
import { appendMessage, findTicketByRemote, insertTicket, updateTicket, type NewAttachment } from './tickets';

export type RemoteEvent = 'new' | 'reply' | 'closed';

export interface RemoteMessage {
  systemId: number;
  remoteTicketId: string;
  departmentId: number;
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
}

export type WriteLedger = (result: TicketEventResult) => Promise<number>;

export async function applyRemoteMessage(trx: Knex, m: RemoteMessage, writeLedger: WriteLedger): Promise<TicketEventResult & { inboundId: number; messageId: number }> {
  const existing = await findTicketByRemote(trx, m.systemId, m.remoteTicketId);
  const event: RemoteEvent = m.event ?? (existing ? 'reply' : 'new');
  let ticketId: number;
  let created = false;
  let reopened = false;
  if (!existing) {
    const r = await insertTicket(trx, {
      systemId: m.systemId,
      remoteTicketId: m.remoteTicketId,
      departmentId: m.departmentId,
      subject: m.subject,
      customerEmail: m.customerEmail,
      customerName: m.customerName,
      status: event === 'closed' ? 'closed' : 'open',
      lastRemoteMessageId: m.messageId,
    });
    ticketId = r.id;
    created = r.created;
  } else {
    ticketId = Number(existing.id);
    reopened = existing.status === 'closed' && event !== 'closed';
    await updateTicket(trx, ticketId, {
      departmentId: m.departmentId,
      ...(event === 'closed' ? { status: 'closed' as const } : reopened ? { status: 'open' as const } : {}),
      ...(existing.customer_email == null && m.customerEmail && { customerEmail: m.customerEmail }),
      ...(existing.customer_name == null && m.customerName && { customerName: m.customerName }),
      ...(m.messageId && { lastRemoteMessageId: m.messageId }),
    });
  }
  const state = event === 'closed' ? 'ticket_closed' : created ? 'ticket_created' : 'ticket_updated';
  const result: TicketEventResult = { ticketId, state, event, reopened };
  const inboundId = await writeLedger(result);
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
