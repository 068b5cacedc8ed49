import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeMail, composeWithNodemailer, type OutgoingMail } from '../../src/outbound/compose';
import { buildSimpleMime } from '../../src/outbound/mime-build';
import { headerValue } from '../../src/outbound/render';

// mime-build.ts writes the usual outgoing mail without nodemailer's tree; nodemailer's MailComposer is the
// oracle: with the same date and base boundary, the two must be the same bytes. A mail of another shape is
// refused (null) and composeMail hands it to MailComposer.
const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const BASE = '0b7e4c1a-9d2f-4e8b-a1c3-5f6d7e8f9a0b';

function headersOf(m: OutgoingMail): Record<string, string> {
  const headers: Record<string, string> = { 'X-Deskbridge-Loop': m.instance, ...m.extraHeaders };
  if (m.autoSubmitted) headers['Auto-Submitted'] = 'auto-generated';
  return headers;
}
const lean = (m: OutgoingMail) => buildSimpleMime({ ...m, subject: headerValue(m.subject), headers: headersOf(m), inReplyTo: m.inReplyTo ?? undefined }, DATE, BASE);
const oracle = (m: OutgoingMail) => composeWithNodemailer(m, headersOf(m), headerValue(m.subject), DATE, BASE);

const base: OutgoingMail = {
  from: 'bridge@support.example',
  to: ['anna@support.example'],
  replyTo: 'bridge+12-z3mvot2gkjq7@support.example',
  subject: '[DB#12] Ticket 100000: slow server',
  messageId: '<deskbridge.n.12.12c8adf11955cde6f0@support.example>',
  autoSubmitted: true,
  instance: 'desk-1',
  text: 'New ticket\n\nThe server is slow.\n',
  html: '<p>New ticket</p>\n<pre>The server is slow.</pre>',
};

const PIECES = ['a', ' ', '\t', '\r\n', '\n', '\r', 'ä', '€', '😀', '=', '.', 'word ', 'x'.repeat(70), ' '.repeat(80), 'Ё', 'Привет ', '中文', '<b>', '&amp;', '=?utf-8?q?x?=', '\u0001', 'From ', '\u00a0'];

/** Deterministic strings made of PIECES (a failure reproduces). */
function texts(count: number, seed: number, maxPieces = 60): string[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return Array.from({ length: count }, () => Array.from({ length: 1 + Math.floor(next() * maxPieces) }, () => PIECES[Math.floor(next() * PIECES.length)]).join(''));
}

