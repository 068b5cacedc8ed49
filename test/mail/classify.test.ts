import { describe, expect, it } from 'vitest';
import { classify } from '../../src/mail/classify';
import { parseMail } from '../../src/mail/parse-mail';
import { factsOf, fixture } from '../helpers/mail';

const systems = [
  { id: 1, slug: 'acme', from: ['@billing.acme.example'], enabled: true },
  { id: 2, slug: 'billmgr', from: ['noreply@bill.example'], enabled: true },
  { id: 3, slug: 'old', from: ['@old.example'], enabled: false },
];
const ctx = { systems, bridgeAddress: 'bridge@support.example' };

type Case = [string, Record<string, string>, string, string?];

const cases: Case[] = [
  // sender allowlist
  ['exact address of a system', { From: 'noreply@bill.example' }, 'notification:billmgr'],
  ['address in an @domain entry', { From: 'Support <support@billing.acme.example>' }, 'notification:acme'],
  ['a subdomain is not the domain', { From: 'x@eu.billing.acme.example' }, 'rejected_sender'],
  ['display name that looks allowed', { From: '"noreply@bill.example" <evil@attacker.example>' }, 'rejected_sender'],
  ['a disabled system still names its sender (decide parks the mail as parked_disabled)', { From: 'a@old.example' }, 'notification:old'],
  ['no From at all', { Subject: 'hi' }, 'rejected_sender', 'no From address'],
  // a known system's notification is automatic by nature
  ['system mail with Auto-Submitted: auto-generated', { From: 'noreply@bill.example', 'Auto-Submitted': 'auto-generated' }, 'notification:billmgr'],
  ['system mail with Precedence: bulk', { From: 'noreply@bill.example', Precedence: 'bulk' }, 'notification:billmgr'],
  ['system mail with a vacation-like subject alone', { From: 'noreply@bill.example', Subject: 'Out of Office hours changed' }, 'notification:billmgr'],
  ['system mail with Auto-Submitted: auto-replied', { From: 'noreply@bill.example', 'Auto-Submitted': 'auto-replied', Subject: 'Out of Office' }, 'auto_reply', 'Auto-Submitted: auto-replied'],
  ['system mail with X-Autoreply', { From: 'noreply@bill.example', 'X-Autoreply': 'yes' }, 'auto_reply'],
  ['system reply with empty Return-Path', { From: 'noreply@bill.example', 'Return-Path': '<>', 'In-Reply-To': '<a@b>' }, 'auto_reply', 'empty Return-Path on a reply'],
  // other senders: the weaker signs count too
  ['staff out-of-office via Auto-Submitted: auto-generated', { From: 'anna@support.example', 'Auto-Submitted': 'auto-generated' }, 'auto_reply'],
  ['Auto-Submitted: no is a person', { From: 'anna@support.example', 'Auto-Submitted': 'no', To: 'bridge+1-x@support.example' }, 'staff_reply'],
  ['Precedence: junk', { From: 'x@else.example', Precedence: 'junk' }, 'auto_reply', 'Precedence: junk'],
  ['Precedence: list', { From: 'x@else.example', Precedence: 'list' }, 'auto_reply'],
  ['X-Autorespond', { From: 'x@else.example', 'X-Autorespond': 'Vacation' }, 'auto_reply'],
  ['X-Autoreply: no is not one', { From: 'x@else.example', 'X-Autoreply': 'no' }, 'rejected_sender'],
  ...(
    [
      'Out of Office: Re: [DB#5] Server down',
      'Automatic reply: [DB#5] Server down',
      'AUTO: Smith, John is out of the office. (returning 05/01/2010)',
      'Автоответ: [DB#5] Сервер',
      'Abwesenheitsnotiz: Server down',
      'Réponse automatique : Server down',
      '[Automatyczna odpowiedź] test',
      'Auto reply: Nyaan',
      'Away until May 5',
      'Re:   blah blah blah (Automatic Response)',
    ] as const
  ).map((subject): Case => [`vacation subject "${subject}"`, { From: 'anna@support.example', Subject: subject }, 'auto_reply', 'vacation subject']),
  // own mail and staff replies
  ['our loop header', { From: 'bridge@support.example', 'X-Deskbridge-Loop': 'node-1' }, 'own_mail'],
  ['loop header wins over a system sender', { From: 'noreply@bill.example', 'X-Deskbridge-Loop': 'node-1' }, 'own_mail'],
  ['to a token address', { From: 'anna@support.example', To: 'Bridge <bridge+42-k3j4@support.example>' }, 'staff_reply'],
  ['to the plain bridge address', { From: 'anna@support.example', To: 'bridge@support.example' }, 'rejected_sender'],
  ['token in another domain', { From: 'anna@support.example', To: 'bridge+42-x@else.example' }, 'rejected_sender'],
];

const summary = (c: ReturnType<typeof classify>): string =>
  c.kind === 'notification' ? `notification:${c.system.slug}` : c.kind;

describe('classify (table)', () => {
  it.each(cases)('%s', async (_name, headers, expected, reason) => {
    const verdict = classify(await factsOf(headers), ctx);
    expect(summary(verdict)).toBe(expected);
    if (reason) expect((verdict as { reason?: string }).reason).toBe(reason);
  });
});

describe('classify (fixtures)', () => {
  it('a DSN is a bounce, names the original Message-ID, and beats its own Auto-Submitted', async () => {
    const verdict = classify(await parseMail(fixture('dsn-for-outbox.eml')), ctx);
    expect(verdict).toMatchObject({ kind: 'bounce', originalMessageId: '<relay-42@support.example>' });
  });

  it('a non-standard bounce: mailer-daemon sender with a DSN-like body', async () => {
    const facts = await factsOf({ From: 'MAILER-DAEMON@mx.example', Subject: 'failure notice' }, "Hi. This is the qmail-send program.\nI'm afraid I wasn't able to deliver your message.\n<x@y.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n");
    expect(classify(facts, ctx).kind).toBe('bounce');
  });

  it('a delivery-status part inside multipart/mixed (a mail gateway\'s report) is a bounce from any sender', async () => {
    const verdict = classify(await parseMail(fixture('dsn-gateway-mixed.eml')), ctx);
    expect(verdict).toMatchObject({ kind: 'bounce', originalMessageId: '<relay-77@support.example>' });
  });

  it('a mailer-daemon sender without a DSN-like body is not a bounce', async () => {
    const facts = await factsOf({ From: 'postmaster@mx.example', Subject: 'Welcome' }, 'Your mailbox is ready.\n');
    expect(classify(facts, ctx).kind).toBe('rejected_sender');
  });

  it.each([
    ['staff-out-of-office.eml', 'auto_reply'],
    ['spoofed-display-name.eml', 'rejected_sender'],
    ['own-mail.eml', 'own_mail'],
    ['system-vacation-subject.eml', 'notification:acme'],
    ['system-auto-replied.eml', 'auto_reply'],
    ['staff-token-reply.eml', 'staff_reply'],
    ['whmcs-new.eml', 'notification:acme'],
  ])('%s → %s', async (file, expected) => {
    expect(summary(classify(await parseMail(fixture(file)), ctx))).toBe(expected);
  });
});
