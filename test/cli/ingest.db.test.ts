// `ingest`, `inbox`, `parked`, `ticket` and `profile test` through the real binary.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliFor, type CliResult } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { FIXTURES } from '../helpers/mail';
import { notification } from '../helpers/notifications';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;
const f = (name: string) => join(FIXTURES, name);

beforeAll(async () => {
  db = await openTestDatabase('cli_ingest');
  await seedRouting(db);
  cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example' });
});
afterAll(async () => db?.drop());

const json = <T>(r: CliResult): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};
const count = async (table: string) => Number(((await db.knex(table).count({ n: '*' }).first()) as { n: string | number }).n);

describe(`ingest and friends on ${BACKEND}`, () => {
  it('ingest prints one line per mail and a summary', async () => {
    const r = await cli(['ingest', f('whmcs-new.eml'), f('whmcs-sales.eml'), f('own-mail.eml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/whmcs-new\.eml\s+ticket_created\s+#\d+\s+acme ticket 482913 → hosting/);
    expect(r.stdout).toMatch(/whmcs-sales\.eml\s+parked_unmapped\s+-\s+no correspondence/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('3 mail(s): 1 ticket_created, 1 parked_unmapped, 1 own_mail');
  });

  it('ingest reads one mail from stdin (an MTA pipe) and --json gives objects', async () => {
    const out = json<Array<{ file: string; state: string; ticketId: number }>>(await cli(['ingest', '--json'], { input: readFileSync(f('whmcs-reply.eml'), 'latin1') }));
    expect(out).toEqual([expect.objectContaining({ file: 'stdin', state: 'ticket_updated', ticketId: expect.any(Number) })]);
  });

  it('the same file again is a duplicate', async () => {
    const [r] = json<Array<{ state: string; reason: string }>>(await cli(['ingest', '--json', f('whmcs-new.eml')]));
    expect(r).toMatchObject({ state: 'duplicate', reason: expect.stringContaining('same content') });
  });

  it('a file that cannot be read is exit 2, named, and nothing is ingested', async () => {
    const before = await count('inbound');
    const r = await cli(['ingest', f('billmgr-new.eml'), '/nonexistent/mail.eml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('deskbridge: ingest: cannot read "/nonexistent/mail.eml": ENOENT\n');
    expect(await count('inbound')).toBe(before);
  });

  it('a file name with control characters is shown escaped in the one error line, the reason after it kept', async () => {
    const r = await cli(['ingest', '/nonexistent/x\u001b[31mRED\nFAKE.eml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('deskbridge: ingest: cannot read "/nonexistent/x\\x1b[31mRED\\x0aFAKE.eml": ENOENT\n');
    // any command's bad value: a line break inside it is shown, not taken for the end of the message
    const show = await cli(['outbox', 'show', 'abc\nxyz']);
    expect(show).toMatchObject({ code: 2, stderr: 'deskbridge: outbox id "abc\\x0axyz" is not valid (expected a positive whole number, as `outbox list` shows)\n' });
  });

  it('inbox list shows the ledger with the documented keys, and filters by state', async () => {
    const all = json<Array<Record<string, unknown>>>(await cli(['inbox', 'list', '--json']));
    expect(all.length).toBe(5);
    expect(Object.keys(all[0]!)).toEqual(expect.arrayContaining(['id', 'state', 'reason', 'messageId', 'from', 'subject', 'system', 'ticketId', 'receivedAt']));
    expect(json<Array<{ state: string }>>(await cli(['inbox', 'list', '--state', 'own_mail', '--json'])).map((r) => r.state)).toEqual(['own_mail']);
    const bad = await cli(['inbox', 'list', '--state', 'lost']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--state: "lost" is not a ledger state/);
  });

  it('profile test dry-runs a mail: fields with their sources and the route, writing nothing', async () => {
    const before = { inbound: await count('inbound'), tickets: await count('tickets') };
    const out = json<{ fields: Record<string, { value: string; source: string } | null>; route: Record<string, unknown>; classification: string }>(
      await cli(['profile', 'test', '--system', 'acme', f('whmcs-sales.eml'), '--json']),
    );
    expect(out.classification).toBe('notification');
    expect(out.fields.ticket).toEqual({ value: '730012', source: 'subject /\\[Ticket ID: (?<value>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)\\]/' });
    expect(out.fields.departmentId).toEqual({ value: 'sales@billing.acme.example', source: 'fromAddress' });
    expect(out.fields.subject!.value).toBe('Upgrade to a bigger plan');
    expect(out.route).toMatchObject({ result: 'parked_unmapped' });
    const text = await cli(['profile', 'test', '--system', 'acme', f('whmcs-new.eml')]);
    expect(text.stdout).toMatch(/^route:\s+correspondence #\d+ → hosting \(by id, ticket #\d+\)$/m); // the ticket exists since the test above
    expect({ inbound: await count('inbound'), tickets: await count('tickets') }).toEqual(before);
  });

  it('parked list / show, map add, parked replay --all: the parked mail becomes a ticket', async () => {
    const parked = json<Array<{ id: number; state: string }>>(await cli(['parked', 'list', '--json']));
    expect(parked.map((p) => p.state)).toEqual(['parked_unmapped']);
    expect((await cli(['parked', 'show', String(parked[0]!.id), '--raw'])).stdout).toContain('Subject: [Ticket ID: 730012]');
    expect((await cli(['map', 'add', '--system', 'acme', '--remote-id', 'sales@billing.acme.example', '--name', 'Sales', '--department', 'billing'])).code).toBe(0);
    const replay = await cli(['parked', 'replay', '--all']);
    expect(replay.stdout).toMatch(/ticket_created\s+#\d+\s+acme ticket 730012 → billing/);
    expect((await cli(['parked', 'list'])).stdout).toBe('nothing is parked\n');
  });

  it('ticket list and show --json carry the documented fields and the thread', async () => {
    const tickets = json<Array<Record<string, unknown>>>(await cli(['ticket', 'list', '--json']));
    expect(tickets.map((t) => [t.remoteTicketId, t.department, t.status, t.messages])).toEqual([
      ['482913', 'hosting', 'open', 2],
      ['730012', 'billing', 'open', 1],
    ]);
    expect(Object.keys(tickets[0]!)).toEqual(expect.arrayContaining(['id', 'system', 'remoteTicketId', 'department', 'status', 'subject', 'customerEmail', 'customerName', 'messages', 'updatedAt']));
    const shown = json<{ thread: Array<{ direction: string; from: string; text: string; html: string | null; attachments: unknown[] }> }>(await cli(['ticket', 'show', String(tickets[0]!.id), '--json']));
    expect(shown.thread[0]).toMatchObject({ direction: 'remote', from: 'support@billing.acme.example', attachments: [{ name: 'ping.log', type: 'text/plain', size: 75, sha256: expect.any(String) }] });
    expect(json<unknown[]>(await cli(['ticket', 'list', '--department', 'billing', '--json']))).toHaveLength(1);
    expect((await cli(['ticket', 'list', '--status', 'pending'])).code).toBe(2);
    expect((await cli(['ticket', 'show', '999'])).stderr).toMatch(/unknown ticket #999/);
  });

  it('a backlog of files with notifications on (queued together at the end of each batch): one notification per ticket mail, each for its ticket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deskbridge-cli-backlog-'));
    try {
      const files = Array.from({ length: 30 }, (_, i) => {
        const file = join(dir, `${String(i).padStart(3, '0')}.eml`);
        writeFileSync(file, notification(i, 3, 'cli-backlog'));
        return file;
      });
      const notifying = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'cli-backlog-secret-0123456789' });
      const out = json<Array<{ state: string; ticketId: number }>>(await notifying(['ingest', '--json', ...files]));
      expect(out.map((r) => r.state)).toEqual(Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 'ticket_created' : 'ticket_updated')));
      const rows: Array<{ ticket_id: number; subject: string }> = await db.knex('outbox').where({ kind: 'notification' }).whereIn('ticket_id', out.map((r) => r.ticketId)).orderBy('id');
      expect(rows.map((r) => Number(r.ticket_id))).toEqual(out.map((r) => r.ticketId));
      expect(rows.every((r, i) => r.subject.startsWith(`[DB#${out[i]!.ticketId}] `))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a notification template that does not compile: the mail is recorded failed naming the file, and goes through once it is fixed', async () => {
    const overrides = mkdtempSync(join(tmpdir(), 'deskbridge-cli-templates-'));
    try {
      writeFileSync(join(overrides, 'notification.txt.hbs'), 'New ticket\n{{ticket.subjcet}}\n');
      const env = { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'cli-templates-secret-0123456789', DESKBRIDGE_TEMPLATES: overrides };
      const notifying = cliFor(db.url, env);
      const mail = notification(7001, 1, 'cli-bad-template');
      const [first] = json<Array<{ state: string; reason: string; inboundId: number }>>(await notifying(['ingest', '--json'], { input: mail }));
      expect(first).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^waiting for a configuration fix: template .*notification\.txt\.hbs line 2: "subjcet" not defined - 2:2$/) });
      expect(await db.knex('tickets').where({ remote_ticket_id: '107001' }).first()).toBeUndefined();
      // more piped mails while nobody has fixed it: the waiting ones are not retried while the templates still fail
      // (each call reports only its own mail), and none is parked for it
      for (const i of [7002, 7003, 7004]) {
        const out = json<Array<{ state: string }>>(await notifying(['ingest', '--json'], { input: notification(i, 1, 'cli-bad-template') }));
        expect(out).toEqual([expect.objectContaining({ state: 'failed' })]);
      }
      expect(await db.knex('inbound').where({ id: first!.inboundId }).first()).toMatchObject({ state: 'failed', attempts: 0 });
      // the admin fixes the template; the next ingest retries the failed mail first
      writeFileSync(join(overrides, 'notification.txt.hbs'), 'New ticket\n{{ticket.subject}}\n');
      const out = json<Array<{ state: string; inboundId: number }>>(await notifying(['ingest', '--json', f('billmgr-new.eml')]));
      expect(out.find((r) => r.inboundId === first!.inboundId)).toMatchObject({ state: 'ticket_created' });
      expect(out.filter((r) => r.state === 'ticket_created')).toHaveLength(4 + 1); // the four waiting, and the file
    } finally {
      rmSync(overrides, { recursive: true, force: true });
    }
  });

  it('an empty stdin is exit 2 and changes nothing, failed mails waiting to be retried included', async () => {
    const overrides = mkdtempSync(join(tmpdir(), 'deskbridge-cli-templates-'));
    try {
      writeFileSync(join(overrides, 'notification.txt.hbs'), '{{ticket.nosuch}}\n');
      const env = { DESKBRIDGE_SECRET: 'cli-templates-secret-0123456789' };
      const [failed] = json<Array<{ state: string; inboundId: number }>>(await cli(['ingest', '--json'], { input: notification(7101, 1, 'cli-empty-stdin'), env: { ...env, DESKBRIDGE_TEMPLATES: overrides } }));
      expect(failed).toMatchObject({ state: 'failed' });
      const before = { inbound: await db.knex('inbound').orderBy('id'), outbox: await count('outbox'), tickets: await count('tickets') };
      // the templates compile again: an ingest would retry the failed mail first, but this one has nothing to ingest
      const r = await cli(['ingest'], { input: '', env });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual(['deskbridge: ingest: no file named and nothing on stdin']);
      expect({ inbound: await db.knex('inbound').orderBy('id'), outbox: await count('outbox'), tickets: await count('tickets') }).toEqual(before);
    } finally {
      rmSync(overrides, { recursive: true, force: true });
    }
  });

  it('a mail on stdin past DESKBRIDGE_MAX_MESSAGE_BYTES is read for its head alone and recorded too_large with its full size, as a file is', async () => {
    const mail = notification(7201, 1, 'cli-big-stdin') + 'x'.repeat(76) + '\r\n'.repeat(1) + ('y'.repeat(76) + '\r\n').repeat(40_000); // ~3.1 MB
    const out = json<Array<{ file: string; inboundId: number; state: string; reason: string }>>(await cli(['ingest', '--json'], { input: mail, env: { DESKBRIDGE_MAX_MESSAGE_BYTES: '1000000' } }));
    const r = out.find((o) => o.file === 'stdin'); // after the failed mail of the test before, retried first
    expect(r).toMatchObject({ state: 'too_large', reason: expect.stringMatching(new RegExp(`^${Buffer.byteLength(mail)} bytes, over the limit of 1000000`)) });
    const row = (await db.knex('inbound').where({ id: r!.inboundId }).first()) as { size: number | string; raw: Uint8Array };
    expect(Number(row.size)).toBe(Buffer.byteLength(mail));
    expect(Buffer.from(row.raw).toString('latin1')).toBe(mail.slice(0, mail.indexOf('\r\n\r\n') + 4)); // its header block
  });

  it('a 400 MB mail on stdin costs the process no more memory than a small one: only its head is held', async () => {
    // bench/rss-probe.cjs writes the process's own peak RSS when it exits; held whole, this mail took 400 MB more
    const rssFile = join(mkdtempSync(join(tmpdir(), 'deskbridge-rss-')), 'rss');
    const child = spawn(process.execPath, ['--require', join(__dirname, '..', '..', 'bench', 'rss-probe.cjs'), BIN, 'ingest', '--json'], {
      env: { ...process.env, DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_CONFIG: undefined, DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_MAX_MESSAGE_BYTES: '1000000', DESKBRIDGE_RSS_FILE: rssFile },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const line = Buffer.alloc(1024 * 1024, 'z'); // one MiB of body, written 400 times as the pipe takes it
    const write = (b: Buffer | string) => new Promise<void>((resolve) => (child.stdin.write(b) ? resolve() : child.stdin.once('drain', resolve)));
    await write(notification(7301, 1, 'cli-huge-stdin'));
    for (let i = 0; i < 400; i++) await write(line);
    child.stdin.end();
    expect(await exited, stderr).toBe(0);
    const out = JSON.parse(stdout) as Array<{ file: string; state: string }>;
    expect(out.find((o) => o.file === 'stdin')).toMatchObject({ state: 'too_large' });
    const peakMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    rmSync(dirname(rssFile), { recursive: true, force: true });
    expect(peakMb).toBeLessThan(300); // a CLI run is ~100-200 MB (under tsx too); whole, this one was over 500
  }, 60_000);
});
