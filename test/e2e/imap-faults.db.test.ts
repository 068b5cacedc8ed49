// `deskbridge run` when things go wrong around it: the IMAP server restarts
// under it, it is stopped with SIGTERM in the middle of a backlog, and it is
// started without the settings it needs. A Dovecot of its own, because this
// file stops and starts it.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { runCli } from '../helpers/cli';
import { addUser, appendMails, eventually, imapClient, privateDovecot, startBridge, type BridgeProcess } from '../helpers/imap';
import { notification } from '../helpers/notifications';
import { seedRouting } from '../helpers/seed';

let dovecot: Awaited<ReturnType<typeof privateDovecot>>;
let db: Awaited<ReturnType<typeof openTestDatabase>>;
const running: BridgeProcess[] = [];

beforeAll(async () => {
  dovecot = await privateDovecot();
});
afterAll(async () => {
  await dovecot?.remove();
});
beforeEach(async () => {
  db = await openTestDatabase('faults');
  await seedRouting(db);
});
afterEach(async () => {
  for (const b of running.splice(0)) await b.stop('SIGKILL');
  await db.drop();
});

const count = async (table: string) => Number((await db.knex(table).count({ n: '*' }).first())!.n);

describe(`deskbridge run under faults on ${BACKEND}`, () => {
  it('Dovecot stopped and started while the bridge runs: the mail APPENDed after the restart is processed within the backoff', async () => {
    const user = addUser(dovecot);
    const b = startBridge({ DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_IMAP: user.url(), DESKBRIDGE_POLL_SECONDS: '3600' });
    running.push(b);
    await b.waitForLog((l) => l.msg === 'mailbox open');
    await dovecot.stop();
    await b.waitForLog((l) => l.msg === 'mailbox connection lost; reconnecting');
    await new Promise((r) => setTimeout(r, 1_500)); // at least one refused reconnect while it is down
    await dovecot.restart();
    await appendMails(dovecot, user, [notification(0, 5, 'restart')]);
    // the network backoff after a few failures is a few seconds; 20 s is well past it
    await eventually(async () => (await count('inbound')) === 1, 20_000, 'the mail after the restart');
    expect(b.logs.filter((l) => l.msg === 'mailbox open').length).toBeGreaterThanOrEqual(2);
  });

  it('SIGTERM in the middle of a backlog: the batch in hand is committed and marked, the process exits 0, and a restart finishes the rest once', async () => {
    const user = addUser(dovecot);
    const client = await imapClient(dovecot, user);
    for (let i = 0; i < 300; i++) await client.append('INBOX', notification(i, 5, 'term'));
    await client.logout();
    const first = startBridge({ DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_IMAP: user.url() });
    running.push(first);
    await eventually(async () => (await count('inbound')) >= 100, 30_000, 'a first batch');
    expect(await first.stop('SIGTERM')).toBe(0);
    const cursor = Number((await db.knex('mailbox_cursors').first()).last_uid);
    expect(cursor).toBe(await count('inbound')); // the cursor covers exactly what is in the ledger
    expect((await db.knex('mailbox_cursors').first()).lease_owner).toBeNull(); // the lease was let go
    const second = startBridge({ DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_IMAP: user.url() });
    running.push(second);
    await eventually(async () => (await count('inbound')) >= 300, 30_000, '300 mails');
    await new Promise((r) => setTimeout(r, 500));
    expect(await count('inbound')).toBe(300);
    expect(await count('messages')).toBe(300);
  });

  it.each([
    [{ DESKBRIDGE_IMAP: '' }, /^deskbridge: DESKBRIDGE_IMAP is not set: /],
    [{ DESKBRIDGE_SECRET: '' }, /^deskbridge: DESKBRIDGE_SECRET is not set: /],
    [{ DESKBRIDGE_IMAP: 'pop3://x@h/INBOX' }, /^deskbridge: DESKBRIDGE_IMAP: "pop3:\/\/x@h\/INBOX" is not valid: expected a URL starting with imap:\/\/ or imaps:\/\//],
  ])('refuses to start without what it needs (%o): exit 2, one line', async (env, message) => {
    const r = await runCli(['run'], { env: { DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_IMAP: 'imap://u:p@127.0.0.1:1/INBOX', DESKBRIDGE_SECRET: 'test-secret-0123456789', ...env } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('doctor: one line per check, what to fix for each failure, exit 1 when any fails', async () => {
    const good = addUser(dovecot);
    const bad = addUser(dovecot);
    const env = {
      DESKBRIDGE_DATABASE: db.url,
      DESKBRIDGE_SECRET: 'test-secret-0123456789',
      DESKBRIDGE_IMAP: `${good.url()} ${bad.url('INBOX', 'nope')} ${good.url('NoSuchFolder')}`,
      DESKBRIDGE_SMTP: 'smtp://127.0.0.1:1',
    };
    const r = await runCli(['doctor'], { env });
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['ok config', 'ok settings', 'ok database', 'ok policies', 'ok imap', 'FAIL imap', 'FAIL imap', 'FAIL smtp', 'ok templates', 'ok start-up', 'ok auth']);
    expect(lines[5]).toMatch(new RegExp(`${bad.name}@.*login refused.*fix: check the user and password`));
    expect(lines[6]).toMatch(/NoSuchFolder.*fix: name an existing folder/);
    const fine = await runCli(['doctor', '--json'], { env: { ...env, DESKBRIDGE_IMAP: good.url(), DESKBRIDGE_SMTP: '' } });
    expect(fine.code).toBe(0);
    expect((JSON.parse(fine.stdout) as Array<{ ok: boolean }>).every((c) => c.ok)).toBe(true);
  });
});
