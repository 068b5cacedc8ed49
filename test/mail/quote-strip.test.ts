// Quote and signature stripping: our own cases as a table, then the measure
// the issue sets — the reply-trimming fixtures of ../shared/corpus
// (discourse/email_reply_trimmer and mailgun/talon), stripped exactly to
// their expected text, >= 90%, the figure printed.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { closeCommand, ownWords, stripReply } from '../../src/mail/quote-strip';

describe('stripReply', () => {
  it.each([
    ['Gmail', 'Done, restarted.\n\nOn Wed, Nov 25, 2026 at 10:00 AM Deskbridge <bridge@support.example> wrote:\n> [DB#7] Server down\n> The server is down.\n', 'Done, restarted.'],
    ['Gmail, header wrapped', 'Done.\n\nOn Wed, Nov 25, 2026 at 10:00 AM Deskbridge <\nbridge@support.example> wrote:\n\n> quoted\n', 'Done.'],
    ['Outlook', 'Fixed.\n\n________________________________\nFrom: Deskbridge <bridge@support.example>\nSent: Wednesday, November 25, 2026 10:00\nTo: Anna\nSubject: [DB#7] Server down\n\nThe server is down.\n', 'Fixed.'],
    ['Outlook, Original Message', 'Fixed.\n\n-----Original Message-----\nFrom: Deskbridge\nThe server is down.\n', 'Fixed.'],
    ['Thunderbird', 'Fixed.\n\nOn 25.11.2026 10:00, Deskbridge wrote:\n> The server is down.\n', 'Fixed.'],
    ['Apple Mail', 'Fixed.\n\nSent from my iPhone\n\n> On 25 Nov 2026, at 10:00, Deskbridge <bridge@support.example> wrote:\n>\n> The server is down.\n', 'Fixed.'],
    ['a -- signature', 'Fixed, see the log.\n\n-- \nAnna Admin\nSupport team\n', 'Fixed, see the log.'],
    ['German', 'Erledigt.\n\nAm 25.11.2026 um 10:00 schrieb Deskbridge <bridge@support.example>:\n> Server down\n', 'Erledigt.'],
    ['Russian', 'Готово.\n\n25 нояб. 2026 г., в 10:00, Deskbridge <bridge@support.example> написал:\n> Сервер недоступен\n', 'Готово.'],
    ['a reply-above-this-line marker', 'Fixed.\n\n## Please reply above this line ##\nDeskbridge ticket 7\n', 'Fixed.'],
    ['CRLF line ends', 'Fixed.\r\n\r\nOn Wed, Nov 25, 2026 at 10:00 AM X <x@y.example> wrote:\r\n> old\r\n', 'Fixed.'],
    ['a quote only is kept whole', '> only a quote\n', '> only a quote'],
    ['inline answers between quotes are kept', '> Is it down?\nYes, since 10:00.\n\n> Did you reboot?\nNot yet.\n', '> Is it down?\nYes, since 10:00.\n\n> Did you reboot?\nNot yet.'],
  ])('%s', (_name, input, expected) => {
    expect(stripReply(input)).toBe(expected);
  });
});

describe('ownWords: what a staff reply says itself (a relay carries only that)', () => {
  const T = 'bridge+1-abc123@support.example';
  it.each([
    ['"On … wrote:" over the quote, nothing under it', `On Tue, Dec 1, 2026 at 10:00 AM <${T}> wrote:\n> New ticket\n`],
    ['an Outlook From/Sent block over the original', `From: Deskbridge <${T}>\nSent: Tuesday, December 1, 2026 10:00\nTo: Anna\nSubject: [DB#1] slow\n\nNew ticket\n`],
    ["Outlook's underscore line over the block", `\n________________________________\nFrom: Deskbridge <${T}>\nSent: Tuesday\nTo: Anna\nSubject: x\n\nNew ticket\n`],
    ['an "Original Message" delimiter at the top', '-----Original Message-----\nFrom: bridge\nSent: today\n\nNew ticket\n'],
    ['only > lines', '> New ticket\n> Answer by replying\n'],
    ['a phone\'s "Sent from my iPhone" over the quote', `Sent from my iPhone\n\nOn Tue, Dec 1, 2026 at 10:00 AM <${T}> wrote:\n> New ticket\n`],
    ['a signature alone', `--\nJane\n\nOn Tue, Dec 1, 2026 at 10:00 AM <${T}> wrote:\n> New ticket\n`],
  ])('none in %s', (_name, text) => {
    expect(ownWords(text)).toBe('');
  });

  it.each([
    ['a top-posted answer', `Fixed it.\n\nSent from my iPhone\n\nOn Tue, Dec 1, 2026 <${T}> wrote:\n> New ticket\n`, 'Fixed it.'],
    ['an answer over an Outlook block', `Fixed it.\n\n________________________________\nFrom: Deskbridge <${T}>\nSent: today\n\nNew ticket\n`, 'Fixed it.'],
    ['an answer that starts with From:/To: lines of its own (no Sent: or Date:)', 'From: 22:00 UTC\nTo: 23:00 UTC\n\nWe will move your VPS.\n', 'We will move your VPS.'],
    ['a forward with nothing above it (its text is the content)', '---------- Forwarded message ---------\nFrom: Customer <c@x.example>\nDate: today\n\nPlease look at this\n', 'Please look at this'],
    ['#close alone', `#close\n\nOn Tue, Dec 1, 2026 <${T}> wrote:\n> x\n`, '#close'],
  ])('kept in %s', (_name, text, expected) => {
    expect(ownWords(text)).toBe(expected);
  });
});

