import { mkdtempSync, mkdirSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/outbound/delivery-error';
import { DEFAULT_TEMPLATES_DIR, loadTemplates, SAMPLES } from '../../src/outbound/render';
import { makeToken, replyAddress, tokenOf, verifyToken, withoutTokens } from '../../src/outbound/reply-token';

describe('reply tokens', () => {
  const secret = 'a-secret-of-some-length';
  const anna = 'anna@support.example';
  it('round-trip for the staff address they were issued to, survive case folding, and name their ticket', () => {
    const token = makeToken(4711, anna, secret);
    expect(token).toMatch(/^4711-[a-z2-7]{12}$/);
    expect(verifyToken(token, anna, secret)).toBe(4711);
    expect(verifyToken(token.toUpperCase(), 'Anna@Support.Example', secret)).toBe(4711);
    const address = replyAddress('Bridge@Support.example', token);
    expect(tokenOf(address.toUpperCase(), 'bridge@support.example')).toBe(token);
  });
  it.each([
    ['another ticket id with this MAC', (t: string) => t.replace(/^4711/, '4712')],
    ['a changed MAC', (t: string) => `${t.slice(0, -1)}${t.endsWith('a') ? 'b' : 'a'}`],
    ['a shortened MAC', (t: string) => t.slice(0, -2)],
    ['no MAC', () => '4711'],
    ['garbage', () => 'x-y-z'],
  ])('refuses %s', (_name, mangle) => {
    expect(verifyToken(mangle(makeToken(4711, anna, secret)), anna, secret)).toBeNull();
  });
  it('refuses a token made with another secret, or issued to another staff address', () => {
    expect(verifyToken(makeToken(4711, anna, 'another-secret-entirely'), anna, secret)).toBeNull();
    expect(verifyToken(makeToken(4711, 'bob@support.example', secret), anna, secret)).toBeNull();
  });
  it('several keys: the first signs, every one verifies; a dropped key no longer does', () => {
    const old = 'the-old-key-0123456789';
    const fresh = 'the-new-key-9876543210';
    const inFlight = makeToken(4711, anna, old);
    expect(verifyToken(inFlight, anna, `${fresh} ${old}`)).toBe(4711);
    expect(makeToken(4711, anna, `${fresh} ${old}`)).toBe(makeToken(4711, anna, fresh));
    expect(verifyToken(inFlight, anna, fresh)).toBeNull();
  });
});

describe('withoutTokens: reply-token addresses in text relayed out', () => {
  const B = 'desk@bridge.example';
  it.each([
    ['write to desk+1-abc@bridge.example.', 'write to desk@bridge.example.'],
    ['(desk+1-abc@bridge.example)', '(desk@bridge.example)'],
    ['<DESK+1-ABC@BRIDGE.EXAMPLE>;', '<desk@bridge.example>;'],
  ])('%j becomes %j', (text, expected) => {
    expect(withoutTokens(text, B)).toBe(expected);
  });
  it.each(['helpdesk+x@bridge.example', 'desk+t@bridge.example.org', 'desk+t@sub.bridge.example', 'desk@bridge.example'])('%j, another address, is left as it is', (text) => {
    expect(withoutTokens(text, B)).toBe(text);
  });
  it('a bridge address with regular-expression characters is matched literally', () => {
    expect(withoutTokens('a.b+1-x@c.d and aXb+1-x@cXd', 'a.b@c.d')).toBe('a.b@c.d and aXb+1-x@cXd');
  });
});

describe('delivery-error decide', () => {
  const now = new Date('2026-11-26T10:00:00Z');
  const deadline = new Date('2026-11-27T10:00:00Z');
  it.each([
    [{ responseCode: 451, message: 'try later' }, 1, 'retry', 60_000],
    [{ responseCode: 421, message: 'closing' }, 2, 'retry', 5 * 60_000],
    [{ message: 'connect ECONNREFUSED' }, 3, 'retry', 15 * 60_000],
    [{ responseCode: 503, message: 'bad sequence' }, 4, 'retry', 60 * 60_000],
    [{ responseCode: 452, message: 'full' }, 9, 'retry', 60 * 60_000],
    [{ responseCode: 550, message: 'no such user' }, 1, 'dead', null],
    [{ responseCode: 554, message: 'rejected' }, 1, 'dead', null],
    [{ responseCode: 535, code: 'EAUTH', message: 'Invalid login' }, 1, 'retry', 60_000],
  ] as const)('%o after attempt %i → %s', (failure, attempts, action, waitMs) => {
    const v = decide(failure, attempts, now, deadline);
    expect(v.action).toBe(action);
    if (v.action === 'retry') expect(v.at.getTime() - now.getTime()).toBe(waitMs);
  });
  it('a retry that would fall after the deadline is dead', () => {
    expect(decide({ responseCode: 451, message: 'x' }, 5, now, new Date(now.getTime() + 30 * 60_000))).toMatchObject({ action: 'dead', reason: expect.stringMatching(/past the deadline/) });
  });
});

describe('templates', () => {
  const copy = () => {
    const dir = mkdtempSync(join(tmpdir(), 'deskbridge-templates-'));
    cpSync(DEFAULT_TEMPLATES_DIR, dir, { recursive: true });
    return dir;
  };
  it('the shipped templates compile and render; data that looks like a template stays text; HTML is escaped', () => {
    const t = loadTemplates();
    const out = t.render('notification', { ...SAMPLES.notification, message: { ...SAMPLES.notification.message!, html: '', text: 'Hi {{ticket.id}} <script>x</script>' } });
    expect(out.text).toContain('Hi {{ticket.id}} <script>x</script>');
    expect(out.html).toContain('Hi {{ticket.id}} &lt;script&gt;x&lt;/script&gt;');
  });
  it('an unknown variable stops loading, naming the file and the line', () => {
    const dir = copy();
    writeFileSync(join(dir, 'relay.txt.hbs'), 'Hello\n{{reply.text}}\n{{staff.nmae}}\n');
    expect(() => loadTemplates(dir).check()).toThrow(/relay\.txt\.hbs line 3: "nmae" not defined/);
  });
  it('a bad template fails where it is used: other templates still render, check() and a render of it name the file', () => {
    const dir = copy();
    writeFileSync(join(dir, 'relay.txt.hbs'), 'Hello\n{{staff.nmae}}\n');
    const t = loadTemplates(dir);
    expect(t.render('notification', SAMPLES.notification).text).toContain(SAMPLES.notification.ticket!.subject);
    expect(() => t.render('relay', SAMPLES.relay)).toThrow(/relay\.txt\.hbs line 2: "nmae" not defined/);
    expect(() => t.check()).toThrow(/relay\.txt\.hbs line 2/);
  });
  it('a syntax error stops loading, naming the file and the line', () => {
    const dir = copy();
    writeFileSync(join(dir, 'close.html.hbs'), '<p>\n{{#if reply.text}}\n</p>\n');
    expect(() => loadTemplates(dir).check()).toThrow(/close\.html\.hbs.*line \d/);
  });
  it('a system folder overrides a template for that system only', () => {
    const dir = copy();
    mkdirSync(join(dir, 'systems', 'acme'), { recursive: true });
    writeFileSync(join(dir, 'systems', 'acme', 'relay.txt.hbs'), 'ACME: {{reply.text}}');
    const t = loadTemplates(dir);
    expect(t.render('relay', { ...SAMPLES.relay, ticket: { ...SAMPLES.relay.ticket!, system: 'acme' } }).text).toBe('ACME: t');
    expect(t.render('relay', SAMPLES.relay).text).not.toContain('ACME');
  });
  it('a relay subject loses CR and LF, whatever the data', () => {
    expect(loadTemplates().subject('Re: [Ticket ID: {{remoteTicketId}}] {{subject}}', { remoteTicketId: '12', subject: 'a\r\nBcc: x@evil' })).toBe('Re: [Ticket ID: 12] a Bcc: x@evil');
  });
});
