import { describe, expect, it } from 'vitest';
import { cleanSubject, extract } from '../../src/mail/extract';
import { parseMail } from '../../src/mail/parse-mail';
import { parseProfile } from '../../src/mail/profile-schema';
import { presetProfile } from '../../src/mail/profiles';
import { factsOf, fixture } from '../helpers/mail';

const values = (e: ReturnType<typeof extract>) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v!.value]));

describe('preset profiles', () => {
  it('whmcs: ticket from the subject tag, department from the From address and name, customer from the body', async () => {
    const e = extract(presetProfile('whmcs'), await parseMail(fixture('whmcs-new.eml')));
    expect(values(e)).toEqual({
      ticket: '482913',
      departmentId: 'support@billing.acme.example',
      departmentName: 'Technical Support',
      customerEmail: 'john@customer.example',
      customerName: 'John Doe',
    });
    expect(e.ticket!.source).toBe('subject /\\[Ticket ID: (?<value>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)\\]/');
  });

  it('whmcs: a closed ticket mail gives event closed', async () => {
    expect(extract(presetProfile('whmcs'), await parseMail(fixture('whmcs-closed.eml'))).event?.value).toBe('closed');
  });

  it('headers: every X- header, decoded, event mapped', async () => {
    const e = extract(presetProfile('headers'), await parseMail(fixture('billmgr-new.eml')));
    expect(values(e)).toEqual({
      ticket: '5521',
      departmentId: '12',
      departmentName: 'Техническая поддержка',
      event: 'new',
      customerEmail: 'Ivan@Client.example',
      customerName: 'Иван Петров',
    });
  });

  it('otrs: [Ticket#…] and the queue header', async () => {
    const facts = await factsOf({ From: 'otrs@help.example', Subject: 'RE: [Ticket#2024010110000012] Mail quota', 'X-OTRS-Queue': 'Hosting::Mail' });
    expect(values(extract(presetProfile('otrs'), facts))).toMatchObject({ ticket: '2024010110000012', departmentId: 'Hosting::Mail', departmentName: 'Hosting::Mail' });
  });

  it('blesta: Update to Ticket #NNNNNNN and the department from the body', async () => {
    const facts = await factsOf({ From: 'support@blesta.example', Subject: 'Update to Ticket #1234567' }, 'Department: Servers\nStatus: Open\n\nText.\n');
    expect(values(extract(presetProfile('blesta'), facts))).toMatchObject({ ticket: '1234567', departmentName: 'Servers', event: 'reply' });
  });

  it('the first extractor that yields wins; a map that does not match falls through', async () => {
    const profile = parseProfile(
      {
        name: 't',
        fields: {
          ticket: [{ from: 'header', name: 'X-None' }, { from: 'subject', pattern: '#(?<value>\\d+)' }, { from: 'body', pattern: '(?<value>\\d+)' }],
          event: [{ from: 'subject', pattern: '(?<value>done|resolved)', map: { resolved: 'closed' } }, { from: 'body', pattern: 'state=(?<value>\\w+)' }],
        },
      },
      't',
    );
    const e = extract(profile, await factsOf({ From: 'a@b.example', Subject: 'Done #77' }, 'state=reply 88\n'));
    expect(values(e)).toEqual({ ticket: '77', event: 'reply' });
    expect(e.event!.source).toBe('body /state=(?<value>\\w+)/');
  });

  it('an event value that is not new, reply or closed is ignored', async () => {
    const profile = parseProfile({ name: 't', fields: { event: [{ from: 'header', name: 'X-Event' }] } }, 't');
    expect(extract(profile, await factsOf({ From: 'a@b.example', 'X-Event': 'escalated' })).event).toBeUndefined();
  });
});

describe('cleanSubject', () => {
  it.each([
    ['whmcs', 'Re: [Ticket ID: 482913] Server down', 'Server down'],
    ['whmcs', 'RE: Fwd: [Ticket ID: 482913] Server down', 'Server down'],
    ['otrs', 'Ответ: [Ticket#2024010110000012] Почта', 'Почта'],
    ['otrs', 'AW: WG: [Ticket#2024010110000012]   Mail   quota', 'Mail quota'],
    ['headers', 'Re: Billing question', 'Billing question'],
  ])('%s: %j → %j', (profile, subject, expected) => {
    expect(cleanSubject(subject, presetProfile(profile))).toBe(expected);
  });
});
