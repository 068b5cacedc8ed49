// The outbox worker under `run` sends claim after claim with one stop signal
// for its whole life: a listener left on that signal per claim piled up
// (Node warned "MaxListenersExceededWarning … 25 abort listeners" in the IMAP
// benchmark) and held each claim's closures for good.
import { getEventListeners } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { createOutboxWorker, openTransport } from '../../src/outbound/outbox-worker';
import { enqueue } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
beforeEach(async () => {
  db = await openTestDatabase('outbox_signal');
});
afterEach(async () => db.drop());

describe(`the outbox worker's stop signal on ${BACKEND}`, () => {
  it('carries no listener once a flush of many claims is over', async () => {
    await db.knex.transaction(async (trx) => {
      for (let i = 0; i < 40; i++) {
        const raw = Buffer.from(`From: bridge@support.example\r\nTo: anna@support.example\r\nSubject: n${i}\r\nMessage-ID: <s${i}@support.example>\r\n\r\nhello\r\n`);
        await enqueue(trx, { kind: 'notification', ticketId: null, sourceMessageId: null, to: ['anna@support.example'], subject: `n${i}`, messageId: `<s${i}@support.example>`, raw, deadlineAt: new Date(Date.now() + 3600_000) });
      }
    });
    const stop = new AbortController();
    const worker = createOutboxWorker({ db, transport: openTransport(`file:${mkdtempSync(join(tmpdir(), 'deskbridge-outbox-signal-'))}`), from: 'bridge@support.example', owner: 'test:1:signal', log: createLogger({ level: 'silent' }) });
    const counts = await worker.flushOnce(stop.signal);
    expect(counts.sent).toBe(40); // five claims of 8
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});