describe('closeCommand', () => {
  it.each([
    ['#close\nAll done.', { close: true, text: 'All done.' }],
    ['\n  #CLOSE  \n', { close: true, text: '' }],
    ['Will #close later', { close: false, text: 'Will #close later' }],
    ['Done.\n#close', { close: false, text: 'Done.\n#close' }],
  ])('%j', (input, expected) => {
    expect(closeCommand(input)).toEqual(expected);
  });
});

const CORPUS = resolve(process.env.DESKBRIDGE_CORPUS ?? join(__dirname, '..', '..', '..', 'shared', 'corpus'));
const present = existsSync(join(CORPUS, 'index.json'));
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (!present) console.error(`\n!!!!!!!! corpus not found at ${CORPUS}: the quote-stripping score does not run (set DESKBRIDGE_CORPUS) !!!!!!!!\n`);

interface Entry {
  file: string;
  expected?: string;
  expected_note?: string;
}

describe.skipIf(!present && !ci)('quote stripping on the corpus (email_reply_trimmer and talon)', () => {
  it('strips >= 90% of the fixtures exactly to their expected text', async () => {
    expect(present, `corpus missing at ${CORPUS}`).toBe(true);
    const norm = (s: string) => s.replace(/\r\n/g, '\n').split('\n').map((l) => l.trimEnd()).join('\n').trim();
    const entries = (JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as Entry[]).filter(
      (e) => e.file.startsWith('email_reply_trimmer/') || e.file.startsWith('talon/tests/fixtures/standard_replies/'),
    );
    let exact = 0;
    const missed: string[] = [];
    let total = 0;
    for (const e of entries) {
      // talon's standard replies without a *_reply_text file are asserted to strip to exactly "Hello"
      const expected = e.expected ? readFileSync(join(CORPUS, e.expected), 'utf8') : e.expected_note?.includes("'Hello'") ? 'Hello' : null;
      if (expected === null) continue;
      const raw = readFileSync(join(CORPUS, e.file));
      const text = e.file.endsWith('.eml') ? ((await simpleParser(raw)).text ?? '') : raw.toString('utf8');
      total++;
      if (norm(stripReply(text)) === norm(expected)) exact++;
      else missed.push(e.file);
    }
    console.log(`quote stripping: ${exact}/${total} stripped exactly (${((100 * exact) / total).toFixed(1)}%); missed: ${missed.join(', ')}`);
    expect(total).toBeGreaterThan(70);
    expect(exact / total).toBeGreaterThanOrEqual(0.9);
  });

  it('ownWords finds words in every fixture whose expected reply has a line of its own: no real reply is taken for a bare quote', async () => {
    const entries = (JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as Entry[]).filter(
      (e) => e.file.startsWith('email_reply_trimmer/') || e.file.startsWith('talon/tests/fixtures/standard_replies/'),
    );
    const refused: string[] = [];
    let withWords = 0;
    for (const e of entries) {
      const expected = e.expected ? readFileSync(join(CORPUS, e.expected), 'utf8') : e.expected_note?.includes("'Hello'") ? 'Hello' : null;
      if (expected === null || !expected.split('\n').some((l) => l.trim() !== '' && !/^\s*>/.test(l))) continue; // no words, or only a quote
      const raw = readFileSync(join(CORPUS, e.file));
      const text = e.file.endsWith('.eml') ? ((await simpleParser(raw)).text ?? '') : raw.toString('utf8');
      withWords++;
      if (ownWords(text) === '') refused.push(e.file);
    }
    expect(withWords).toBeGreaterThan(70);
    expect(refused).toEqual([]);
  });
});
