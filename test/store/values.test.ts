// nowIso keeps the string of the last millisecond (a batch asks several times
// a mail): it must still be the clock's time whenever the clock has moved.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nowIso } from '../../src/store/values';

describe('nowIso', () => {
  afterEach(() => vi.useRealTimers());

  it("is the clock's time to the millisecond, before and after the clock moves, forwards or back", () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-02T10:00:00.000Z'));
    expect(nowIso()).toBe('2026-12-02T10:00:00.000Z');
    expect(nowIso()).toBe('2026-12-02T10:00:00.000Z');
    vi.setSystemTime(new Date('2026-12-02T10:00:00.001Z'));
    expect(nowIso()).toBe('2026-12-02T10:00:00.001Z');
    vi.setSystemTime(new Date('2026-12-01T23:59:59.999Z')); // set back (NTP, an admin)
    expect(nowIso()).toBe('2026-12-01T23:59:59.999Z');
  });

  it('matches the real clock', () => {
    const before = Date.now();
    const at = Date.parse(nowIso());
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});
