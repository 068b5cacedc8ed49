// `npm run demo`: the whole round trip on one machine, with no servers:
// SQLite in a temp folder, the sample notifications in examples/ ingested,
// the staff notification and the relay written as .eml files
// (DESKBRIDGE_SMTP=file:DIR), a staff reply fed back. Every step runs the
// real `deskbridge` command and prints it, so it doubles as a tour of the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'deskbridge-demo-'));
const outbox = join(work, 'outbox');
// The caller's own DESKBRIDGE_* settings (a DESKBRIDGE_SECRET_FILE exported
// as the README recommends, a production database) must not leak into the demo.
const callerEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DESKBRIDGE_')));
const env = {
  ...callerEnv,
  DESKBRIDGE_CONFIG: join(work, 'deskbridge.config.json'),
  DESKBRIDGE_DATABASE: join(work, 'demo.sqlite'),
  DESKBRIDGE_SMTP: `file:${outbox}`,
  DESKBRIDGE_ADDRESS: 'bridge@support.example',
  DESKBRIDGE_SECRET: 'demo-secret-change-me-0123456789',
  DESKBRIDGE_INSTANCE: 'demo',
  // the examples carry the Authentication-Results header this receiving server would stamp (examples/README.md)
  DESKBRIDGE_AUTHSERV_ID: 'mx.support.example',
};

function step(title: string): void {
  process.stdout.write(`\n== ${title}\n`);
}

function deskbridge(...args: string[]): string {
  process.stdout.write(`$ deskbridge ${args.map((a) => (/[\s"]/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'deskbridge-dev.cjs'), ...args], { env, encoding: 'utf8', cwd: work });
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`deskbridge ${args[0]} failed (exit ${r.status})`);
  }
  return r.stdout;
}

function header(raw: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(raw);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, ' ').trim() : '';
}

function showMail(file: string): string {
  const raw = readFileSync(join(outbox, file), 'utf8');
  for (const h of ['From', 'To', 'Reply-To', 'Subject', 'In-Reply-To', 'Auto-Submitted', 'X-Deskbridge-Loop', 'X-Ticket-ID']) {
    const v = header(raw, h);
    if (v) process.stdout.write(`   ${h}: ${v}\n`);
  }
  return raw;
}

const example = (name: string) => join(root, 'examples', name);

try {
  process.stdout.write(`deskbridge demo — everything lives in ${work}\n`);
  step('1. A database, a system (WHMCS, as Acme runs it), a department and the correspondence between them');
  deskbridge('init');
  deskbridge('system', 'add', 'acme', '--name', 'Acme WHMCS', '--from', '@billing.acme.example', '--relay-to', 'support@billing.acme.example', '--profile', 'whmcs');
  deskbridge('department', 'add', 'hosting', '--name', 'Hosting support', '--staff', 'anna@support.example');
  deskbridge('map', 'add', '--system', 'acme', '--remote-id', 'support@billing.acme.example', '--name', 'Technical Support', '--department', 'hosting');
  deskbridge('map', 'list');

  step('2. WHMCS mails a new ticket and a client reply (what `deskbridge run` reads from IMAP, here from files), and someone forges a third');
  // the forgery: the first notification again, without the receiving server's Authentication-Results
  const forged = readFileSync(example('1-whmcs-new-ticket.eml'), 'utf8').replace(/^Authentication-Results:.*(\r?\n[ \t].*)*\r?\n/, '').replace('<whmcs-730411-1@', '<forged-730411-1@');
  const forgedFile = join(work, 'forged.eml');
  writeFileSync(forgedFile, forged);
  deskbridge('ingest', example('1-whmcs-new-ticket.eml'), example('2-whmcs-client-reply.eml'), forgedFile);
  deskbridge('ticket', 'list');

  step('3. The staff notifications go out (DESKBRIDGE_SMTP=file:… writes them as .eml files)');
  deskbridge('outbox', 'flush');
  const notifications = readdirSync(outbox).filter((f) => f.endsWith('-notification.eml')).sort();
  let last = '';
  for (const file of notifications) {
    process.stdout.write(` ${file}\n`);
    last = showMail(file);
  }

  step('4. Anna answers the last notification from her mail client (quote and signature included)');
  const reply = readFileSync(example('3-staff-reply.eml'), 'utf8').replace('__REPLY_TO__', header(last, 'Reply-To')).replace('__SUBJECT__', header(last, 'Subject'));
  const replyFile = join(work, 'anna-reply.eml');
  writeFileSync(replyFile, reply);
  deskbridge('ingest', replyFile);

  step('5. The relay goes to WHMCS, in the form WHMCS files under its own ticket');
  deskbridge('outbox', 'flush');
  const relay = readdirSync(outbox).find((f) => f.endsWith('-relay.eml'))!;
  process.stdout.write(` ${relay}\n`);
  const raw = showMail(relay);
  const body = raw.split(/\r?\n\r?\n/).find((part, i) => i > 0 && /restored the kernel/.test(part));
  if (body) process.stdout.write(`   body: ${body.split(/\r?\n/)[0]!.trim()} …\n`);

  step('6. The ticket with its whole thread, and the ledger of every mail received');
  deskbridge('ticket', 'show', '1');
  deskbridge('inbox', 'list');
  process.stdout.write(`\nDone. The database and the .eml files are in ${work}\n`);
} catch (err) {
  process.stderr.write(`demo failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
