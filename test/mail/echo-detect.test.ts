// Echo recognition over the mail forms systems really send back: RT's
// "Admin Correspondence" (URL line, then the content), its HTML template
// turned to text (rewrapped), a Znuny-style wrapper, and customer replies
// that quote our relay (with > lines, or Outlook's header block).
import { describe, expect, it } from 'vitest';
import { carriesRelayedText, relayReferences } from '../../src/mail/echo-detect';

const RELAYED = 'Hello John,\nwe restarted the mail service; please try again now.';

describe('echo of a relay', () => {
  it.each([
    ['RT Admin Correspondence (text template)', '<URL: http://rt.example/Ticket/Display.html?id=7 >\n\nHello John,\nwe restarted the mail service; please try again now.\n\nAnna Staff\n', true],
    ['RT HTML template as text, rewrapped', 'Hello John, we restarted the mail\nservice; please try again now.\n\nAnna Staff\n\n---\nTicket URL: http://rt.example/Ticket/Display.html?id=7\n', true],
    ['Znuny-style wrapper with a signature after', 'Dear customer,\n\nHello John,\r\nwe restarted the mail service;   please try again now.\r\n\r\n-- \r\nYour Znuny Helpdesk\r\n', true],
    ['customer reply quoting the relay with >', 'Thanks, it works now.\n\nOn Mon, Nov 30, 2026 at 10:00 AM Anna Staff via Hosting <rt@rt.example> wrote:\n> Hello John,\n> we restarted the mail service; please try again now.\n', false],
    ['customer reply under an Outlook header block', 'Still broken.\n\nFrom: Anna Staff via Hosting <rt@rt.example>\nSent: Monday, November 30, 2026 10:00\nTo: john@customer.example\nSubject: RE: [rt.example #7] Mail is down\n\nHello John,\nwe restarted the mail service; please try again now.\n', false],
    ['customer reply that only quotes', '> Hello John,\n> we restarted the mail service; please try again now.\n', false],
    ['different words on the same ticket', '<URL: http://rt.example/Ticket/Display.html?id=7 >\n\nThe disk is full again.\n', false],
  ])('%s → %s', (_form, text, echo) => {
    expect(carriesRelayedText(text, RELAYED)).toBe(echo);
  });

  it('an empty relayed text proves nothing', () => {
    expect(carriesRelayedText('anything at all', ' \n ')).toBe(false);
  });

  it('names only our relay and close Message-IDs, not our notifications or anyone else', () => {
    expect(
      relayReferences({
        inReplyTo: '<deskbridge.r.7.0a1b2c@support.example>',
        references: ['<rt-5.0.3-1-2@rt.example>', '<deskbridge.n.7.ffee@support.example>', '<deskbridge.c.7.99aa@support.example>', '<deskbridge.r.7.0a1b2c@support.example>'],
      }),
    ).toEqual(['<deskbridge.r.7.0a1b2c@support.example>', '<deskbridge.c.7.99aa@support.example>']);
    expect(relayReferences({ inReplyTo: null, references: [] })).toEqual([]);
  });
});
