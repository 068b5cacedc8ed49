// Per-recipient send results as a table (send-outcome.ts): who got the mail,
// who is retried alone, who is reported, and when the row is sent or dead.
import { describe, expect, it } from 'vitest';
import { sendOutcome, type Refusal } from '../../src/outbound/send-outcome';

const now = new Date('2026-11-30T12:00:00Z');
const context = { to: ['a@x', 'b@x', 'c@x'], attempts: 0, now, deadline: new Date(now.getTime() + 3600_000), schedule: [60_000] };
const r = (recipient: string, responseCode: number): Refusal => ({ recipient, responseCode, response: `${responseCode} no` });

describe('sendOutcome', () => {
  it.each([
    ['all accepted', [], { state: 'sent' }],
    ['one refused for good, the rest accepted', [r('c@x', 550)], { state: 'sent', note: 'delivered to a@x, b@x; refused for good: c@x (550 no)' }],
    ['one refused for now: retried alone', [r('b@x', 451)], { state: 'queued', to: ['b@x'], error: 'attempt 1: delivered to a@x, c@x; deferred: b@x (451 no)' }],
    ['503 is a hiccup, not a verdict', [r('b@x', 503)], { state: 'queued', to: ['b@x'] }],
  ])('%s', (_name, refusals, expected) => {
    expect(sendOutcome(context, refusals as Refusal[])).toMatchObject(expected);
  });

  it('every recipient refused, some for now and some for good: the deferred ones are retried, the others reported', () => {
    const out = sendOutcome(context, [r('a@x', 550), r('b@x', 451), r('c@x', 452)], { responseCode: 451, message: 'all recipients were rejected' });
    expect(out).toMatchObject({ state: 'queued', to: ['b@x', 'c@x'], error: expect.stringContaining('refused for good: a@x (550 no)') });
  });

  it('every recipient refused for good: dead', () => {
    expect(sendOutcome(context, [r('a@x', 550), r('b@x', 550), r('c@x', 550)], { responseCode: 550, message: 'all recipients were rejected' })).toMatchObject({ state: 'dead' });
  });

  it('a recipient refused for now past the deadline: dead, saying who got it', () => {
    const late = { ...context, deadline: new Date(now.getTime() + 1000) };
    expect(sendOutcome(late, [r('b@x', 451)])).toMatchObject({ state: 'dead', error: expect.stringMatching(/past the deadline; delivered to a@x, c@x; deferred: b@x/) });
  });

  it('no reply at all (connection refused): the whole row is retried', () => {
    expect(sendOutcome(context, [], { code: 'ECONNECTION', message: 'connect ECONNREFUSED' })).toMatchObject({ state: 'queued', error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
