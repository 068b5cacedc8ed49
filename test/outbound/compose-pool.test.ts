// The compose pool (compose-pool.ts): notifications composed on a worker
// thread, one outbox item per staff member; a job that overruns its deadline
// fails (the pipeline then writes its batch again, composing inline) and
// stops the worker; the next job starts a new one.
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createComposePool, type ComposePool } from '../../src/outbound/compose-pool';
import type { NotificationInput } from '../../src/outbound/notify';

const out = { address: 'bridge@support.example', secret: 'compose-pool-key-0123456789', instance: 'test-node' };
const input: NotificationInput = {
  ticket: { id: 7, remoteTicketId: 'R7', subject: 'Disk full', status: 'open', department: 'hosting', departmentName: 'Hosting', system: 'acme', systemName: 'Acme', customerEmail: 'c@client.example', customerName: 'Carl' },
  staff: ['anna@support.example', 'bob@support.example'],
  event: 'new',
  from: 'noreply@billing.acme.example',
  fromName: 'Acme',
  text: 'The disk is full.',
  html: null,
  attachments: [],
  sourceMessageId: 1,
};
const pools: ComposePool[] = [];
const pool = (deadlineMs?: number) => {
  const p = createComposePool(out, { deadlineMs });
  pools.push(p);
  return p;
};
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

describe('compose pool', () => {
  it('composes one notification per staff member, each to its own address', async () => {
    const items = await pool().compose(input);
    expect(items.map((i) => i.to)).toEqual([['anna@support.example'], ['bob@support.example']]);
    const mail = await simpleParser(items[0]!.raw);
    expect(mail.subject).toBe('[DB#7] Disk full');
    expect(mail.text).toContain('The disk is full.');
  });

  it('a job over its deadline fails with the deadline named, and so does the next: each stops its worker, the pool keeps starting new ones', async () => {
    const p = pool(1); // a new worker cannot even load its templates in 1 ms
    await expect(p.compose(input)).rejects.toThrow(/took longer than 1 ms/);
    await expect(p.compose(input)).rejects.toThrow(/took longer than 1 ms|compose worker stopped/);
  });

  it('an answer that waits while this thread is busy past the deadline (a large batch written synchronously) is not taken for an overrun', async () => {
    const p = pool(2_000);
    await p.compose(input); // loaded and warm
    const job = p.compose(input);
    await new Promise((resolve) => setImmediate(resolve)); // busy from here, the end of a turn: timers are what runs next
    const until = Date.now() + 3_000;
    while (Date.now() < until); // the worker answers within milliseconds; the answer waits in this thread's queue
    await expect(job).resolves.toHaveLength(2);
  });

  it('a notification that cannot be handed to the worker fails alone, at once, and leaves no deadline armed to stop the worker later', async () => {
    const p = pool(60_000);
    await p.compose(input); // the worker started and warm
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // the deadlines armed from here are counted, not run
    try {
      const before = p.compose(input);
      const refused = p.compose({ ...input, text: (() => 'not cloneable') as unknown as string }); // a function: structured clone refuses it
      const after = p.compose(input);
      await expect(refused).rejects.toThrow(/could not be cloned/);
      await expect(before).resolves.toHaveLength(2);
      await expect(after).resolves.toHaveLength(2);
      // a deadline left for the refused job would fire in a minute and stop the worker under whatever it then holds
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
