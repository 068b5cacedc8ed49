// Defect 2 of issue 10: bounded work per mail. The inputs that froze the
// process (blank lines against the shipped body patterns, deeply nested
// HTML) are processed for real within the per-mail deadline; a custom
// pattern that backtracks without end overruns its deadline and is parked
// (not retried), the worker is replaced, and the mails after it go on.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createParsePool } from '../../src/mail/parse-pool';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { listTickets, getThread } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
const pool = createParsePool(); // the default deadline, 10 s
afterAll(() => pool.close());

beforeEach(async () => {
  db = await openTestDatabase('bounded');
  await seedRouting(db);
});
afterEach(async () => db.drop());

const mail = (label: string, raw: Buffer): IncomingMail => ({ raw, label, source: 'file', sourceRef: label });
const whmcs = (id: string, contentType: string, body: string) =>
  Buffer.from(
    `From: Technical Support <support@billing.acme.example>\r\nTo: bridge@support.example\r\nSubject: [Ticket ID: ${id}] Hostile\r\nMessage-ID: <${id}@billing.acme.example>\r\nContent-Type: ${contentType}\r\n\r\n${body}`,
  );

describe(`bounded work per mail on ${BACKEND}`, () => {
  it('80,000 blank lines against the WHMCS body patterns, and 1 MB of nested <div>, are tickets within the deadline', async () => {
    const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, parse: pool.parse });
    const nested = `${'<div>'.repeat(90_000)}deep${'</div>'.repeat(90_000)}`;
    const results = await pipeline.ingest([
      mail('blank-lines', whmcs('BLANK1', 'text/plain; charset=utf-8', `${'\r\n'.repeat(80_000)}Client: John <john@customer.example>\r\n`)),
      mail('nested-html', whmcs('NEST01', 'text/html; charset=utf-8', `<p>Client: Jane</p>${nested}`)),
    ]);
    expect(results.map((r) => [r.label, r.state])).toEqual([
      ['blank-lines', 'ticket_created'],
      ['nested-html', 'ticket_created'],
    ]);
    const tickets = await listTickets(db.knex);
    expect(tickets.find((t) => t.remoteTicketId === 'BLANK1')!.customerEmail).toBe('john@customer.example');
    const html = (await getThread(db.knex, tickets.find((t) => t.remoteTicketId === 'NEST01')!.id))[0]!.html!;
    expect(html.length).toBeLessThan(nested.length);
  }, 60_000);

  it('a custom pattern that backtracks without end parks its mail ("took longer than") and the next mail is a ticket', async () => {
    const fast = createParsePool({ deadlineMs: 1_000 });
    try {
      const evil = { name: 'evil', fields: { ticket: [{ from: 'body', pattern: '^(?<value>(a|aa)+)$' }], departmentId: [{ from: 'header', name: 'X-Department-ID' }] } };
      await db.knex('systems').where({ slug: 'billmgr' }).update({ profile: 'evil', profile_json: JSON.stringify(evil) });
      const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, parse: fast.parse });
      const hostile = Buffer.from(`From: noreply@bill.example\r\nSubject: x\r\nX-Department-ID: 12\r\n\r\n${'a'.repeat(60)}!\r\n`);
      const results = await pipeline.ingest([mail('hostile', hostile), mail('after', fixture('whmcs-new.eml'))]);
      expect(results.map((r) => [r.label, r.state])).toEqual([
        ['hostile', 'parked_failed'],
        ['after', 'ticket_created'],
      ]);
      expect(results[0]!.reason).toMatch(/took longer than 1 s/);
      // parked, not failed: the next run does not try it again
      expect(await pipeline.retryFailed()).toEqual([]);
    } finally {
      await fast.close();
    }
  }, 60_000);
});
