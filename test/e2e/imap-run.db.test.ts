// `deskbridge run` against a real Dovecot: backlog, IDLE, \Seen set by a
// person, move mode, a kill -9 in the middle of a backlog, a mailbox that is
// deleted and recreated, and a mailbox with a wrong password beside a good one.
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { openTestDatabase, BACKEND } from '../helpers/database';
import { addUser, appendMails, eventually, freePort, imapClient, mailboxFlags, privateDovecot, startBridge, type BridgeProcess } from '../helpers/imap';
import { notification } from '../helpers/notifications';
import { rawMail } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

let dovecot: Awaited<ReturnType<typeof privateDovecot>>;
let db: Awaited<ReturnType<typeof openTestDatabase>>;
const running: BridgeProcess[] = [];

beforeAll(async () => {
  dovecot = await privateDovecot();
});
afterAll(async () => {
  if (process.env.KEEP_DOVECOT) await dovecot?.stop(); else await dovecot?.remove();
});
beforeEach(async () => {
  db = await openTestDatabase('imap');
  await seedRouting(db);
});
afterEach(async () => {
  for (const b of running.splice(0)) await b.stop('SIGKILL');
  await db.drop();
});

function bridge(env: Record<string, string>): BridgeProcess {
  const b = startBridge({ DESKBRIDGE_DATABASE: db.url, ...env });
  running.push(b);
  return b;
}

const count = async (table: string, where: Record<string, unknown> = {}) => Number((await db.knex(table).where(where).count({ n: '*' }).first())!.n);
const states = async () =>
  Object.fromEntries(((await db.knex('inbound').select('state').count({ n: '*' }).groupBy('state')) as Array<{ state: string; n: number | string }>).map((r) => [r.state, Number(r.n)]));

