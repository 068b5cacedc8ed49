// RFC 8601 parsing and the choice of the one A-R header we trust.
import { describe, expect, it } from 'vitest';
import { parseAuthResults, trustedAuthResults } from '../../src/auth/auth-results';
import { headerLines } from '../../src/auth/header-lines';

describe('Authentication-Results parsing', () => {
  it('reads a Gmail header, folded, with comments', () => {
    const raw = Buffer.from(
      'Authentication-Results: mx.google.com;\r\n' +
        '       dkim=pass header.i=@bill.example header.s=s1 header.b=abc (2048-bit key; unprotected);\r\n' +
        '       spf=pass (google.com: domain of bounce+x=y@mail.bill.example designates 1.2.3.4 as permitted sender) smtp.mailfrom="bounce+x=y@mail.bill.example";\r\n' +
        '       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=bill.example\r\n' +
        'Subject: x\r\n\r\nbody',
    );
    const [line] = headerLines(raw);
    expect(parseAuthResults(line!.value)).toEqual({
      authservId: 'mx.google.com',
      results: [
        { method: 'dkim', result: 'pass', props: { 'header.i': '@bill.example', 'header.s': 's1', 'header.b': 'abc' } },
        { method: 'spf', result: 'pass', props: { 'smtp.mailfrom': 'bounce+x=y@mail.bill.example' } },
        { method: 'dmarc', result: 'pass', props: { 'header.from': 'bill.example' } },
      ],
    });
  });

  it('handles a version, nested comments, an unquoted SRS address, `none` and a reason', () => {
    expect(parseAuthResults('MX.Example.ORG 1 (comment (nested) \\) here); none')).toEqual({ authservId: 'mx.example.org', results: [] });
    expect(parseAuthResults('mx.example.org; spf=pass smtp.mailfrom=SRS0=ab=cd=bill.example=user@fwd.example; dkim/1=fail reason="bad; sig" header.d=x.example')).toEqual({
      authservId: 'mx.example.org',
      results: [
        { method: 'spf', result: 'pass', props: { 'smtp.mailfrom': 'SRS0=ab=cd=bill.example=user@fwd.example' } },
        { method: 'dkim', result: 'fail', props: { reason: 'bad; sig', 'header.d': 'x.example' } },
      ],
    });
  });

  it('a comment hiding a result is not a result; an unterminated comment is no header at all', () => {
    expect(parseAuthResults('mx.example.org; (dkim=pass header.d=bill.example) dkim=fail header.d=bill.example')!.results).toEqual([{ method: 'dkim', result: 'fail', props: { 'header.d': 'bill.example' } }]);
    expect(parseAuthResults('mx.example.org; dkim=pass (oops')).toBeNull();
    expect(parseAuthResults('spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=bill.example; dmarc=pass header.from=bill.example')).toBeNull();
  });
});

describe('the trusted header', () => {
  const ours = 'mx.support.example; dkim=fail header.d=bill.example; dmarc=fail header.from=bill.example';
  const forged = 'mx.support.example; dkim=pass header.d=bill.example; dmarc=pass header.from=bill.example';
  it('is the topmost one with our authserv-id (any case); a forged copy below it is ignored', () => {
    expect(trustedAuthResults([ours, forged], ['MX.Support.Example'])!.results[0]!.result).toBe('fail');
  });
  it('an A-R header of another authserv-id is never trusted, even on top', () => {
    expect(trustedAuthResults(['mx.attacker.example; dmarc=pass header.from=bill.example', ours], ['mx.support.example'])!.results[1]!.result).toBe('fail');
    expect(trustedAuthResults(['mx.attacker.example; dmarc=pass header.from=bill.example'], ['mx.support.example'])).toBeNull();
  });
  it('nothing is trusted without a configured authserv-id', () => {
    expect(trustedAuthResults([forged], [])).toBeNull();
  });
});

describe('headerLines', () => {
  const names = (raw: string) => headerLines(Buffer.from(raw)).map((l) => `${l.name}=${l.value}`);
  it('reads the header block only, up to the first empty line, with CRLF, LF or mixed line ends', () => {
    expect(names('From: a@x\r\nSubject: s\r\n  folded\r\n\r\nFrom: body@x\r\n')).toEqual(['from=a@x', 'subject=s  folded']);
    expect(names('From: a@x\nSubject: s\n\nFrom: body@x\n')).toEqual(['from=a@x', 'subject=s']);
    expect(names('From: a@x\r\nSubject: s\n\r\nFrom: body@x\n')).toEqual(['from=a@x', 'subject=s']);
    expect(names('From: a@x\r\nSubject: s\r\n')).toEqual(['from=a@x', 'subject=s']); // no body
    expect(names('From: a@x')).toEqual(['from=a@x']);
  });
});
