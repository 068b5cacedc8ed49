// Issue 10, the CLI under bad mail: `deskbridge ingest` exits 0 when every
// mail got a ledger state (failed included), --json prints only JSON, no
// stack trace at the default log level; human output escapes control
// characters from mail text while --json keeps them exact.
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;
const dir = mkdtempSync(join(tmpdir(), 'deskbridge-hostile-cli-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text, 'latin1');
  return join(dir, name);
};

beforeAll(async () => {
  db = await openTestDatabase('cli_hostile');
  await seedRouting(db);
  // every mail of this system throws while it is decided: a `failed` mail
  await db.knex('systems').where({ slug: 'billmgr' }).update({ profile_json: '{"name": "broken", "fields": ' });
  cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example' });
});
afterAll(async () => db?.drop());

describe(`deskbridge ingest under bad mail on ${BACKEND}`, () => {
  it('exit 0 with every mail in a ledger state, --json stdout is JSON alone, no stack trace', async () => {
    let nested = 'x\r\n';
    for (let i = 0; i < 40; i++) nested = `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n${nested}\r\n--n${i}--\r\n`;
    const files = [
      file('failing.eml', 'From: noreply@bill.example\r\nSubject: t\r\nX-Ticket-ID: 1\r\nX-Department-ID: 12\r\n\r\nhi\r\n'),
      file('deep.eml', `From: x@y.example\r\nSubject: deep\r\n${nested}`),
      file('long-from.eml', `From: ${'a'.repeat(400)}@x.example\r\nSubject: long\r\n\r\nhi\r\n`),
      file('escape.eml', 'From: Support <support@billing.acme.example>\r\nSubject: [Ticket ID: ESC001] =?utf-8?Q?Evil=1B[2J_subject?=\r\nMessage-ID: <esc@x>\r\n\r\nClient: Eve <eve@customer.example>\r\nBody \x1b[31mred\x1b[0m and \x1b]0;title\x07\r\n'),
      file('garbage.eml', '\x00\x01\x02 not a mail at all \xff\xfe'),
    ];
    const r = await cli(['ingest', '--json', ...files]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Array<{ file: string; state: string; reason: string | null }>;
    expect(out.map((m) => [m.file.slice(dir.length + 1), m.state])).toEqual([
      ['failing.eml', 'failed'],
      ['deep.eml', 'too_large'],
      ['long-from.eml', 'rejected_sender'],
      ['escape.eml', 'ticket_created'],
      ['garbage.eml', 'rejected_sender'],
    ]);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a file past the message limit, even past 2 GiB, is read for its headers alone: too_large with its subject, and the files beside it go on', async () => {
    const huge = file('huge.eml', 'From: Support <support@billing.acme.example>\r\nSubject: [Ticket ID: BIG001] a huge mail\r\nMessage-ID: <huge@x>\r\n\r\nthe start of a body\r\n');
    truncateSync(huge, 3 * 1024 ** 3); // sparse: 3 GiB long, next to nothing on disk
    const after = file('after-huge.eml', 'From: Support <support@billing.acme.example>\r\nSubject: [Ticket ID: BIG002] after it\r\nMessage-ID: <after-huge@x>\r\n\r\nClient: Eve <eve@customer.example>\r\nhello\r\n');
    const r = await cli(['ingest', '--json', huge, after]);
    expect(r.code, r.stderr).toBe(0);
    // (the failed mail of the test before is retried first)
    const out = (JSON.parse(r.stdout) as Array<{ file: string; state: string; reason: string | null; inboundId: number }>).filter((m) => m.file !== join(dir, 'failing.eml'));
    expect(out.map((m) => [m.file, m.state])).toEqual([
      [huge, 'too_large'],
      [after, 'ticket_created'],
    ]);
    expect(out[0]!.reason).toContain(`${3 * 1024 ** 3} bytes, over the limit`);
    const shown = await cli(['inbox', 'show', String(out[0]!.inboundId), '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ subject: '[Ticket ID: BIG001] a huge mail', size: 3 * 1024 ** 3 });
  });

  it('mails past the limit are known by their head and their size: a whole mail of those bytes, or a larger one that only begins the same way, is no duplicate of it; the same file again is', async () => {
    const small = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_MAX_MESSAGE_BYTES: String(300 * 1024) });
    const mail = `From: reports@elsewhere.example\r\nSubject: a large report\r\n\r\n${Array.from({ length: 20_000 }, (_, i) => `line ${i} of a long report\r\n`).join('')}`; // ~530 KiB, no Message-ID
    const large = file('large.eml', mail.slice(0, 400 * 1024)); // past the limit: read for its first 256 KiB
    const larger = file('larger.eml', mail.slice(0, 500 * 1024)); // the same first 256 KiB
    const head = file('large-head.eml', mail.slice(0, 256 * 1024)); // a whole mail, those very 256 KiB
    const r = await small(['ingest', '--json', large, larger, head, large]);
    expect(r.code, r.stderr).toBe(0);
    const out = (JSON.parse(r.stdout) as Array<{ file: string; state: string; reason: string | null }>).filter((m) => m.file !== join(dir, 'failing.eml'));
    expect(out.map((m) => [m.file.slice(dir.length + 1), m.state])).toEqual([
      ['large.eml', 'too_large'],
      ['larger.eml', 'too_large'],
      ['large-head.eml', 'rejected_sender'],
      ['large.eml', 'duplicate'],
    ]);
  });

  it('ticket show and list escape control characters; --json keeps them exact', async () => {
    const human = await cli(['ticket', 'show', '1']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(human.stdout).toContain('Body \\x1b[31mred\\x1b[0m and \\x1b]0;title\\x07');
    const list = await cli(['ticket', 'list']);
    expect(list.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(list.stdout).toContain('Evil [2J subject'); // the stored subject lost its ESC already
    const json = JSON.parse((await cli(['ticket', 'show', '1', '--json'])).stdout) as { thread: Array<{ text: string }> };
    expect(json.thread[0]!.text).toContain('Body \x1b[31mred\x1b[0m');
  });
});
