// Tells the staff member who wrote `#close` that the close stayed local: the
// ticket's system has no way to be closed by mail (its profile says
// `relayClose: false`), so the remote ticket is still open until someone
// closes it there. Without this the staff would believe the customer's side
// was closed too. A plain operator notice, not a template: it says one fixed
// thing and is not shown to customers.
import type { Knex } from 'knex';
import { enqueue } from '../store/outbox';
import { composeMail, newMessageId } from './compose';
import { DEFAULT_DEADLINE_MS } from './delivery-error';
import { ticketTag, type Outbound } from './notify';
import type { TicketVars } from './render';

export async function localCloseNotice(trx: Knex, out: Outbound, n: { ticket: TicketVars; to: string; relayed: boolean }): Promise<number> {
  const t = n.ticket;
  const subject = `${ticketTag(t.id)} closed here only: ${t.subject}`;
  const text = [
    `Ticket #${t.id} (${t.systemName} ticket ${t.remoteTicketId}) is closed in deskbridge only.`,
    `${t.systemName} has no way to close a ticket by mail: close ticket ${t.remoteTicketId} in ${t.systemName} itself.`,
    ...(n.relayed ? [`Your words were sent to ${t.systemName} as an ordinary reply, which does not close it.`] : []),
    '',
  ].join('\n');
  const messageId = newMessageId('n', t.id, out.address);
  const raw = await composeMail({ from: out.address, to: [n.to], subject, messageId, autoSubmitted: true, instance: out.instance, text, html: `<p>${text.trim().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\n/g, '<br>\n')}</p>` });
  return enqueue(trx, { kind: 'notification', ticketId: t.id, sourceMessageId: null, to: [n.to], subject, messageId, raw, deadlineAt: new Date(Date.now() + DEFAULT_DEADLINE_MS) });
}
