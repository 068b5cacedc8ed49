// Bounces by structure (issue 10, defects 3 and 4), and the text clean-up of
// parse-mail (defect 6): what a person checking the bridge would look at.
import { describe, expect, it } from 'vitest';
import { detectBounce, readDeliveryStatus } from '../../src/mail/bounce-detect';
import { classify } from '../../src/mail/classify';
import { parseMail } from '../../src/mail/parse-mail';
import { dsn, whmcsQuotingDsn, whmcsWithAttachedBounce } from '../helpers/hostile-mail';
import { fixture, rawMail } from '../helpers/mail';

const ctx = { systems: [{ id: 1, slug: 'acme', from: ['@billing.acme.example'], enabled: true }], bridgeAddress: 'bridge@support.example' };

describe('bounces by structure', () => {
  it('a notification carrying a customer bounce as an attached message is a notification', async () => {
    expect(classify(await parseMail(whmcsWithAttachedBounce()), ctx).kind).toBe('notification');
  });

  it('a notification whose text quotes a DSN header is a notification', async () => {
    expect(classify(await parseMail(whmcsQuotingDsn()), ctx).kind).toBe('notification');
  });

  it('a standard report is a bounce naming the failed recipient', async () => {
    const v = detectBounce(await parseMail(dsn('<relay-1@support.example>', [['staff@support.example', 'failed', '5.1.1']])));
    expect(v).toMatchObject({ bounce: true, delayed: false, originalMessageId: '<relay-1@support.example>' });
    expect(v.failed.map((r) => r.recipient)).toEqual(['staff@support.example']);
  });

  it('Action: delayed is a bounce with "delayed" in the reason, not a failure', async () => {
    const verdict = classify(await parseMail(dsn('<relay-2@support.example>', [['staff@support.example', 'delayed', '4.4.7']], 'Delayed Mail (still being retried)')), ctx);
    expect(verdict).toMatchObject({ kind: 'bounce', delayed: true, failedRecipients: [] });
    expect(verdict.kind === 'bounce' && verdict.reason).toMatch(/delayed/);
  });

  it('a report on several recipients names only the one that failed', async () => {
    const v = detectBounce(await parseMail(dsn('<relay-3@support.example>', [['a@support.example', 'delayed', '4.4.1'], ['b@support.example', 'failed', '5.2.2'], ['c@support.example', 'delivered', '2.0.0']])));
    expect(v.delayed).toBe(false);
    expect(v.failed).toEqual([{ recipient: 'b@support.example', action: 'failed', status: '5.2.2' }]);
  });

  it('reads folded and bracketed recipient fields', () => {
    expect(readDeliveryStatus('Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822;\r\n <A@B.example>\r\nAction: Failed\r\nStatus: 5.0.0 (permanent)\r\n')).toEqual([{ recipient: 'a@b.example', action: 'failed', status: '5.0.0' }]);
  });

  it('the old fixtures still classify: a gateway-wrapped report is a bounce', async () => {
    expect(detectBounce(await parseMail(fixture('dsn-gateway-mixed.eml'))).bounce).toBe(true);
    expect(detectBounce(await parseMail(fixture('dsn-for-outbox.eml'))).failed.map((r) => r.recipient)).toEqual(['nobody@billing.acme.example']);
  });
});

describe('clean text from parsed structure', () => {
  it('ISO-2022-JP decoded correctly leaves no unknown-charset note; a charset named only in the text is no charset', async () => {
    const jp = Buffer.concat([
      Buffer.from('From: a@x.example\r\nSubject: jp\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n'),
      Buffer.from([0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42, 0x0d, 0x0a]),
    ]);
    const facts = await parseMail(jp);
    expect(facts.text).toContain('日本');
    expect(facts.charsetProblems).toEqual([]);
    expect((await parseMail(rawMail({ From: 'a@x.example' }, 'set charset=foo in your config\n'))).charsetProblems).toEqual([]);
    expect((await parseMail(rawMail({ From: 'a@x.example', 'Content-Type': 'text/plain; charset=x-no-such-charset' }))).charsetProblems).toEqual(['x-no-such-charset']);
  });

  it('CR, LF and control characters from encoded words do not reach names and subjects', async () => {
    const facts = await parseMail(
      rawMail({ From: '=?utf-8?B?RXZpbA0KQmNjOiB4QHkgG1szMW0=?= <evil@x.example>', Subject: '=?utf-8?Q?Hello=0D=0AX-Injected:_1=1B[2J?=' }),
    );
    expect(facts.fromName).toBe('Evil Bcc: x@y [31m');
    expect(facts.subject).toBe('Hello X-Injected: 1 [2J');
  });
});
