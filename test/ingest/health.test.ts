import { describe, expect, it } from 'vitest';
import { CONNECT_GRACE_MS, DOWN_LIMIT_MS, healthOf, problemOf, RETRY_GRACE_MS, type MailboxState } from '../../src/ingest/health';

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
