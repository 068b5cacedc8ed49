import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import { describe, expect, it } from 'vitest';
import { composeMail } from '../../src/outbound/compose';
import { serializeMime } from '../../src/outbound/mime-serialize';

type Options = ConstructorParameters<typeof MailComposer>[0];

// The same mail twice: once written out by serializeMime, once streamed by nodemailer (build()).
// Date, Message-ID and boundaries are fixed, so the two must be the same bytes.
const fixed = (o: Options): Options => ({ from: 'bridge@support.example', to: 'anna@support.example', subject: 'Ticket', date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), messageId: '<m@support.example>', baseBoundary: 'fixedboundary', ...o });
const streamed = (o: Options) => new MailComposer(fixed(o)).compile().build();
const serialized = (o: Options) => serializeMime(new MailComposer(fixed(o)).compile());

const PIECES = ['a', ' ', '\t', '\r\n', '\n', '\r', 'ä', '€', '😀', '=', '.', 'word ', 'x'.repeat(70), ' '.repeat(80), 'Ё', '<b>', '&amp;'];

/** Deterministic text made of PIECES (a failure reproduces). */
function texts(count: number, seed: number): string[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  return Array.from({ length: count }, () => Array.from({ length: Math.floor(next() * 60) }, () => PIECES[Math.floor(next() * PIECES.length)]).join(''));
}

describe('serializeMime writes what nodemailer streams, byte for byte', () => {
  const cases: Array<[string, Options]> = [
    ['plain ASCII text', { text: 'Hello\r\nthere\r\n' }],
    ['text and HTML, non-ASCII, long lines', { text: `Grüße ${'long line '.repeat(20)}\n😀`, html: `<p>Grüße ${'long line '.repeat(20)}</p>` }],
    ['a body ending in whitespace', { text: `\r\n\r\n${' '.repeat(80)}€€\r€€\t€word ...a  \t${' '.repeat(80)}`, html: '<p>a</p>  ' }],
    ['lone CR and LF in text', { text: 'a\rb\nc\r\n\r\rd' }],
    ['a text larger than the encoder slices', { text: `${'Zeile mit Umlauten äöü und Leerzeichen am Ende   \n'.repeat(3000)}   ` }],
    ['an empty text', { text: '' }],
    [
      'attachments: binary, text, inline by cid, empty, non-ASCII name',
      {
        text: 'see attached',
        html: '<p>see <img src="cid:logo@x"></p>',
        attachments: [
          { filename: 'data.bin', contentType: 'application/octet-stream', content: Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256)) },
          { filename: 'notes.txt', contentType: 'text/plain', content: Buffer.from('line one\r\nline two  \n\rx') },
          { filename: 'logo.png', contentType: 'image/png', content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), cid: 'logo@x' },
          { filename: 'empty.dat', contentType: 'application/octet-stream', content: Buffer.alloc(0) },
          { filename: 'Счёт №1.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4\n') },
        ],
      },
    ],
    ['an attachment sent quoted-printable although not text', { text: 'x', attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: Buffer.from('a\rb\nc =\r\n  '), contentTransferEncoding: 'quoted-printable' }] }],
    ['headers of every kind', { text: 'x', replyTo: 'bridge+1-abc@support.example', inReplyTo: '<a@b>', references: ['<a@b>', '<c@d>'], headers: { 'X-Deskbridge-Loop': 'i1', 'Auto-Submitted': 'auto-generated' }, subject: '[DB#1] Тема — длинная '.repeat(6) }],
  ];
  it.each(cases)('%s', async (_name, options) => {
    const mine = serialized(options);
    expect(mine).not.toBeNull();
    expect(mine!.toString('latin1')).toBe((await streamed(options)).toString('latin1'));
  });

  it('on 300 generated text and HTML bodies', async () => {
    const bodies = texts(600, 42);
    for (let i = 0; i < bodies.length; i += 2) {
      const options = { text: bodies[i], html: bodies[i + 1] };
      expect(serialized(options)!.toString('latin1'), JSON.stringify(options)).toBe((await streamed(options)).toString('latin1'));
    }
  });
});

describe('composeMail', () => {
  it('streams what serializeMime does not cover (content from a stream), and the mail reads back', async () => {
    expect(serialized({ text: 'x', attachments: [{ filename: 'a.txt', content: Readable.from([Buffer.from('streamed')]) }] })).toBeNull();
    const raw = await composeMail({ from: 'bridge@support.example', to: ['anna@support.example'], subject: 'S', messageId: '<m1@support.example>', autoSubmitted: true, instance: 'i1', text: 'Grüße', html: '<p>Grüße</p>', attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: Buffer.from([0, 1, 2, 255]) }] });
    const mail = await simpleParser(raw);
    expect(mail.text?.trim()).toBe('Grüße');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect([...mail.attachments[0]!.content]).toEqual([0, 1, 2, 255]);
  });
});
