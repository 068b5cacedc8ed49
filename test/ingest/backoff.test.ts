import { describe, expect, it } from 'vitest';
import { AUTH_BACKOFF, NETWORK_BACKOFF, planReconnect, reconnectDelay, STABLE_UPTIME_MS } from '../../src/ingest/backoff';

const low = () => 0;
const high = () => 1;

describe('reconnectDelay', () => {
  it.each([
    [0, 500, 1_000],
    [1, 1_000, 2_000],
    [2, 2_000, 4_000],
    [5, 16_000, 32_000],
    [6, 30_000, 60_000],
    [40, 30_000, 60_000],
  ])('network attempt %i waits between %i and %i ms', (attempt, min, max) => {
    expect(reconnectDelay(attempt, NETWORK_BACKOFF, low)).toBe(min);
    expect(reconnectDelay(attempt, NETWORK_BACKOFF, high)).toBe(max);
  });

  it('an authentication failure starts at a minute and stops at 15 minutes', () => {
    expect(reconnectDelay(0, AUTH_BACKOFF, high)).toBe(60_000);
    expect(reconnectDelay(10, AUTH_BACKOFF, high)).toBe(15 * 60_000);
    expect(reconnectDelay(10, AUTH_BACKOFF, low)).toBe(7.5 * 60_000);
  });
});

describe('planReconnect', () => {
  it('keeps climbing while connections drop quickly', () => {
    let attempt = 0;
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const plan = planReconnect(attempt, { upMs: 1_000, authFailed: false }, high);
      delays.push(plan.delayMs);
      attempt = plan.attempt;
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('starts over only after the connection stayed up for the stable time', () => {
    expect(planReconnect(5, { upMs: STABLE_UPTIME_MS - 1, authFailed: false }, high)).toEqual({ delayMs: 32_000, attempt: 6 });
    expect(planReconnect(5, { upMs: STABLE_UPTIME_MS, authFailed: false }, high)).toEqual({ delayMs: 1_000, attempt: 1 });
  });

  it('waits on the slow curve after an authentication failure', () => {
    expect(planReconnect(0, { upMs: 0, authFailed: true }, high).delayMs).toBe(60_000);
  });
});