describe('buildSimpleMime writes what MailComposer writes, byte for byte', () => {
  const cases: Array<[string, Partial<OutgoingMail>]> = [
    ['a staff notification', {}],
    ['non-ASCII text and HTML, long lines', { text: `Grüße ${'long line '.repeat(20)}\n😀`, html: `<p>Grüße ${'long line '.repeat(20)}</p>` }],
    ['mostly Cyrillic (base64)', { text: 'Привет, мир! Сервер не отвечает.', html: '<p>Привет</p>' }],
    ['a body ending in whitespace', { text: `\r\n\r\n${' '.repeat(80)}€€\r€€\t€word ...a  \t${' '.repeat(80)}`, html: '<p>a</p>  ' }],
    ['a text larger than the encoder slices', { text: `${'Zeile mit Umlauten äöü und Leerzeichen am Ende   \n'.repeat(3000)}   ` }],
    ['a long non-ASCII subject', { subject: '[DB#1] Тема — длинная '.repeat(6) }],
    ['a subject that looks encoded', { subject: '=?utf-8?B?SGk=?= and =?bogus?= words' }],
    ['a subject with a control character', { subject: 'bell \u0007 here' }],
    ['an empty subject', { subject: '' }],
    ['a relay: display name, thread headers, profile headers', { from: { name: 'Anna Staff via Hosting', address: 'bridge@support.example' }, to: ['tickets@bill.example'], replyTo: undefined, autoSubmitted: false, inReplyTo: '<a@bill.example>', references: ['<a@bill.example>', '<b@bill.example>'], extraHeaders: { 'X-Ticket-ID': '100000', 'X-Remote-Note': 'Ответ — сотрудник' } }],
    ['a display name that needs quoting', { from: { name: 'Staff, "Hosting" (2nd line)', address: 'bridge@support.example' } }],
    ['a non-ASCII display name', { from: { name: 'Анна via Hosting', address: 'bridge@support.example' } }],
    ['a blank profile header', { extraHeaders: { 'X-Empty': '  ' } }],
    ['many references', { references: Array.from({ length: 12 }, (_, i) => `<message-${i}.with.a.long.id@bill.example>`), inReplyTo: '<message-11.with.a.long.id@bill.example>' }],
    ['several recipients', { to: ['anna@support.example', 'bob@support.example'] }],
  ];
  it.each(cases)('%s', async (_name, change) => {
    const m = { ...base, ...change };
    const mine = lean(m);
    expect(mine).not.toBeNull();
    expect(mine!.toString('latin1')).toBe((await oracle(m)).toString('latin1'));
  });

  it('on 400 generated subjects, texts and HTML bodies', async () => {
    const subjects = texts(400, 7, 12);
    const bodies = texts(800, 42);
    for (let i = 0; i < 400; i++) {
      const m = { ...base, subject: subjects[i]!, text: bodies[2 * i]!, html: bodies[2 * i + 1]!, extraHeaders: { 'X-Remote-Note': subjects[(i + 1) % 400]! } };
      const mine = lean(m);
      expect(mine, JSON.stringify(m)).not.toBeNull();
      expect(mine!.toString('latin1'), JSON.stringify(m)).toBe((await oracle(m)).toString('latin1'));
    }
  });
});

describe('buildSimpleMime leaves other shapes to MailComposer', () => {
  const refused: Array<[string, Partial<OutgoingMail>]> = [
    ['attachments', { attachments: [{ filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('a') }] }],
    ['no HTML', { html: '' }],
    ['no text', { text: '' }],
    ['an upper-case domain (nodemailer lower-cases it)', { to: ['anna@Support.Example'] }],
    ['an internationalised domain (punycode)', { to: ['anna@bücher.example'] }],
    ['a quoted local part', { to: ['"anna smith"@support.example'] }],
    ['a Message-ID without angle brackets', { messageId: 'm@support.example' }],
    ['a header name nodemailer writes differently', { extraHeaders: { 'X-Ticket-Id': '1' } }],
    ['a header that is one of the standard ones', { extraHeaders: { Subject: 'other' } }],
    ['a Content-Disposition header (nodemailer rebuilds it)', { extraHeaders: { 'Content-Disposition': 'inline (a comment)' } }],
    ['a numeric host (nodemailer reads it as an IPv4 address)', { to: ['anna@1.2'] }],
    ['a hexadecimal host', { replyTo: 'bridge@0x7f.1' }],
    ['a host whose last label is a number', { from: 'bridge@support.example.1' }],
  ];
  it.each(refused)('%s', async (_name, change) => {
    const m = { ...base, ...change };
    expect(lean(m)).toBeNull();
    // and composeMail still writes it (through MailComposer), a mail that reads back
    const mail = await simpleParser(await composeMail(m));
    expect(mail.messageId).toBeTruthy();
  });
});

describe('composeMail', () => {
  it('writes a notification that reads back as it was given', async () => {
    const m = { ...base, subject: '[DB#12] Привет: slow server', text: 'Grüße,\nthe server is slow. €\n', html: '<p>Grüße, €</p>' };
    const mail = await simpleParser(await composeMail(m));
    expect(mail.subject).toBe(m.subject);
    expect(mail.from?.text).toBe('bridge@support.example');
    expect(mail.replyTo?.text).toBe(base.replyTo);
    expect(mail.messageId).toBe(base.messageId);
    expect(mail.text).toBe(m.text);
    expect(mail.html).toBe(m.html);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.headers.get('x-deskbridge-loop')).toBe('desk-1');
  });
});
