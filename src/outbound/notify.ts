// The staff notification for one new remote message (DESIGN.md flow step 7):
// to each of the department's staff on their own, from the bridge address,
// Reply-To the token address signed for that staff member, subject `[DB#<id>] <subject>`, Auto-Submitted and the loop
// header, text and sanitised HTML from the templates, the remote attachments.
//
// Queued in the mail's transaction with its recipient, subject and Message-ID,
// and rendered by the worker that first claims it to send it (store/outbox.ts), from
// the ticket as it was when the message came (kept in the row) and the
// message and attachments the ticket event stored. Rendering and composing
// every notification inside the ingest was a third of a CLI ingest's work
// (profiled, issue 15: 2,500 mails in 2.3 s with it, 1.8 s without), work
// that the outbox worker does anyway as it sends, one claim at a time. The
// template a notification will use is compiled when it is queued, so a bad
// one still stops the mail there (recorded failed, waiting for the fix).
import type { NewOutboxItem, Render } from '../store/outbox';
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
  /** The thread message the notification is about (messages.id): its words and attachments are rendered from it. */
  sourceMessageId: number;
}

/** What a notification's row keeps until it is rendered (outbox.render_input). */
interface NotificationRendering {
  ticket: TicketVars;
}

/**
 * The outbox items of one notification, one per staff member (each gets a
 * Reply-To token issued to that member alone: a reply is accepted only from
 * the address its token was issued to), queued unrendered; none for a
 * department without staff (the ticket is still kept). Writes nothing: the
 * caller queues them. Throws ECONFIG when the template they will be rendered
 * with does not compile.
 */
export function notificationItems(out: Outbound, n: NotificationInput): NewOutboxItem[] {
  if (n.staff.length === 0) return [];
  out.templates.ready(notificationTemplate(n.event), n.ticket.system);
  const subject = `${ticketTag(n.ticket.id)} ${n.ticket.subject}`;
  const renderInput: NotificationRendering = { ticket: n.ticket };
  const deadlineAt = new Date(Date.now() + DEFAULT_DEADLINE_MS);
  return n.staff.map((staff) => ({ kind: 'notification', ticketId: n.ticket.id, sourceMessageId: n.sourceMessageId, to: [staff], subject, messageId: newMessageId('n', n.ticket.id, out.address), raw: null, renderInput, deadlineAt }));
}

/** Renders a notification queued by notificationItems, as the worker that first claims it does (store/outbox.ts renderClaimedRows). */
export function notificationRenderer(out: Outbound): Render {
  return async (row) => {
    const ticket = (row.input as Partial<NotificationRendering> | null)?.ticket;
    if (row.kind !== 'notification' || !ticket || typeof ticket.id !== 'number') throw new Error(`outbox row #${row.id} holds no notification to render`);
    const m = row.source;
    if (!m) throw new Error('the message it is about is gone (its ticket was deleted)');
    const staff = row.to[0];
    if (!staff) throw new Error('it has no recipient');
    const event = m.event ?? 'reply';
    const replyTo = replyAddress(out.address, makeToken(ticket.id, staff, out.secret));
    const tag = ticketTag(ticket.id);
    const body = out.templates.render(notificationTemplate(event), {
      ticket,
      message: { event, from: m.fromAddress ?? '', fromName: m.fromName ?? '', text: m.text, html: m.html ?? '' },
      replyTo,
      tag,
    });
    return composeMail({
      from: out.address,
      to: row.to,
      replyTo,
      subject: row.subject,
      messageId: row.messageId,
      autoSubmitted: true,
      instance: out.instance,
      text: body.text,
      html: body.html,
      attachments: m.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content, cid: a.contentId })),
    });
  };
}

/** The outbound settings from the configuration, with the templates compiled (throws ECONFIG naming a bad template); null without an address or secret. */
export function outboundFrom(config: { address?: string; secret?: string; instance: string; templates?: string }, templates: (overrides?: string) => Templates): Outbound | null {
  if (!config.address || !config.secret) return null;
  return { address: config.address, secret: config.secret, instance: config.instance, templates: templates(config.templates) };
}
