// WHMCS ticket masks are configurable (letters, digits, dashes); the preset
// took only six characters, so `[Ticket ID: ACM-662002]` or `4829131` were
// parked_unparsed. And `profile test` shows each extractor it tried.
import { describe, expect, it } from 'vitest';
import { extract, traceExtraction } from '../../src/mail/extract';
import { presetProfile } from '../../src/mail/profiles';
import { factsOf } from '../helpers/mail';

const from = '"Technical Support" <support@billing.acme.example>';

describe('the whmcs preset reads every WHMCS ticket mask', () => {
  it.each([
    ['[Ticket ID: 482913] Server down', '482913'],
    ['[Ticket ID: 4829131] Server down', '4829131'],
    ['[Ticket ID: ACM-662002] Server down', 'ACM-662002'],
    ['Re: [Ticket ID: XK7-QP2-91] Disk', 'XK7-QP2-91'],
  ])('%s → %s', async (subject, ticket) => {
    expect(extract(presetProfile('whmcs'), await factsOf({ From: from, Subject: subject })).ticket?.value).toBe(ticket);
  });

  it.each(['[Ticket ID: ] x', '[Ticket ID: -12] x', '[Ticket ID: 12 34] x'])('%s has no ticket id', async (subject) => {
    expect(extract(presetProfile('whmcs'), await factsOf({ From: from, Subject: subject })).ticket).toBeUndefined();
  });
});

describe('traceExtraction', () => {
  it('lists the extractors tried in order with what each matched, stopping at the winner', async () => {
    const facts = await factsOf({ From: from, Subject: '[Ticket ID: 77] Closed' }, 'Status: Closed\n');
    const tried = traceExtraction(presetProfile('whmcs'), facts);
    expect(tried.ticket).toEqual([{ extractor: expect.stringContaining('subject /\\[Ticket ID:'), matched: '77' }]);
    expect(tried.event).toEqual([
      { extractor: expect.stringContaining('subject /(?<value>Ticket Closed'), matched: null },
      { extractor: expect.stringContaining('body /'), matched: 'closed' },
    ]);
    expect(tried.customerEmail).toEqual([{ extractor: expect.stringContaining('body /'), matched: null }]);
  });
});
