// Admin details (issue 13) through the real binary: profile show, profile
// test listing the extractors it tried, the close mail's signature, and the
// overlap note when a sender list is added.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, type CliResult } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { FIXTURES } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';
import { outboxMail } from '../helpers/outbox';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;

beforeAll(async () => {
  db = await openTestDatabase('cli_admin');
  await seedRouting(db);
  cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'admin-test-secret-0123456789' });
});
afterAll(async () => db?.drop());

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const closeMail = async (ticketId: number) => (await outboxMail(db.knex, Number(((await db.knex('outbox').where({ kind: 'close', ticket_id: ticketId }).first()) as { id: number }).id))).toString('utf8');

describe(`admin details on ${BACKEND}`, () => {
  it('profile show prints the stored profile; an unknown name lists the known systems', async () => {
    const shown = JSON.parse(ok(await cli(['profile', 'show', 'acme'])).stdout);
    expect(shown).toMatchObject({ name: 'whmcs', fields: { ticket: [expect.objectContaining({ from: 'subject' })] } });
    const bad = await cli(['profile', 'show', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown system "nope" \(known: acme, billmgr\)/);
  });

  it('profile test lists each extractor tried, in order, with what it matched', async () => {
    const r = ok(await cli(['profile', 'test', '--system', 'acme', join(FIXTURES, 'whmcs-new.eml')]));
    expect(r.stdout).toMatch(/^ticket:\s+"482913"\s+\(from subject .*\)\n\s+1\. subject \/\\\[Ticket ID: .* → "482913"$/m);
    expect(r.stdout).toMatch(/^event:\s+-\n\s+1\. subject \/\(\?<value>Ticket Closed.* → no match\n\s+2\. body .* → no match$/m);
  });

  it('ticket close signs the close mail with the department name, or --as NAME; never the Unix user', async () => {
    // a BILLmanager ticket: its `headers` profile closes by mail (WHMCS has no close by mail, so its close stays local)
    const [a] = JSON.parse(ok(await cli(['ingest', '--json', join(FIXTURES, 'billmgr-new.eml')])).stdout) as Array<{ ticketId: number }>;
    ok(await cli(['ticket', 'close', String(a!.ticketId), '--message', 'Fixed.']));
    const mail = await closeMail(a!.ticketId);
    expect(mail).toContain('Hosting'); // the department's name
    expect(mail).not.toMatch(new RegExp(`\\b${userInfo().username}\\b`));
    ok(await cli(['ticket', 'reopen', String(a!.ticketId)]));
    await db.knex('outbox').where({ kind: 'close', ticket_id: a!.ticketId }).del();
    ok(await cli(['ticket', 'close', String(a!.ticketId), '--as', 'Anna from Hosting']));
    expect(await closeMail(a!.ticketId)).toContain('Anna from Hosting');
  });

  it('system add reports a sender entry another system covers (the more specific one wins)', async () => {
    const r = ok(await cli(['system', 'add', 'acme-support', '--name', 'Acme support desk', '--from', 'support@billing.acme.example', '--relay-to', 'desk@billing.acme.example', '--profile', 'whmcs']));
    expect(r.stderr).toMatch(/note: support@billing\.acme\.example is inside system acme's @billing\.acme\.example: mail from support@billing\.acme\.example now goes here/);
  });
});