describe(`deskbridge run on ${BACKEND}`, () => {
  it('catches up on a backlog, marks each mail \\Seen after its commit, and keeps the cursor', async () => {
    const user = addUser(dovecot);
    const stranger = rawMail({ From: 'someone@else.example', Subject: 'hello', 'Message-ID': '<stranger-1@else.example>' }, 'hi\n');
    await appendMails(dovecot, user, [...Array.from({ length: 15 }, (_, i) => notification(i, 5, 'backlog')), stranger]);
    const b = bridge({ DESKBRIDGE_IMAP: user.url() });
    await eventually(async () => (await count('inbound')) === 16, 30_000, '16 ledger rows');
    expect(await states()).toEqual({ ticket_created: 3, ticket_updated: 12, rejected_sender: 1 });
    expect(await count('tickets')).toBe(3);
    expect(await count('messages')).toBe(15);
    const cursor = await db.knex('mailbox_cursors').first();
    expect(cursor).toMatchObject({ mailbox: `${user.name}@127.0.0.1:${dovecot.port}/INBOX` });
    expect(Number(cursor.last_uid)).toBe(16);
    await eventually(async () => (await mailboxFlags(dovecot, user)).every((m) => m.flags.includes('\\Seen')), 10_000, 'all \\Seen');
    // one log line per mail, with its state
    expect(b.logs.filter((l) => l.msg === 'mail').map((l) => l.state)).toHaveLength(16);
    expect(await b.stop('SIGTERM')).toBe(0);
    expect(b.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('picks up a mail APPENDed while it idles (no poll to help it), and one a person marked \\Seen before it was read', async () => {
    const user = addUser(dovecot);
    const b = bridge({ DESKBRIDGE_IMAP: user.url(), DESKBRIDGE_POLL_SECONDS: '3600' });
    await b.waitForLog((l) => l.msg === 'mailbox open');
    await appendMails(dovecot, user, [notification(0, 5, 'idle')]);
    await eventually(async () => (await count('inbound', { state: 'ticket_created' })) === 1, 15_000, 'the IDLE mail');
    await appendMails(dovecot, user, [notification(1, 5, 'idle')], { flags: ['\\Seen'] });
    await eventually(async () => (await count('inbound', { state: 'ticket_updated' })) === 1, 15_000, 'the \\Seen mail');
    expect(await count('messages')).toBe(2);
  });

  it('mail that arrives while a catch-up is running is not left for the next poll', async () => {
    const user = addUser(dovecot);
    const client = await imapClient(dovecot, user);
    for (let i = 0; i < 300; i++) await client.append('INBOX', notification(i, 5, 'during'));
    const b = bridge({ DESKBRIDGE_IMAP: user.url(), DESKBRIDGE_POLL_SECONDS: '3600' });
    await b.waitForLog((l) => l.msg === 'mailbox open');
    for (let i = 300; i < 310; i++) {
      await client.append('INBOX', notification(i, 5, 'during'));
      await new Promise((r) => setTimeout(r, 30));
    }
    await client.logout();
    await eventually(async () => (await count('inbound')) === 310, 20_000, 'all 310 mails without waiting for the hourly poll');
  });

  it('moves processed mail to DESKBRIDGE_PROCESSED when it names a folder, creating the folder', async () => {
    const user = addUser(dovecot);
    await appendMails(dovecot, user, [notification(0, 5, 'move'), notification(1, 5, 'move')]);
    bridge({ DESKBRIDGE_IMAP: user.url(), DESKBRIDGE_PROCESSED: 'Processed' });
    await eventually(async () => (await count('inbound')) === 2, 20_000, 'two mails');
    await eventually(async () => (await mailboxFlags(dovecot, user, 'INBOX')).length === 0, 10_000, 'INBOX empty');
    expect(await mailboxFlags(dovecot, user, 'Processed')).toHaveLength(2);
  });

  it('kill -9 in the middle of a 500-mail backlog, then a restart: every mail processed exactly once', async () => {
    const user = addUser(dovecot);
    const client = await imapClient(dovecot, user);
    for (let i = 0; i < 500; i++) await client.append('INBOX', notification(i, 5, 'kill'));
    await client.logout();
    const first = bridge({ DESKBRIDGE_IMAP: user.url() });
    await eventually(async () => (await count('inbound')) >= 100, 60_000, 'a first batch committed');
    first.child.kill('SIGKILL');
    await first.exited;
    const before = await count('inbound');
    expect(before).toBeLessThan(500); // it really was stopped in the middle
    bridge({ DESKBRIDGE_IMAP: user.url() });
    await eventually(async () => (await count('inbound')) >= 500, 60_000, '500 ledger rows');
    await new Promise((r) => setTimeout(r, 1_000)); // nothing more may arrive
    expect(await count('inbound')).toBe(500);
    expect(await states()).toEqual({ ticket_created: 100, ticket_updated: 400 });
    const uids = (await db.knex('inbound').select('uid')).map((r: { uid: number | string }) => Number(r.uid));
    expect(new Set(uids).size).toBe(500);
    expect(await count('tickets')).toBe(100);
    expect(await count('messages')).toBe(500);
  });

  it('a mailbox deleted and recreated with the same mails (new UIDVALIDITY) is rescanned and nothing is doubled', async () => {
    const user = addUser(dovecot);
    const mails = Array.from({ length: 6 }, (_, i) => notification(i, 3, 'uidv'));
    const client = await imapClient(dovecot, user);
    await client.mailboxCreate('Tickets');
    await client.logout();
    await appendMails(dovecot, user, mails, { mailbox: 'Tickets' });
    const first = bridge({ DESKBRIDGE_IMAP: user.url('Tickets') });
    await eventually(async () => (await count('inbound')) === 6, 20_000, 'six mails');
    const oldValidity = Number((await db.knex('mailbox_cursors').first()).uidvalidity);
    expect(await first.stop('SIGTERM')).toBe(0);
    const admin = await imapClient(dovecot, user);
    await admin.mailboxDelete('Tickets');
    await admin.mailboxCreate('Tickets');
    await admin.logout();
    await appendMails(dovecot, user, mails, { mailbox: 'Tickets' });
    const b = bridge({ DESKBRIDGE_IMAP: user.url('Tickets') });
    await b.waitForLog((l) => l.msg === 'UIDVALIDITY changed: rescanning the mailbox; the ledger recognises mail it already has', 30_000);
    await eventually(async () => (await count('inbound')) === 12, 30_000, 'six rescanned');
    expect(await states()).toEqual({ ticket_created: 2, ticket_updated: 4, duplicate: 6 });
    expect(await count('tickets')).toBe(2);
    expect(await count('messages')).toBe(6);
    expect(Number((await db.knex('mailbox_cursors').first()).uidvalidity)).not.toBe(oldValidity);
  });

  it('two mailboxes, one with a wrong password: the other keeps working, and /healthz names the broken one', async () => {
    const good = addUser(dovecot);
    const bad = addUser(dovecot);
    const port = await freePort();
    bridge({ DESKBRIDGE_IMAP: `${good.url()} ${bad.url('INBOX', 'wrong-password')}`, DESKBRIDGE_HTTP: `127.0.0.1:${port}` });
    await appendMails(dovecot, good, [notification(0, 5, 'two')]);
    await eventually(async () => (await count('inbound')) === 1, 20_000, 'the good mailbox read');
    const health = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return res && res.status === 503 ? ((await res.json()) as { problems: string[]; mailboxes: Record<string, { status: string }> }) : null;
    }, 20_000, '/healthz 503');
    expect(health.problems).toEqual([expect.stringMatching(new RegExp(`^${bad.name}@127\\.0\\.0\\.1:${dovecot.port}/INBOX: login refused`))]);
    expect(health.mailboxes[`${good.name}@127.0.0.1:${dovecot.port}/INBOX`]!.status).toBe('connected');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(`deskbridge_mailbox_connected{mailbox="${good.name}@127.0.0.1:${dovecot.port}/INBOX"} 1`);
    expect(metrics).toContain(`deskbridge_mailbox_reconnects_total{mailbox="${bad.name}@127.0.0.1:${dovecot.port}/INBOX",reason="auth"} 1`);
    expect(metrics).toMatch(/deskbridge_mails_total\{state="ticket_created",mailbox="[^"]+"\} 1/);
    expect(metrics).toContain('deskbridge_outbox_items{state="queued"} 0');
    // and the good mailbox still takes new mail
    await appendMails(dovecot, good, [notification(1, 5, 'two')]);
    await eventually(async () => (await count('inbound')) === 2, 20_000, 'a second mail');
  });
});
