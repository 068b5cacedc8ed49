// Builds the bytes of an outgoing mail (nodemailer's MailComposer) at the
// moment it is queued: the outbox stores them whole, so a resend after a crash
// is byte for byte the same mail with the same Message-ID. The compiled tree
// is written out in one synchronous pass (mime-serialize.ts says why), and
// streamed by nodemailer only when that pass does not cover it.
import { randomBytes, randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { LOOP_HEADER } from '../mail/classify';
import { serializeMime } from './mime-serialize';
import { headerValue } from './render';

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

/** A new Message-ID in the bridge's domain: <deskbridge.KIND.TICKET.RANDOM@domain>. */
export function newMessageId(kind: string, ticketId: number, bridgeAddress: string): string {
  return `<deskbridge.${kind}.${ticketId}.${randomBytes(9).toString('hex')}@${bridgeAddress.slice(bridgeAddress.lastIndexOf('@') + 1)}>`;
}

export function composeMail(m: OutgoingMail): Promise<Buffer> {
  const headers: Record<string, string> = { [LOOP_HEADER]: m.instance, ...m.extraHeaders };
  if (m.autoSubmitted) headers['Auto-Submitted'] = 'auto-generated';
  const composer = new MailComposer({
    from: m.from,
    to: m.to,
    replyTo: m.replyTo,
    subject: headerValue(m.subject),
    messageId: m.messageId,
    inReplyTo: m.inReplyTo ?? undefined,
    references: m.references && m.references.length ? m.references : undefined,
    date: new Date(),
    baseBoundary: randomUUID(), // one per mail from the UUID generator's entropy cache; left out, every MIME node drew its own randomBytes (profiled: 5% of a compose)
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
