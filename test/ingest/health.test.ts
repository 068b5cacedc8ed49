import { describe, expect, it } from 'vitest';
import { CONNECT_GRACE_MS, DOWN_LIMIT_MS, healthOf, problemOf, RETRY_GRACE_MS, STALL_LIMIT_MS, type MailboxProgress, type MailboxState } from '../../src/ingest/health';

const now = 10_000_000;
const reconnecting = (over: Partial<Extract<MailboxState, { status: 'reconnecting' }>> = {}): MailboxState => ({
  status: 'reconnecting',
  since: now - 1_000,
  downSince: now - 5_000,
  retryAt: now + 2_000,
  error: 'connect ECONNREFUSED',
  authFailed: false,
  ...over,
});

describe('problemOf', () => {
  it.each<[string, MailboxState, RegExp | null]>([
    ['connected', { status: 'connected', since: now - 1 }, null],
    ['standby behind another process', { status: 'standby', since: now - 1, holder: 'b:1:x' }, null],
    ['connecting for a moment', { status: 'connecting', since: now - 1_000 }, null],
    ['connecting for too long', { status: 'connecting', since: now - CONNECT_GRACE_MS - 1 }, /still connecting/],
    ['reconnecting within its backoff', reconnecting(), null],
    ['login refused', reconnecting({ authFailed: true, error: 'Authentication failed.' }), /login refused \(Authentication failed\.\)/],
    ['down too long', reconnecting({ downSince: now - DOWN_LIMIT_MS - 1 }), /down for 15 min/],
    ['retry overdue', reconnecting({ retryAt: now - RETRY_GRACE_MS - 1 }), /reconnect overdue/],
  ])('%s', (_name, state, expected) => {
    const problem = problemOf('bridge@h:143/INBOX', state, now);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });
});

describe('healthOf', () => {
  it('is ok only when no mailbox has a problem, and names the ones that do', () => {
    const states = new Map<string, MailboxState>([
      ['good@h:143/INBOX', { status: 'connected', since: now }],
      ['bad@h:143/INBOX', reconnecting({ authFailed: true })],
    ]);
    const health = healthOf(states, now);
    expect(health.ok).toBe(false);
    expect(health.problems).toEqual([expect.stringMatching(/^bad@h:143\/INBOX: login refused/)]);
    states.delete('bad@h:143/INBOX');
    expect(healthOf(states, now)).toEqual({ ok: true, problems: [] });
  });
});

describe('health is progress', () => {
  const progress = (over: Partial<MailboxProgress> = {}): MailboxProgress => ({ waiting: 3, oldestWaitingAt: now - 60_000, lastProgressAt: now - STALL_LIMIT_MS - 1, ...over });
  it.each<[string, MailboxState, MailboxProgress, RegExp | null]>([
    ['connected, mail waiting, cursor still too long', { status: 'connected', since: now - 1 }, progress(), /3 mail\(s\) waiting and the cursor has not moved for 15 min/],
    ['reconnecting again and again: the same', reconnecting(), progress(), /waiting and the cursor has not moved/],
    ['connected, nothing waiting', { status: 'connected', since: now - 1 }, progress({ waiting: 0 }), null],
    ['mail waiting, cursor moved lately', { status: 'connected', since: now - 1 }, progress({ lastProgressAt: now - 1_000 }), null],
    ['standby: another process reads it', { status: 'standby', since: now - 1, holder: 'b:1:x' }, progress(), null],
  ])('%s', (_name, state, p, expected) => {
    const health = healthOf(new Map([['m@h:143/INBOX', state]]), now, new Map([['m@h:143/INBOX', p]]));
    if (expected === null) expect(health).toEqual({ ok: true, problems: [] });
    else expect(health.problems).toEqual([expect.stringMatching(expected)]);
  });

  it('the limit is configurable', () => {
    const health = healthOf(new Map([['m', { status: 'connected', since: now } as MailboxState]]), now, new Map([['m', progress({ lastProgressAt: now - 61_000 })]]), 60_000);
    expect(health.ok).toBe(false);
  });
});
