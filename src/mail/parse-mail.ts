// The one full parse of a mail (mailparser), reduced to the facts the rest of
// the pipeline decides on. Everything after this is pure over MailFacts, so a
// mail is parsed in full exactly once per processing. Charsets mailparser's
// iconv-lite does not know are not a crash: the text comes out as mailparser
// best-effort decodes it and the charset is named in `charsetProblems`.
import { createHash } from 'node:crypto';
import iconv from 'iconv-lite';
import libmime from 'libmime';
import { simpleParser, type AddressObject, type HeaderValue } from 'mailparser';
import { htmlToText } from 'html-to-text';

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
  /** The MIME type of every part, in order, whether mailparser made it text, an attachment or nothing. */
  partTypes: string[];
}

export const header = (facts: Pick<MailFacts, 'headers'>, name: string): string | undefined => facts.headers.get(name.toLowerCase())?.[0];

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
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

/** An empty Return-Path (`<>`): what bounces and most auto-replies carry. */
export const hasEmptyReturnPath = (facts: Pick<MailFacts, 'headers'>): boolean => {
  const value = header(facts, 'return-path');
  return value !== undefined && (value.trim() === '' || value.trim() === '<>');
};

const CHARSET_RE = /charset\s*=\s*"?([^";\s]+)/gi;

/** Declared charsets iconv-lite cannot decode (a cheap scan of the raw bytes, not a second parse). */
function unknownCharsets(text: string): string[] {
  const bad = new Set<string>();
  for (const match of text.matchAll(CHARSET_RE)) {
    const name: string = match[1]!.replace(/['"]/g, '').toLowerCase();
    const known: boolean = iconv.encodingExists(name);
    if (!known) bad.add(name);
  }
  return [...bad];
}

const PART_TYPE_RE = /^content-type:[ \t]*"?([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)/gim;

/**
 * The types of all MIME parts, read off the raw header lines (the same cheap
 * scan as the charsets): mailparser folds an inline message/delivery-status
 * part into the text, and bounce detection needs to know it was there.
 */
function partTypes(text: string): string[] {
  return [...text.matchAll(PART_TYPE_RE)].map((m) => m[1]!.toLowerCase());
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
  const mail = await simpleParser(normaliseLineEnds(raw), { skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true, keepCidLinks: true });
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
  const rawText = raw.toString('latin1'); // for the two cheap scans below, not a second parse
  const from = addresses(mail.from)[0];
  const recipients = [...addresses(mail.to), ...addresses(mail.cc)].map((a) => a.address);
  for (const d of headers.get('delivered-to') ?? []) recipients.push(d.replace(/[<>]/g, '').trim().toLowerCase());
  const ct = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const html = typeof mail.html === 'string' ? mail.html : null;
  const text = mail.text ?? (html ? htmlToText(html, { wordwrap: false }) : '');
  return {
    headers,
    messageId: mail.messageId ?? null,
    fromAddress: from?.address ?? null,
    fromName: from?.name || null,
    recipients: [...new Set(recipients)],
    subject: mail.subject ?? '',
    inReplyTo: mail.inReplyTo ?? null,
    references: idList(mail.references),
    contentType: (ct?.value ?? 'text/plain').toLowerCase(),
    reportType: ct?.params?.['report-type']?.toLowerCase() ?? null,
    text,
    html,
    attachments: mail.attachments.map((a) => ({
      filename: a.filename ?? `attachment-${a.checksum?.slice(0, 8) ?? 'part'}`,
      contentType: a.contentType || 'application/octet-stream',
      size: a.size ?? a.content.length,
      sha256: createHash('sha256').update(a.content).digest('hex'),
      contentId: a.contentId ?? null,
      content: a.content,
    })),
    charsetProblems: unknownCharsets(rawText),
    partTypes: partTypes(rawText),
  };
}
