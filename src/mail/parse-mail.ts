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
import { oneLine, type MailFacts } from './mail-facts';
import { loadMimeReader, readMime } from './mime-read';

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
  const list = Array.isArray(value) ? value : value ? [value] : [];
  const out: Array<{ address: string; name: string }> = [];
  const walk = (items: AddressObject['value']) => {
    for (const item of items) {
      if (item.group) walk(item.group);
      else if (item.address) out.push({ address: item.address.toLowerCase(), name: item.name ?? '' });
    }
  };
  for (const obj of list) walk(obj.value);
  return out;
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
  const mail = await readMime(normaliseLineEnds(raw));
  const headers = new Map<string, string[]>();
  for (const [key, value] of mail.headers) headers.set(key, [...(headers.get(key) ?? []), valueText(value)]);
  // Repeated headers (Received, Delivered-To) are folded into one entry by mailparser; keep every line.
  for (const line of mail.headerLines) {
    if (line.key === 'received' || line.key === 'delivered-to') {
      const value = line.line.slice(line.line.indexOf(':') + 1).trim();
      const list = line.key === 'received' ? [] : (headers.get(line.key) ?? []);
      if (!list.includes(value)) headers.set(line.key, [...list, value]);
    }
  }
  const from = addresses(mail.from)[0];
  const recipients = [...addresses(mail.to), ...addresses(mail.cc)].map((a) => a.address);
  for (const d of headers.get('delivered-to') ?? []) recipients.push(d.replace(/[<>]/g, '').trim().toLowerCase());
  const ct = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const html = typeof mail.html === 'string' ? mail.html : null;
  const text = mail.text ?? (html ? htmlToText()(html, { wordwrap: false }) : '');
  return {
    headers,
    messageId: mail.messageId ?? null,
    fromAddress: from?.address ?? null,
    fromName: (from?.name && oneLine(from.name)) || null,
    recipients: [...new Set(recipients)],
    subject: oneLine(mail.subject ?? ''),
    inReplyTo: mail.inReplyTo ?? null,
    references: idList(mail.references),
    contentType: (ct?.value ?? 'text/plain').toLowerCase(),
    reportType: ct?.params?.['report-type']?.toLowerCase() ?? null,
    text,
    html,
    attachments: mail.attachments.map((a) => ({
      filename: oneLine(a.filename ?? '') || `attachment-${a.checksum?.slice(0, 8) ?? 'part'}`,
      contentType: a.contentType || 'application/octet-stream',
      size: a.size ?? a.content.length,
      sha256: createHash('sha256').update(a.content).digest('hex'),
      contentId: a.contentId ?? null,
      content: a.content,
    })),
    charsetProblems: mail.unknownCharsets,
    partTypes: mail.partTypes,
    deliveryStatus: mail.deliveryStatus,
  };
}
