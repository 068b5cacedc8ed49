import { describe, expect, it } from 'vitest';
import { afterSuccess, afterTimeout, fetchDeadlineMs } from '../../src/ingest/fetch-plan';

describe('fetch plan', () => {
  it('the deadline grows with the mails and the bytes of the batch', () => {
    expect(fetchDeadlineMs(1, 10_000)).toBe(30_000 + 1_000 + 96);
    expect(fetchDeadlineMs(100, 32 * 1024 * 1024)).toBe(30_000 + 100_000 + 320_000);
  });

  it('a timed-out batch is halved down to one mail, then that mail is recorded and passed over', () => {
    const sizes: number[] = [];
    let n = 100;
    for (;;) {
      const plan = afterTimeout(n);
      if (plan.action === 'record-unfetchable') break;
      sizes.push(plan.maxMails);
      n = plan.maxMails;
    }
    expect(sizes).toEqual([50, 25, 12, 6, 3, 1]);
  });

  it('grows back towards the batch size after fetches that came in time', () => {
    expect(afterSuccess({ maxMails: 1 }, 100)).toBe(2);
    expect(afterSuccess({ maxMails: 64 }, 100)).toBe(100);
  });
});
