// The staff notification for one new remote message (DESIGN.md flow step 7):
// to each of the department's staff on their own, from the bridge address,
// Reply-To the token address signed for that staff member, subject `[DB#<id>] <subject>`, Auto-Submitted and the loop
// header, text and sanitised HTML from the templates, the remote attachments.
// Queued in the outbox inside the mail's own transaction.
import type { Knex } from 'knex';
import type { MailAttachment } from '../mail/parse-mail';
import { enqueue } from '../store/outbox';
import { DEFAULT_DEADLINE_MS } from './delivery-error';
import { composeMail, newMessageId } from './compose';
import { notificationTemplate, type Templates, type TicketVars } from './render';
import { makeToken, replyAddress } from './reply-token';

/** What the bridge needs to send anything: set from DESKBRIDGE_ADDRESS, DESKBRIDGE_SECRET, DESKBRIDGE_INSTANCE and templates/. */
export interface Outbound {
  address: string;
  secret: string;
  instance: string;
  templates: Templates;
}

export const ticketTag = (ticketId: number) => `[DB#${ticketId}]`;

export interface NotificationInput {
  ticket: TicketVars;
  staff: string[];
  event: string;
  from: string | null;
  fromName: string | null;
  text: string;
  html: string | null;
  attachments: MailAttachment[];
  sourceMessageId: number;
}

/**
 * Queues one notification per staff member, each with a Reply-To token
 * issued to that member alone (a reply is accepted only from the address its
 * token was issued to). Returns the outbox ids.
 */
export async function queueNotification(trx: Knex, out: Outbound, n: NotificationInput): Promise<number[]> {
  const ids: number[] = [];
  for (const staff of n.staff) ids.push(await queueOne(trx, out, n, staff)); // none for a department without staff; the ticket is still kept
  return ids;
}

async function queueOne(trx: Knex, out: Outbound, n: NotificationInput, staff: string): Promise<number> {
  const replyTo = replyAddress(out.address, makeToken(n.ticket.id, staff, out.secret));
  const tag = ticketTag(n.ticket.id);
  const body = out.templates.render(notificationTemplate(n.event), {
    ticket: n.ticket,
    message: { event: n.event, from: n.from ?? '', fromName: n.fromName ?? '', text: n.text, html: n.html ?? '' },
    replyTo,
    tag,
  });
  const subject = `${tag} ${n.ticket.subject}`;
  const messageId = newMessageId('n', n.ticket.id, out.address);
  const raw = await composeMail({
    from: out.address,
    to: [staff],
    replyTo,
    subject,
    messageId,
    autoSubmitted: true,
    instance: out.instance,
    text: body.text,
    html: body.html,
    attachments: n.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content, cid: a.contentId })),
  });
  return enqueue(trx, { kind: 'notification', ticketId: n.ticket.id, sourceMessageId: n.sourceMessageId, to: [staff], subject, messageId, raw, deadlineAt: new Date(Date.now() + DEFAULT_DEADLINE_MS) });
}

/** The outbound settings from the configuration, with the templates compiled (throws ECONFIG naming a bad template); null without an address or secret. */
export function outboundFrom(config: { address?: string; secret?: string; instance: string; templates?: string }, templates: (overrides?: string) => Templates): Outbound | null {
  if (!config.address || !config.secret) return null;
  return { address: config.address, secret: config.secret, instance: config.instance, templates: templates(config.templates) };
}
