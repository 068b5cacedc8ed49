// Tells a staff member that their reply was not relayed, and why (issue 11):
// otherwise a rejected reply is silence, and the customer waits. Only to a
// sender who is on some department's staff AND authenticated — a notice to a
// forged From would be backscatter to whoever was impersonated — and at most
// one per sender per 10 minutes (store/staff-notices.ts).
import type { Knex } from 'knex';
import { judgeSender } from '../auth/policy';
import type { SenderAuth } from '../auth/sender-auth';
import { isStaffAnywhere } from '../store/departments';
import { enqueue } from '../store/outbox';
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
}

/** Queues the notice when it may be sent; returns what to add to the ledger reason. */
export async function noticeStaff(trx: Knex, out: Outbound, n: NoticeInput): Promise<string> {
  if (judgeSender(n.auth, n.to).kind !== 'pass') return 'no notice (sender not authenticated)';
  if (!(await isStaffAnywhere(trx, n.to))) return 'no notice (sender is on no staff)';
  const window = await takeNoticeWindow(trx, n.to);
  if (window === null) return 'no notice (one was sent in the last 10 minutes)';
  const body = out.templates.render('staff-notice', { staff: { address: n.to, name: n.name || n.to }, notice: { reason: n.reason, subject: n.subject } });
  const subject = `Not relayed: ${n.subject}`;
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
