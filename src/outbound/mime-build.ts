// Writes the usual outgoing mail — text and HTML, no attachments, plain
// addresses — straight to bytes, without building nodemailer's MIME tree.
// Profiled on a CLI ingest with notifications on (issue 15), composing a
// notification with MailComposer cost ~120 µs warm and twice that cold, most
// of it in the tree: a MimeNode per part, every header key normalised by a
// regular expression each time it is set, read or encoded, every address
// parsed again. This writes the same bytes from the same encoders: header
// values through MimeNode's public encodeHeaderValue() and mime-funcs'
// foldLines() (what buildHeaders() does), bodies through the very encoder a
// MimeNode pipes them through, the transfer encoding chosen by the rules
// getTransferEncoding() applies, the boundary as _generateBoundary() makes
// it. The test compares the two byte for byte over generated mails; a mail of
// another shape (attachments, an address that needs parsing or punycode, a
// header the caller names unusually) returns null and goes through
// MailComposer (compose.ts).
import type MimeNode from 'nodemailer/lib/mime-node';
import { loadOnce } from '../load-once';
import { nodemailerPart } from '../vendor';
import { writeBody } from './mime-serialize';

// loaded at the first mail built, not with the module: an ingest queues notifications without composing them (the
// outbox worker renders them as it sends), and nodemailer's MIME node pulls in much of Node.js (streams, dns, http)
const MimeNodeClass = loadOnce(() => nodemailerPart<typeof MimeNode>('MimeNode', 'mime-node'));
const mimeFuncs = loadOnce(() => nodemailerPart<typeof import('nodemailer/lib/mime-funcs')>('mimeFuncs', 'mime-funcs'));

export interface SimpleMail {
  from: string | { name: string; address: string };
  to: string[];
  replyTo?: string;
  subject: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  /** Headers set before the standard ones, in this order (the loop header, Auto-Submitted, a profile's relay headers). */
  headers: Record<string, string>;
  text: string;
  html: string;
  attachments?: unknown[];
}

const BOUNDARY_PREFIX = '--_NmP'; // MimeNode's default boundaryPrefix
/**
 * The root headers MailComposer sets after the caller's own (a caller's header of the same name is replaced by
 * them), and Content-Disposition, which buildHeaders() parses and rebuilds (comments dropped, parameters quoted).
 */
const STANDARD = new Set(['from', 'sender', 'to', 'cc', 'bcc', 'reply-to', 'in-reply-to', 'references', 'subject', 'message-id', 'date', 'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition']);

// An address nodemailer writes back exactly as given: a dot-atom local part at a lower-case ASCII host name
// (normalizeDomain lower-cases and punycodes a domain; anything else is parsed and re-quoted) whose last
// label starts with a letter (one that is a number, 1.2 or 0x7f.1, makes the host an IPv4 address: 1.0.0.2).
const PLAIN_ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z](?:[a-z0-9-]*[a-z0-9])?$/;
const PLAIN_ID = /^<[\x21-\x3b\x3d\x3f-\x7e]+>$/; // a msg-id encodeHeaderValue leaves as it is
const NAME_SAFE = /^[\w ]*$/; // a display name _encodeAddressName leaves as it is

let encoder: MimeNode | null = null;
/** A node for encodeHeaderValue() (public: "encodes a header value the way this node encodes it in the generated message"). */
const encode = (key: string, value: unknown): string => (encoder ??= new (MimeNodeClass())('text/plain')).encodeHeaderValue(key, value as string);

const encodedCache = new Map<string, string>();
/** encode() for the caller's own headers, remembered: most are the same on every mail (the loop header's instance, Auto-Submitted). */
function encodeExtra(key: string, value: string): string {
  const k = `${key}\n${value}`;
  let encoded = encodedCache.get(k);
  if (encoded === undefined) {
    encoded = encode(key, value);
    if (encodedCache.size < 200 && k.length <= 256) encodedCache.set(k, encoded); // a profile header that names the ticket differs per mail: not kept
  }
  return encoded;
}

