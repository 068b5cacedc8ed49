// The lease balance rule as a table: at most ceil(mailboxes / live) each,
// the surplus given up, free mailboxes taken up to the share, never more.
import { describe, expect, it } from 'vitest';
import { planBalance } from '../../src/ingest/balance';

const boxes = Array.from({ length: 12 }, (_, i) => `m${i}`);
const holders = (owners: Record<string, string>) => new Map(boxes.map((m) => [m, owners[m] ?? null]));
const first = () => 0.99; // no shuffle: the order is the configured one

describe('planBalance', () => {
  it.each([
    ['alone: takes every free mailbox', new Set<string>(), holders({}), 1, 12, [], 12],
    ['three live, holding none: takes its share of 4', new Set<string>(), holders({}), 3, 4, [], 4],
    ['a fourth joined: 12 held, share 3, gives up 9', new Set(boxes), holders(Object.fromEntries(boxes.map((m) => [m, 'me']))), 4, 3, boxes.slice(3), 0],
    ['at its share: nothing to do', new Set(boxes.slice(0, 4)), holders(Object.fromEntries(boxes.map((m) => [m, 'other']))), 3, 4, [], 0],
    ['two free after a death, one slot left: takes one', new Set(boxes.slice(0, 5)), holders({ ...Object.fromEntries(boxes.slice(0, 10).map((m) => [m, 'x'])) }), 2, 6, [], 1],
    ['everything held by others: takes none', new Set<string>(), holders(Object.fromEntries(boxes.map((m) => [m, 'other']))), 2, 6, [], 0],
  ])('%s', (_name, held, hs, live, quota, giveUp, taking) => {
    const plan = planBalance({ mailboxes: boxes, held, holders: hs, live }, first);
    expect(plan.quota).toBe(quota);
    expect(plan.giveUp).toEqual(giveUp);
    expect(plan.take).toHaveLength(taking);
    for (const m of plan.take) expect(held.has(m) || hs.get(m) !== null).toBe(false);
  });
});
