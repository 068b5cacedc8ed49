// Tells a staff member that their reply was not relayed, and why (issue 11):
// otherwise a rejected reply is silence, and the customer waits. Only to a
// sender who is on some department's staff AND authenticated — a notice to a
// forged From would be backscatter to whoever was impersonated — and at most
// one per sender per 10 minutes (store/staff-notices.ts). The same notice,
// worded for it, when a reply that was accepted and relayed never reached
// the remote system: refused for good by the server, or bounced by a
// delivery report (noticeUndelivered).
import type { Knex } from 'knex';
import { judgeSender } from '../auth/policy';
import type { SenderAuth } from '../auth/sender-auth';
import { isStaffAnywhere } from '../store/departments';
import { enqueue } from '../store/outbox';
import { errorText, underSavepoint } from '../store/savepoint';
import { recordNoticeOutbox, takeNoticeWindow } from '../store/staff-notices';
import { composeMail, newMessageId } from './compose';
import { DEFAULT_DEADLINE_MS } from './delivery-error';
import type { Outbound } from './notify';

export interface NoticeInput {
  to: string;
  name: string | null;
  auth: SenderAuth | null;
  subject: string;
  /** The staff mail's Message-ID, so the notice threads under it. */
  inReplyTo: string | null;
  reason: string;
  ticketId: number | null;
  /**
   * `refused` (default): the reply was not accepted; the sender must be
   * authenticated. `undelivered`: it was accepted under its department's
   * staff policy (a token issued to this address, or DMARC) and relayed, and
   * the relay is dead or bounced; that acceptance is the authentication.
   */
  kind?: 'refused' | 'undelivered';
}

/** Queues the notice when it may be sent; returns what to add to the ledger reason. */
export async function noticeStaff(trx: Knex, out: Outbound, n: NoticeInput): Promise<string> {
  const undelivered = n.kind === 'undelivered';
  if (!undelivered && judgeSender(n.auth, n.to).kind !== 'pass') return 'no notice (sender not authenticated)';
  if (!(await isStaffAnywhere(trx, n.to))) return 'no notice (sender is on no staff)';
  const window = await takeNoticeWindow(trx, n.to);
  if (window === null) return 'no notice (one was sent in the last 10 minutes)';
  const body = out.templates.render('staff-notice', { staff: { address: n.to, name: n.name || n.to }, notice: { reason: n.reason, subject: n.subject, undelivered } });
  const subject = `${undelivered ? 'Not delivered' : 'Not relayed'}: ${n.subject}`;
  const messageId = newMessageId('x', n.ticketId ?? 0, out.address);
  const raw = await composeMail({
    from: out.address,
    to: [n.to],
    subject,
    messageId,
    inReplyTo: n.inReplyTo,
    references: n.inReplyTo ? [n.inReplyTo] : [],
    autoSubmitted: true,
    instance: out.instance,
    text: body.text,
    html: body.html,
    attachments: [],
  });
  const id = await enqueue(trx, { kind: 'notice', ticketId: n.ticketId, sourceMessageId: null, to: [n.to], subject, messageId, raw, deadlineAt: new Date(Date.now() + DEFAULT_DEADLINE_MS) });
  await recordNoticeOutbox(trx, window, id);
  return `${n.to} told`;
}

interface UndeliveredRow {
  id: number;
  ticket_id: number | null;
  last_error: string | null;
  to_addresses: string;
  from_address: string | null;
  from_name: string | null;
  message_id: string | null;
  subject: string | null;
}

/**
 * For relays and closes among `outboxIds` that just became dead or bounced:
 * tells the staff member who wrote each one (one notice per sender per 10
 * minutes), and appends who was told to the row's last_error, so `outbox
 * show` says it. Runs in the transaction that settled the rows, so a crash
 * cannot settle a row without its notice, nor notice it twice.
 */
export async function noticeUndelivered(trx: Knex, out: Outbound, outboxIds: readonly number[]): Promise<void> {
  if (outboxIds.length === 0) return;
  const rows: UndeliveredRow[] = await trx('outbox as o')
    .join('messages as m', 'm.id', 'o.source_message_id')
    .leftJoin('inbound as i', 'i.id', 'm.inbound_id')
    .whereIn('o.id', [...outboxIds])
    .whereIn('o.kind', ['relay', 'close'])
    .where('m.direction', 'staff')
    .whereIn('o.state', ['dead', 'bounced'])
    .select('o.id', 'o.ticket_id', 'o.last_error', 'o.to_addresses', 'm.from_address', 'm.from_name', 'i.message_id', 'i.subject')
    .orderBy('o.id');
  for (const r of rows) {
    if (!r.from_address) continue;
    const ticketId = r.ticket_id === null ? null : Number(r.ticket_id);
    // under a savepoint of its own: a notice that cannot be written (a broken template override, a refused row, a
    // row it cannot read) is noted on the row, and never undoes the send results committed with it (those mails
    // would be sent again)
    const note = await underSavepoint(trx, () => {
      const to = (JSON.parse(r.to_addresses) as string[]).join(', ');
      const reason = `your reply${ticketId ? ` on ticket #${ticketId}` : ''} was sent to ${to} and not delivered: ${r.last_error ?? 'no reason recorded'}`;
      return noticeStaff(trx, out, { kind: 'undelivered', to: r.from_address!, name: r.from_name, auth: null, subject: r.subject ?? `[DB#${ticketId ?? '?'}]`, inReplyTo: r.message_id, reason, ticketId });
    }).catch((err: unknown) => `no notice (${errorText(err)})`);
    await trx('outbox').where({ id: r.id }).update({ last_error: `${r.last_error ?? ''}; ${note}` });
  }
}
