import { describe, expect, it } from 'vitest';
import { parseMailboxUrl } from '../../src/ingest/mailbox-spec';

describe('parseMailboxUrl', () => {
  it.each([
    ['imap://bridge:pw@127.0.0.1:1143/INBOX', { key: 'bridge@127.0.0.1:1143/INBOX', host: '127.0.0.1', port: 1143, secure: false, user: 'bridge', password: 'pw', mailbox: 'INBOX' }],
    ['imaps://support%40example.com:app%20pass@imap.gmail.com', { key: 'support@example.com@imap.gmail.com:993/INBOX', port: 993, secure: true, user: 'support@example.com', password: 'app pass' }],
    ['imap://u:p@[::1]/Support%2FTickets', { key: 'u@[::1]:143/Support/Tickets', host: '::1', port: 143, mailbox: 'Support/Tickets' }],
    ['imap://u:p@mail.example/', { key: 'u@mail.example:143/INBOX', mailbox: 'INBOX' }],
  ])('%s', (url, expected) => {
    expect(parseMailboxUrl(url)).toMatchObject(expected);
  });

  it('the key never carries the password', () => {
    expect(parseMailboxUrl('imap://bridge:hunter2@h/INBOX').key).not.toContain('hunter2');
  });
});