const keyCache = new Map<string, boolean>();
/** Whether MimeNode writes this header name as given (it normalises case: X-Ticket-Id becomes X-Ticket-ID). */
function keptAsGiven(key: string): boolean {
  let kept = keyCache.get(key);
  if (kept === undefined) {
    const node = new (MimeNodeClass())('text/plain');
    node.setHeader(key, 'x');
    kept = node.buildHeaders().startsWith(`${key}: x\r\n`);
    if (keyCache.size < 100) keyCache.set(key, kept);
  }
  return kept;
}

/** From, an address or a display name with one: written as encodeHeaderValue('From') would, or null when it would parse it into something else. */
function fromValue(from: SimpleMail['from']): string | null {
  if (typeof from === 'string') return PLAIN_ADDRESS.test(from) ? from : null;
  if (!PLAIN_ADDRESS.test(from.address)) return null;
  if (!from.name) return from.address;
  return NAME_SAFE.test(from.name) ? `${from.name} <${from.address}>` : encode('From', { name: from.name, address: from.address });
}

/** The Q or B choice of MimeNode._getTextEncoding: Q while Latin letters outnumber 8-bit and control characters. */
function textEncoding(value: string): 'Q' | 'B' {
  let nonLatin = 0;
  let latin = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x08 || c === 0x0b || c === 0x0c || (c >= 0x0e && c <= 0x1f) || c >= 0x80) nonLatin++;
    else if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) latin++;
  }
  return nonLatin < latin ? 'Q' : 'B';
}

/** One text part, its header block and its body in the transfer encoding MimeNode picks for a string. */
function writePart(type: 'text/plain' | 'text/html', content: string, out: Buffer[]): void {
  const sevenBit = mimeFuncs().isPlainText(content) && !mimeFuncs().hasLongerLines(content, 76);
  const cte = sevenBit ? '7bit' : textEncoding(content) === 'Q' ? 'quoted-printable' : 'base64';
  out.push(Buffer.from(`Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n`));
  writeBody(Buffer.from(content), cte, type, out);
}

/**
 * The mail as MailComposer would write it with this date and base boundary,
 * or null when it is not of the shape written here: text and HTML both
 * present, no attachments, addresses nodemailer keeps as they are, header
 * names it keeps as they are and that are none of its own.
 */
export function buildSimpleMime(m: SimpleMail, date: Date, baseBoundary: string): Buffer | null {
  if (!m.text || !m.html || m.attachments?.length || m.to.length === 0) return null;
  const from = fromValue(m.from);
  if (from === null || !m.to.every((a) => PLAIN_ADDRESS.test(a)) || (m.replyTo !== undefined && !PLAIN_ADDRESS.test(m.replyTo))) return null;
  const ids = [m.messageId, ...(m.inReplyTo ? [m.inReplyTo] : []), ...(m.references ?? [])];
  if (!ids.every((id) => PLAIN_ID.test(id))) return null;
  const headers: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(m.headers)) {
    if (STANDARD.has(key.toLowerCase()) || !keptAsGiven(key)) return null;
    headers.push([key, encodeExtra(key, value)]);
  }
  headers.push(['From', from], ['To', m.to.join(', ')]);
  if (m.replyTo) headers.push(['Reply-To', m.replyTo]);
  if (m.inReplyTo) headers.push(['In-Reply-To', m.inReplyTo]);
  if (m.references?.length) headers.push(['References', m.references.join(' ')]);
  if (m.subject) headers.push(['Subject', encode('Subject', m.subject)]);
  const boundary = `${BOUNDARY_PREFIX}-${baseBoundary}-Part_1`;
  headers.push(['Message-ID', m.messageId], ['Date', date.toUTCString().replace(/GMT/, '+0000')], ['MIME-Version', '1.0'], ['Content-Type', `multipart/alternative; boundary="${boundary}"`]);
  // buildHeaders() leaves out a header whose value is blank, and folds the others at 76
  const block = headers.filter(([, value]) => value.trim()).map(([key, value]) => mimeFuncs().foldLines(`${key}: ${value}`, 76));
  const out: Buffer[] = [Buffer.from(`${block.join('\r\n')}\r\n\r\n`)];
  out.push(Buffer.from(`--${boundary}\r\n`));
  writePart('text/plain', m.text, out);
  out.push(Buffer.from(`\r\n--${boundary}\r\n`));
  writePart('text/html', m.html, out);
  out.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return Buffer.concat(out);
}
