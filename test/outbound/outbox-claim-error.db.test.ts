// A claim that fails in the middle of a flush (the database refused for a
// moment) while other lanes are sending slowly: the flush must wait for
// those lanes (their claims kept alive by the heartbeat) before it throws, or
// their rows lapse and the next flush sends them again. A short lease makes
// the lapse come quickly. Every row is sent exactly once.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { createOutboxWorker, type MailTransport } from '../../src/outbound/outbox-worker';
import { enqueue, listOutbox } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
beforeEach(async () => {
  db = await openTestDatabase('claim_error');
});
afterEach(async () => {
  await db.drop();
});
const log = createLogger({ level: 'silent' });

async function queue(id: string) {
  const to = ['anna@support.example'];
  const raw = Buffer.from(`From: b@support.example\r\nTo: ${to[0]}\r\nSubject: ${id}\r\nMessage-ID: <${id}@x>\r\n\r\nhello\r\n`);
  return db.knex.transaction((trx) => enqueue(trx, { kind: 'notification', ticketId: null, sourceMessageId: null, to, subject: id, messageId: `<${id}@x>`, raw, deadlineAt: new Date(Date.now() + 24 * 3600_000) }));
}

it(`a claim refused mid-flush on ${BACKEND}: the rows in hand are still sent once each, and nothing is sent twice`, async () => {
  for (let i = 0; i < 5; i++) await queue(`m${i}`);
  let failUntil = 0;
  const knex = new Proxy(db.knex, {
    get(target, prop, recv) {
      if (prop === 'transaction')
        return (fn: (...a: unknown[]) => unknown) => {
          if (Date.now() < failUntil && String(fn).includes('skipLocked')) {
            return Promise.reject(new Error('connection terminated (simulated blip)'));
          }
          return target.transaction(fn as never);
        };
      return Reflect.get(target, prop, recv);
    },
  });
  const sent: string[] = [];
  let n = 0;
  const transport: MailTransport = {
    async send(_env, _raw, item) {
      const k = n++;
      if (k === 0) failUntil = Date.now() + 1200; // the database refuses claims for 1.2 s
      await new Promise((r) => setTimeout(r, [300, 1500, 2500, 3500][k % 4])); // a slow relay
      sent.push(item.messageId);
      return { refusals: [] };
    },
    close() {},
  };
  const worker = createOutboxWorker({ db: { ...db, knex } as never, transport, from: 'b@support.example', owner: 'w1', log, leaseMs: 1200 });
  const stop = new AbortController();
  const running = worker.run(stop.signal);
  const t0 = Date.now();
  while ((await listOutbox(db.knex, { states: ['sent'] })).length < 5 && Date.now() - t0 < 25_000) await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 3000)); // time for any lane left running to send again
  stop.abort();
  await running;
  expect((await listOutbox(db.knex, { states: ['sent'] })).length).toBe(5);
  expect([...sent].sort()).toEqual(['<m0@x>', '<m1@x>', '<m2@x>', '<m3@x>', '<m4@x>']);
}, 40_000);
