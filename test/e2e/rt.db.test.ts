// deskbridge against a real Request Tracker 5 (Debian's request-tracker5 on
// SQLite, scripts/rt.ts): mail in through rt-mailgate, mail out through a
// sendmail stand-in, the bridge driven through its real CLI (`ingest` of the
// mails RT sent it, `outbox flush` to a file: transport). RT is set to notify
// the actor, so every relay comes back from RT — the echo set-up. The queue is
// mapped by its name, which stock RT prints only in the create notification:
// every later notification must follow the ticket.
//
// One RT for the file; on the SQLite project only (RT's start and each CLI
// call dominate, the database under the bridge adds nothing the other e2e
// tests do not cover on PostgreSQL). Without RT installed it is skipped with
// a banner; under CI=true it must run.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailgate, rtInstalled, rtTicket, sentByRt, startRt, stopRt, type RtServer } from '../../scripts/rt';
import { getTicket } from '../../src/store/tickets';
import { cliFor, type CliResult } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';

const BRIDGE = 'bridge@support.example';
const QUEUE = { name: 'support', correspondAddress: 'support@rt.test' };
const ci = process.env.CI === 'true' || process.env.CI === '1';
const installed = rtInstalled();
if (!installed && BACKEND === 'sqlite') {
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n!! Request Tracker (request-tracker5, rt5-db-sqlite) is not installed: THE RT END-TO-END TEST IS SKIPPED.\n!! .ci/run installs it; under CI=true it must run.\n${bar}\n`);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const LOG_PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'); // a few binary bytes
const STAFF_PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from([0, 1, 2, 250, 251, 252, 13, 10]), Buffer.from('\n%%EOF\n')]);

describe.runIf(BACKEND === 'sqlite' && (installed || ci))('deskbridge against a real Request Tracker', { timeout: 240_000 }, () => {
  let rt: RtServer;
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  let cli: ReturnType<typeof cliFor>;
  let work: string;
  let seen = 0; // RT's sent mails handed to the bridge so far
  let flushed = new Set<string>();
  let ticketId = 0;

  const ok = (r: CliResult) => {
    expect(r.code, r.stderr).toBe(0);
    return r;
  };

  /** Every mail RT sent to the bridge since the last call, ingested through the CLI; the ledger results. */
  async function ingestFromRt(): Promise<Array<{ state: string; reason: string; ticketId: number | null }>> {
    const mails = sentByRt(rt).slice(seen);
    seen += mails.length;
    const forBridge = [];
    for (const m of mails) {
      const head = m.raw.subarray(0, m.raw.indexOf('\n\n')).toString().toLowerCase();
      if (/^(to|cc|bcc):.*bridge@support\.example/m.test(head)) forBridge.push(m.file);
    }
    if (forBridge.length === 0) return [];
    return JSON.parse(ok(await cli(['ingest', '--json', ...forBridge])).stdout);
  }

  /** Sends the bridge's due outbox rows to the file: transport; the new mails, parsed. */
  async function flush(): Promise<Array<{ name: string; raw: Buffer; mail: ParsedMail }>> {
    ok(await cli(['outbox', 'flush']));
    const dir = join(work, 'sent');
    const names = readdirSync(dir).filter((f) => f.endsWith('.eml') && !flushed.has(f)).sort();
    flushed = new Set([...flushed, ...names]);
    return Promise.all(names.map(async (name) => ({ name, raw: readFileSync(join(dir, name)), mail: await simpleParser(readFileSync(join(dir, name))) })));
  }

  /** A staff member's reply to a notification, as a mail client writes it: answer, signature, the quoted notification. */
  function staffReply(to: string, subject: string, body: string, attachment?: { name: string; content: Buffer }): string {
    const boundary = 'staff-b';
    return [
      'From: Anna Staff <anna@desk.test>',
      `To: ${to}`,
      `Subject: Re: ${subject}`,
      `Message-ID: <staff-${Math.random().toString(36).slice(2)}@desk.test>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
      '-- ',
      'Anna Staff, Desk Ltd',
      '',
      'On Mon, Nov 30, 2026 at 10:00 AM deskbridge <bridge@support.example> wrote:',
      '> My mail is down since noon.',
      '',
      ...(attachment
        ? [`--${boundary}`, `Content-Type: application/octet-stream; name="${attachment.name}"`, `Content-Disposition: attachment; filename="${attachment.name}"`, 'Content-Transfer-Encoding: base64', '', attachment.content.toString('base64'), '']
        : []),
      `--${boundary}--`,
      '',
    ].join('\r\n');
  }

  /** Staff reply → ingest → flush → the relay into RT through rt-mailgate; returns the relay as sent. */
  async function replyAsStaff(notification: ParsedMail, body: string, attachment?: { name: string; content: Buffer }) {
    const file = join(work, `staff-${Date.now()}.eml`);
    writeFileSync(file, staffReply(notification.replyTo!.value[0]!.address!, notification.subject!, body, attachment));
    const [result] = JSON.parse(ok(await cli(['ingest', '--json', file])).stdout);
    expect(result).toMatchObject({ state: 'staff_reply', ticketId });
    const relays = (await flush()).filter((m) => /-(relay|close)\.eml$/.test(m.name));
    expect(relays).toHaveLength(1);
    mailgate(rt, relays[0]!.raw, { queue: QUEUE.name });
    return relays[0]!;
  }

  const transactions = () =>
    JSON.parse(
      rtTicket(rt, 1, `my @out; my $txns = $t->Transactions; while (my $x = $txns->Next) { next unless $x->Type =~ /^(Create|Correspond|Status)$/; push @out, { type => $x->Type, creator => $x->CreatorObj->EmailAddress // '', content => $x->Type eq 'Status' ? $x->NewValue : $x->Content, files => [ map { { name => $_->Filename, sha => Digest::SHA::sha256_hex($_->OriginalContent) } } grep { $_->Filename } @{ $x->Attachments->ItemsArrayRef } ] }; } require JSON; require Digest::SHA; JSON::encode_json(\\@out)`),
    ) as Array<{ type: string; creator: string; content: string; files: Array<{ name: string; sha: string }> }>;
  const rtStatus = () => rtTicket(rt, 1, '$t->Status');

  beforeAll(async () => {
    if (!installed) throw new Error('CI=true: Request Tracker is not installed (request-tracker5, rt5-db-sqlite); .ci/run installs it');
    work = mkdtempSync(join(tmpdir(), 'deskbridge-rt-'));
    rt = await startRt(join(work, 'rt'), { bridgeAddress: BRIDGE, queue: QUEUE, notifyActor: true });
    db = await openTestDatabase('e2e_rt');
    cli = cliFor(db.url, { DESKBRIDGE_ADDRESS: BRIDGE, DESKBRIDGE_SECRET: 'rt-e2e-secret-0123456789', DESKBRIDGE_SMTP: `file:${join(work, 'sent')}` });
    // Without CommandByMail RT cannot be closed by mail: the same preset with relayClose false.
    const profile = rt.commandByMail ? ['--profile', 'rt'] : ['--profile-file', writeProfileWithoutClose(work)];
    ok(await cli(['system', 'add', 'rt', '--name', 'Request Tracker', '--from', QUEUE.correspondAddress, '--relay-to', QUEUE.correspondAddress, '--auth', 'none', ...profile])); // RT on loopback signs nothing; a real desk trusts its receiver's Authentication-Results
    ok(await cli(['department', 'add', 'hosting', '--name', 'Hosting', '--staff', 'Anna Staff <anna@desk.test>', '--staff-auth', 'token'])); // staff answer through their own reply address
    ok(await cli(['map', 'add', '--system', 'rt', '--remote-id', 'queue:support', '--name', 'support', '--department', 'hosting']));
  }, 300_000);
  afterAll(async () => {
    if (rt) stopRt(rt.dir);
    await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('customer mail into RT → the bridge files a ticket (queue by its Queue: line) and tells the staff, attachment and all', async () => {
    const customer = [
      'From: John Customer <john@customer.test>',
      `To: ${QUEUE.correspondAddress}`,
      'Subject: Mail is down',
      'Message-ID: <c1@customer.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="cb"',
      '',
      '--cb',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'My mail is down since noon.',
      '--cb',
      'Content-Type: image/png; name="log.png"',
      'Content-Disposition: attachment; filename="log.png"',
      'Content-Transfer-Encoding: base64',
      '',
      LOG_PNG.toString('base64'),
      '--cb--',
      '',
    ].join('\r\n');
    mailgate(rt, customer, { queue: QUEUE.name });
    const results = await ingestFromRt();
    expect(results).toEqual([expect.objectContaining({ state: 'ticket_created', reason: 'rt ticket rt.test #1 → hosting (by department name)' })]);
    ticketId = results[0]!.ticketId!;
    const shown = await getTicket(db.knex, ticketId);
    expect(shown).toMatchObject({ remoteTicketId: 'rt.test #1', subject: 'Mail is down', customerEmail: 'john@customer.test', customerName: 'John Customer', department: 'hosting' });
    const [note] = await flush();
    expect((note!.mail.to as { value: Array<{ address?: string }> }).value[0]!.address).toBe('anna@desk.test');
    expect(note!.mail.text).toContain('My mail is down since noon.');
    expect(note!.mail.attachments.map((a) => [a.filename, sha(a.content)])).toEqual([['log.png', sha(LOG_PNG)]]);
    (globalThis as { rtNotification?: ParsedMail }).rtNotification = note!.mail;
  });

  it('staff reply → RT correspondence on the same ticket, quote and signature gone, attachment byte-identical; RT\'s copy of it is an echo', async () => {
    const note = (globalThis as { rtNotification?: ParsedMail }).rtNotification!;
    const relay = await replyAsStaff(note, 'We restarted the mail service; please try again now.', { name: 'report.pdf', content: STAFF_PDF });
    expect(relay.mail.from!.value[0]).toEqual({ name: 'Anna Staff via Hosting', address: BRIDGE });
    const correspond = transactions().filter((x) => x.type === 'Correspond');
    expect(correspond).toHaveLength(1);
    expect(correspond[0]!.creator).toBe(BRIDGE);
    expect(correspond[0]!.content).toContain('We restarted the mail service; please try again now.');
    expect(correspond[0]!.content).not.toMatch(/wrote:|Desk Ltd|since noon/);
    expect(correspond[0]!.files).toEqual([{ name: 'report.pdf', sha: sha(STAFF_PDF) }]);
    // RT notifies the actor: its copy comes back, names our relay, carries its text
    const echoes = await ingestFromRt();
    expect(echoes.map((e) => e.state)).toEqual(['own_mail']);
    expect(echoes[0]!.reason).toMatch(/^echo of relay #\d+$/);
    expect(await flush()).toEqual([]); // nothing for staff
  });

  it('RT correspond (no queue named) → the same local ticket, by ticket; a customer reply quoting our relay is a message', async () => {
    rtTicket(rt, 1, `my ($ok, $msg) = $t->Correspond(Content => "Also, your quota was full; we raised it.\\n"); die $msg unless $ok; 1`);
    mailgate(rt, ['From: John Customer <john@customer.test>', `To: ${QUEUE.correspondAddress}`, 'Subject: Re: [rt.test #1] Mail is down', 'Message-ID: <c2@customer.test>', 'Content-Type: text/plain; charset=utf-8', '', 'Works now, thank you!', '', 'On Mon, Nov 30, 2026, Anna Staff via RT wrote:', '> We restarted the mail service; please try again now.', ''].join('\r\n'), { queue: QUEUE.name });
    const results = await ingestFromRt();
    expect(results.map((r) => [r.state, r.ticketId, r.reason])).toEqual([
      ['ticket_updated', ticketId, `rt ticket rt.test #1 → hosting (by ticket #${ticketId})`],
      ['ticket_updated', ticketId, `rt ticket rt.test #1 → hosting (by ticket #${ticketId})`],
    ]);
    const notes = await flush();
    expect(notes.map((n) => n.mail.text)).toEqual([expect.stringContaining('your quota was full'), expect.stringContaining('Works now, thank you!')]);
  });

  it('RT resolve → local close', async () => {
    rtTicket(rt, 1, `my ($ok, $msg) = $t->SetStatus('resolved'); die $msg unless $ok; 1`);
    const results = await ingestFromRt();
    expect(results.map((r) => r.state)).toEqual(['ticket_closed']);
    expect((await getTicket(db.knex, ticketId))!.status).toBe('closed');
    await flush();
  });

  it('a customer writing again reopens it on both sides; #close then resolves it in RT (CommandByMail) or closes it here only and tells the staff', async () => {
    mailgate(rt, ['From: John Customer <john@customer.test>', `To: ${QUEUE.correspondAddress}`, 'Subject: Re: [rt.test #1] Mail is down', 'Message-ID: <c3@customer.test>', 'Content-Type: text/plain; charset=utf-8', '', 'It is down again.', ''].join('\r\n'), { queue: QUEUE.name });
    expect(rtStatus()).toBe('open');
    const reopened = await ingestFromRt();
    expect(reopened).toEqual([expect.objectContaining({ state: 'ticket_updated', reason: expect.stringContaining('reopened') })]);
    const [note] = await flush();
    await replyAsStaff(note!.mail, '#close\nFixed for good: the disk was replaced.');
    expect((await getTicket(db.knex, ticketId))!.status).toBe('closed');
    const after = await ingestFromRt();
    if (rt.commandByMail) {
      expect(rtStatus()).toBe('resolved');
      // RT's copy of the close correspondence is an echo; its "Resolved:" notice closes an already closed ticket
      expect(after.map((r) => r.state).sort()).toEqual(['own_mail', 'ticket_closed']);
    } else {
      expect(rtStatus()).toBe('open');
      const notices = (await flush()).filter((m) => /closed here only/.test(m.mail.subject ?? ''));
      expect(notices).toHaveLength(1);
    }
    const last = transactions().filter((x) => x.type === 'Correspond').at(-1)!;
    expect(last.content).toContain('Fixed for good: the disk was replaced.');
  });
});

function writeProfileWithoutClose(dir: string): string {
  const preset = JSON.parse(readFileSync(join(__dirname, '..', '..', 'profiles', 'rt.json'), 'utf8'));
  const file = join(dir, 'rt-no-commandbymail.json');
  writeFileSync(file, JSON.stringify({ ...preset, name: 'rt-plain', relayClose: false }));
  return file;
}
