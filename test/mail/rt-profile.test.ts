// The rt preset over mails a real RT 5.0.3 (Debian, stock templates and
// scrips) sent to the bridge as queue AdminCc, captured by scripts/rt.ts:
// the create notification ("Transaction in HTML": Queue and Requestors in a
// table RT turns into `>>>  Queue:  support` lines), a correspond
// notification that names no queue, and the On Resolve notice.
import { describe, expect, it } from 'vitest';
import { carriesRelayedText, relayReferences } from '../../src/mail/echo-detect';
import { extract } from '../../src/mail/extract';
import { parseMail } from '../../src/mail/parse-mail';
import { presetProfile } from '../../src/mail/profiles';
import { fixture } from '../helpers/mail';

const values = (e: ReturnType<typeof extract>) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v!.value]));

describe('rt preset on real RT mail', () => {
  it('create: ticket from X-RT-Ticket, queue from the correspond address and the Queue: line, requestor, customer name', async () => {
    expect(values(extract(presetProfile('rt'), await parseMail(fixture('rt-create.eml'))))).toEqual({
      ticket: 'rt.test #1',
      departmentId: 'support@rt.test',
      departmentName: 'support',
      customerEmail: 'john@customer.test',
      customerName: 'John Customer',
      subject: 'Mail is down',
    });
  });

  it('the subject tag alone gives the same ticket ID', async () => {
    const facts = await parseMail(fixture('rt-create.eml'));
    const withoutHeader = { ...facts, headers: new Map([...facts.headers].filter(([k]) => k !== 'x-rt-ticket')) };
    expect(extract(presetProfile('rt'), withoutHeader as typeof facts).ticket).toEqual({ value: 'rt.test #1', source: expect.stringMatching(/^subject/) });
  });

  it('correspond: the same ticket, the queue address, no queue name (it must follow the ticket)', async () => {
    const e = values(extract(presetProfile('rt'), await parseMail(fixture('rt-correspond.eml'))));
    expect(e).toMatchObject({ ticket: 'rt.test #1', departmentId: 'support@rt.test' });
    expect(e.departmentName).toBeUndefined();
    expect(e.event).toBeUndefined();
  });

  it('the On Resolve notice is event closed', async () => {
    expect(extract(presetProfile('rt'), await parseMail(fixture('rt-resolved.eml'))).event?.value).toBe('closed');
  });

  it("RT's copy of our relay (NotifyActor) is an echo; a customer's reply through RT quoting it is not", async () => {
    const relayed = 'We restarted the mail service; please try again now.';
    const echo = await parseMail(fixture('rt-echo.eml'));
    expect(relayReferences(echo)).toEqual([expect.stringMatching(/^<deskbridge\.r\.1\./)]);
    expect(carriesRelayedText(echo.text, relayed)).toBe(true);
    const reply = await parseMail(fixture('rt-customer-reply.eml'));
    expect(reply.text).toContain('> We restarted the mail service');
    expect(carriesRelayedText(reply.text, relayed)).toBe(false);
  });
});
