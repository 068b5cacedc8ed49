// The one full parse of a mail (mailparser), reduced to the facts the rest of
// the pipeline decides on. Everything after this is pure over MailFacts, so a
// mail is parsed in full exactly once per processing. Charsets mailparser
// cannot decode are not a crash: the text comes out as mailparser
// best-effort decodes it and the charset is named in `charsetProblems`.
// Names and subjects lose CR/LF and control characters here (an RFC 2047
// word can carry them), so nothing stored or shown has them.
// The parser's libraries load at the first parse (loadParser), not with this
// module: the main thread of a process with a parse pool only reads facts.
import { createHash } from 'node:crypto';
import type Libmime from 'libmime';
import type { AddressObject, HeaderValue } from 'mailparser';
import { loadOnce } from '../load-once';
import { vendored } from '../vendor';
import { oneLine, type MailAttachment, type MailFacts } from './mail-facts';
import { loadMimeReader, readMime, type ReadAttachment, type ReadMail } from './mime-read';

export type { MailAttachment, MailFacts } from './mail-facts';

/* eslint-disable @typescript-eslint/no-require-imports */
const libmime = loadOnce(() => vendored('mail', () => require('libmime') as typeof Libmime, 'libmime'));
const htmlToText = loadOnce(() => vendored('mail', () => require('html-to-text') as typeof import('html-to-text'), 'htmlToText').htmlToText);

/**
 * Loads what a parse needs now, rather than at the first mail (the parse
 * pool's worker, at its start). Without `html`, what only a mail with HTML
 * and no text needs (html-to-text, htmlparser2) is left to that first mail:
 * a single piped mail, most often plain text, does not wait for it.
 */
export function loadParser(options: { html?: boolean } = {}): void {
  libmime();
  if (options.html !== false) htmlToText();
  loadMimeReader();
}

function valueText(value: HeaderValue): string {
  // mailparser decodes RFC 2047 words only in the headers it knows; X- headers come raw
  if (typeof value === 'string') return value.includes('=?') ? decodeWords(value) : value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => valueText(v as HeaderValue)).join(', ');
  if (value && typeof value === 'object') {
    if ('text' in value && typeof (value as AddressObject).text === 'string') return (value as AddressObject).text;
    if ('value' in value && typeof (value as { value: unknown }).value === 'string') {
      const v = value as { value: string; params?: Record<string, string> };
      const params = Object.entries(v.params ?? {}).map(([k, p]) => `; ${k}=${p}`).join('');
      return `${v.value}${params}`;
    }
  }
  return String(value);
}

function addresses(value: AddressObject | AddressObject[] | undefined): Array<{ address: string; name: string }> {
  const out: Array<{ address: string; name: string }> = [];
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) addressesOf(value[i]!.value, out);
  else if (value) addressesOf(value.value, out);
  return out;
}

function addressesOf(items: AddressObject['value'], out: Array<{ address: string; name: string }>): void {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.group) addressesOf(item.group, out);
    else if (item.address) out.push({ address: item.address.toLowerCase(), name: item.name ?? '' });
  }
}

function decodeWords(value: string): string {
  try {
    return libmime().decodeWords(value);
  } catch {
    return value;
  }
}

const idList = (value: string | string[] | undefined): string[] =>
  (Array.isArray(value) ? value : value ? value.split(/\s+/) : []).map((s) => s.trim()).filter(Boolean);

/**
 * Old Mac mail uses a bare CR as line end, which mailparser reads as one long
 * header line. Only for parsing, such line ends become CRLF; the ledger keeps
 * the bytes as they came.
 */
function normaliseLineEnds(raw: Buffer): Buffer {
  const cr = raw.indexOf(13);
  if (cr < 0 || raw[cr + 1] === 10) return raw;
  return Buffer.from(raw.toString('latin1').replace(/\r(?!\n)/g, '\r\n'), 'latin1');
}

export async function parseMail(raw: Buffer): Promise<MailFacts> {
  return factsOf(await readMime(normaliseLineEnds(raw)));
}

/**
 * The facts of a read mail. Plain indexed loops and pushes, no spreads or
 * for-of over the parser's Maps and arrays: this runs once per mail, and
 * written with iterators it was, profiled on a CLI ingest (issue 15), the
 * costliest function the parse worker's optimising compiler compiled (up
 * to 150 ms a compile), compiled three times, each thrown away when a later
 * mail's iterator had another shape.
 */
function factsOf(mail: ReadMail): MailFacts {
  const headers = new Map<string, string[]>();
  mail.headers.forEach((value, key) => {
    const list = headers.get(key);
    if (list) list.push(valueText(value));
    else headers.set(key, [valueText(value)]);
  });
  // Repeated headers (Received, Delivered-To) are folded into one entry by mailparser; keep every line.
  const lines = mail.headerLines;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.key !== 'received' && line.key !== 'delivered-to') continue;
    const value = line.line.slice(line.line.indexOf(':') + 1).trim();
    const list = line.key === 'received' ? [] : (headers.get(line.key) ?? []);
    if (!list.includes(value)) headers.set(line.key, list.concat(value));
  }
  const from = addresses(mail.from)[0];
  const recipients = addresses(mail.to).concat(addresses(mail.cc)).map((a) => a.address);
  const deliveredTo = headers.get('delivered-to') ?? [];
  for (let i = 0; i < deliveredTo.length; i++) recipients.push(deliveredTo[i]!.replace(/[<>]/g, '').trim().toLowerCase());
  const ct = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const html = typeof mail.html === 'string' ? mail.html : null;
  const text = mail.text ?? (html ? htmlToText()(html, { wordwrap: false }) : '');
  return {
    headers,
    messageId: mail.messageId ?? null,
    fromAddress: from?.address ?? null,
    fromName: (from?.name && oneLine(from.name)) || null,
    recipients: Array.from(new Set(recipients)),
    subject: oneLine(mail.subject ?? ''),
    inReplyTo: mail.inReplyTo ?? null,
    references: idList(mail.references),
    contentType: (ct?.value ?? 'text/plain').toLowerCase(),
    reportType: ct?.params?.['report-type']?.toLowerCase() ?? null,
    text,
    html,
    attachments: mail.attachments.map(attachmentFacts),
    charsetProblems: mail.unknownCharsets,
    partTypes: mail.partTypes,
    deliveryStatus: mail.deliveryStatus,
  };
}

function attachmentFacts(a: ReadAttachment): MailAttachment {
  return {
    filename: oneLine(a.filename ?? '') || `attachment-${a.checksum?.slice(0, 8) ?? 'part'}`,
    contentType: a.contentType || 'application/octet-stream',
    size: a.size ?? a.content.length,
    sha256: createHash('sha256').update(a.content).digest('hex'),
    contentId: a.contentId ?? null,
    content: a.content,
  };
}
