// Builds the bytes of an outgoing mail at the moment it is queued: the outbox
// stores them whole, so a resend after a crash is byte for byte the same mail
// with the same Message-ID. The usual mail (text and HTML, no attachments) is
// written straight out (mime-build.ts); any other goes through nodemailer's
// MailComposer, whose compiled tree is written out in one synchronous pass
// (mime-serialize.ts says why), or streamed when that pass does not cover it.
// Both write the same bytes for the same mail.
import { randomUUID } from 'node:crypto';
import { nodemailerPart } from '../vendor';
import { LOOP_HEADER } from '../mail/loop-header';
import { buildSimpleMime } from './mime-build';
import { serializeMime } from './mime-serialize';
import { headerValue } from './render';

// only for a mail the lean path does not write (attachments, an address nodemailer rewrites): most never need it
const MailComposer = () => nodemailerPart<typeof import('nodemailer/lib/mail-composer').default>('MailComposer', 'mail-composer');

export interface OutgoingMail {
  /** An address, or a display name with the address (a relay: "Anna Staff via Hosting"). */
  from: string | { name: string; address: string };
  to: string[];
  replyTo?: string;
  subject: string;
  messageId: string;
  inReplyTo?: string | null;
  references?: string[];
  /** Staff notifications are automatic (Auto-Submitted: auto-generated); relays are a person's words and carry none. */
  autoSubmitted: boolean;
  instance: string;
  extraHeaders?: Record<string, string>;
  text: string;
  html: string;
  attachments?: Array<{ filename: string; contentType: string; content: Buffer; cid?: string | null }>;
}

/**
 * A new Message-ID in the bridge's domain: <deskbridge.KIND.TICKET.RANDOM@domain>,
 * RANDOM 18 hex digits (72 bits) of a random UUID, skipping its fixed version
 * and variant digits. randomUUID draws from a cache of entropy; randomBytes asks
 * OpenSSL each time (profiled: ~50 µs a call on a loaded machine, a notification's largest single cost).
 */
export function newMessageId(kind: string, ticketId: number, bridgeAddress: string): string {
  const u = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
  const random = `${u.slice(0, 8)}${u.slice(9, 13)}${u.slice(15, 18)}${u.slice(20, 23)}`;
  return `<deskbridge.${kind}.${ticketId}.${random}@${bridgeAddress.slice(bridgeAddress.lastIndexOf('@') + 1)}>`;
}

export function composeMail(m: OutgoingMail): Promise<Buffer> {
  const date = new Date();
  const baseBoundary = randomUUID(); // one per mail from the UUID generator's entropy cache; left out, every MIME node drew its own randomBytes (profiled: 5% of a compose)
  const headers: Record<string, string> = { [LOOP_HEADER]: m.instance, ...m.extraHeaders };
  if (m.autoSubmitted) headers['Auto-Submitted'] = 'auto-generated';
  const subject = headerValue(m.subject);
  const simple = buildSimpleMime({ ...m, subject, headers, inReplyTo: m.inReplyTo ?? undefined }, date, baseBoundary);
  return simple ? Promise.resolve(simple) : composeWithNodemailer(m, headers, subject, date, baseBoundary);
}

/** The mail through nodemailer's MailComposer: the tree written out in one pass (mime-serialize.ts), or streamed when that does not cover it. */
export function composeWithNodemailer(m: OutgoingMail, headers: Record<string, string>, subject: string, date: Date, baseBoundary: string): Promise<Buffer> {
  const composer = new (MailComposer())({
    from: m.from,
    to: m.to,
    replyTo: m.replyTo,
    subject,
    messageId: m.messageId,
    inReplyTo: m.inReplyTo ?? undefined,
    references: m.references && m.references.length ? m.references : undefined,
    date,
    baseBoundary,
    headers,
    text: m.text,
    html: m.html,
    attachments: (m.attachments ?? []).map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content, cid: a.cid ?? undefined })),
  });
  const root = composer.compile();
  const message = serializeMime(root);
  if (message) return Promise.resolve(message);
  return new Promise((resolve, reject) => root.build((err, built) => (err ? reject(err) : resolve(built))));
}
