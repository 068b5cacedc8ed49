// The staff notification for one new remote message (DESIGN.md flow step 7):
// to each of the department's staff on their own, from the bridge address,
// Reply-To the token address signed for that staff member, subject `[DB#<id>] <subject>`, Auto-Submitted and the loop
// header, text and sanitised HTML from the templates, the remote attachments.
// Queued in the outbox inside the mail's transaction: by queueNotification
// under the mail's own savepoint, or, composed off the main thread
// (compose-pool.ts), with the rest of its batch's at the batch's end.
import type { Knex } from 'knex';
import type { MailAttachment } from '../mail/parse-mail';
import { enqueueMany, type NewOutboxItem } from '../store/outbox';
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
  /** DESKBRIDGE_TEMPLATES, the folder `templates` was loaded with over the shipped ones: a compose pool's worker loads the same. */
  templatesOverrides?: string;
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

/** Queues the notification (notificationItems) in the outbox. Returns the outbox ids. */
export async function queueNotification(trx: Knex, out: Outbound, n: NotificationInput): Promise<number[]> {
  return enqueueMany(trx, await notificationItems(out, n));
}

/**
 * The outbox items of one notification, one per staff member, each with a
 * Reply-To token issued to that member alone (a reply is accepted only from
 * the address its token was issued to); none for a department without staff
 * (the ticket is still kept). Writes nothing: the caller queues them.
 */
export async function notificationItems(out: Outbound, n: NotificationInput): Promise<NewOutboxItem[]> {
  const items: NewOutboxItem[] = [];
  for (const staff of n.staff) items.push(await notificationFor(out, n, staff));
  return items;
}

async function notificationFor(out: Outbound, n: NotificationInput, staff: string): Promise<NewOutboxItem> {
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
  return { kind: 'notification', ticketId: n.ticket.id, sourceMessageId: n.sourceMessageId, to: [staff], subject, messageId, raw, deadlineAt: new Date(Date.now() + DEFAULT_DEADLINE_MS) };
}

/** The outbound settings from the configuration, with the templates compiled (throws ECONFIG naming a bad template); null without an address or secret. */
export function outboundFrom(config: { address?: string; secret?: string; instance: string; templates?: string }, templates: (overrides?: string) => Templates): Outbound | null {
  if (!config.address || !config.secret) return null;
  return { address: config.address, secret: config.secret, instance: config.instance, templates: templates(config.templates), templatesOverrides: config.templates };
}
