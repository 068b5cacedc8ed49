// What the one full parse (parse-mail.ts) reduces a mail to, and the small
// readers of it. Apart from the parser so that the code deciding on a parsed
// mail (classify, extract, decide, the outbound side) does not load mailparser:
// a process with a parse pool parses on the worker thread only, and its main
// thread must not pay for loading the parser too (profiled: a third of a
// single-mail `deskbridge ingest` went to loading modules the worker loads).
import type { MailWork } from './mail-work';

export interface MailAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  contentId: string | null;
  content: Buffer;
}

export interface MailFacts {
  /** Header values as text, lower-case names, in order of appearance. */
  headers: ReadonlyMap<string, string[]>;
  messageId: string | null;
  fromAddress: string | null;
  fromName: string | null;
  /** To, Cc and Delivered-To addresses, lower-cased. */
  recipients: string[];
  subject: string;
  inReplyTo: string | null;
  references: string[];
  contentType: string;
  reportType: string | null;
  /** Decoded text, or the text made from the HTML part. */
  text: string;
  html: string | null;
  attachments: MailAttachment[];
  charsetProblems: string[];
  /** The MIME type of every part, depth first, whether mailparser made it text, an attachment or nothing. */
  partTypes: string[];
  /** The text of each message/delivery-status part not inside an attached message: a report's per-recipient fields. */
  deliveryStatus: string[];
  /** HTML sanitised and the sender's profile applied, when a parse pool's worker did it (mail-work.ts). */
  work?: MailWork;
}

export const header = (facts: Pick<MailFacts, 'headers'>, name: string): string | undefined => facts.headers.get(name.toLowerCase())?.[0];

/** An empty Return-Path (`<>`): what bounces and most auto-replies carry. */
export const hasEmptyReturnPath = (facts: Pick<MailFacts, 'headers'>): boolean => {
  const value = header(facts, 'return-path');
  return value !== undefined && (value.trim() === '' || value.trim() === '<>');
};

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** One line of text for a name or subject: control characters (CR/LF from an RFC 2047 word among them) become a space. */
export function oneLine(value: string): string {
  return value.replace(CONTROL_RE, ' ').replace(/ {2,}/g, ' ').trim();
}
