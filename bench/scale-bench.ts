// `npm run bench:scale`: several `deskbridge run` processes on one machine,
// one PostgreSQL and a private Dovecot with BENCH_MAILBOXES mailboxes
// (default 200) shared by BENCH_PROCESSES processes (default 4):
//   - memory per idle mailbox: the processes' RSS once every mailbox is read
//     and idle, less that many processes reading one mailbox each, per mailbox;
//   - time from start until every mailbox has been read (one mail in each);
//   - takeover after kill -9 of one process: until its mailboxes are held again;
//   - backlog throughput: BENCH_PER_MAILBOX mails (default 10) in every
//     mailbox, read by the processes vs by one process alone.
// DESKBRIDGE_BENCH_PG names the PostgreSQL (default the test one); a schema of
// its own is made and dropped. Lease period BENCH_LEASE_SECONDS (default 10).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import knexFactory from 'knex';
import { startDovecot, stopDovecot } from '../scripts/dovecot';
import { notification } from '../test/helpers/notifications';
import { seededBenchDatabase } from './seed';

const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 200);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 4);
const PER_MAILBOX = Number(process.env.BENCH_PER_MAILBOX ?? 10);
const LEASE_SECONDS = Number(process.env.BENCH_LEASE_SECONDS ?? 10);
const PG = process.env.DESKBRIDGE_BENCH_PG ?? process.env.DESKBRIDGE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const PASSWORD = 'bench-pw';
const BIN = join(__dirname, '..', 'bin', 'deskbridge.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not reached in ${timeoutMs} ms`);
    await sleep(100);
  }
  return Date.now() - start;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'deskbridge-scale-'));
  const users = Array.from({ length: MAILBOXES }, (_, i) => ({ name: `box${i + 1}`, password: PASSWORD }));
  const dovecot = await startDovecot(dir, { users });
  const schema = `bench_scale_${process.pid}`;
  const admin = knexFactory({ client: 'pg', connection: PG, pool: { min: 0, max: 1 } });
  await admin.raw('create schema ??', [schema]);
  const url = `${PG}${PG.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const db = await seededBenchDatabase(url);
  const children = new Set<ChildProcess>();
  const imap = users.map((u) => `imap://${u.name}:${PASSWORD}@127.0.0.1:${dovecot.port}/INBOX`);
  let runs = 0;
  const run = (mailboxes: string[]) => {
    const child = spawn(process.execPath, [BIN, 'run'], {
      env: { ...process.env, DESKBRIDGE_CONFIG: '', DESKBRIDGE_DATABASE: url, DESKBRIDGE_IMAP: mailboxes.join(' '), DESKBRIDGE_SECRET: 'bench-secret-0123456789', DESKBRIDGE_LOG_LEVEL: process.env.BENCH_LOG_DIR ? 'info' : 'warn', DESKBRIDGE_LEASE_SECONDS: String(LEASE_SECONDS) },
      cwd: dir,
      stdio: ['ignore', process.env.BENCH_LOG_DIR ? openSync(join(process.env.BENCH_LOG_DIR, `run-${runs++}.log`), 'w') : 'ignore', 'inherit'],
    });
    children.add(child);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    return { child, exited, stop: async (signal: NodeJS.Signals = 'SIGTERM') => (child.kill(signal), await exited, children.delete(child)) };
  };
  const ledger = async () => Number(((await db.knex('inbound').count({ n: '*' }).first()) as { n: string }).n);
  let rounds = 0;
  const fill = async (perBox: number) => {
    const round = rounds++;
    let i = 0;
    const lane = async () => {
      for (let b = i++; b < MAILBOXES; b = i++) {
        const c = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: users[b]!.name, pass: PASSWORD }, logger: false });
        await c.connect();
        for (let k = 0; k < perBox; k++) await c.append('INBOX', notification(b * 100_000 + round * 1000 + k, 5, `scale${round}`));
        await c.logout();
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
  };
  try {
    const f = (x: number) => x.toFixed(0);
    console.log(`scale benchmark: ${MAILBOXES} mailboxes, ${PROCESSES} run processes, one PostgreSQL, one Dovecot, lease ${LEASE_SECONDS} s, ${PER_MAILBOX} mails per mailbox for the backlog`);
    // baseline: PROCESSES processes reading one mailbox each, idle
    const base = Array.from({ length: PROCESSES }, (_, p) => run([imap[p]!]));
    await sleep(8_000);
    const baseRss = base.reduce((a, r) => a + rssMb(r.child.pid!), 0);
    for (const r of base) await r.stop();
    await db.knex('mailbox_cursors').delete();

    await fill(1);
    const startedAt = Date.now();
    let procs = Array.from({ length: PROCESSES }, () => run(imap));
    await until(async () => (await ledger()) >= MAILBOXES, 300_000, 'every mailbox read');
    const readAllMs = Date.now() - startedAt;
    await sleep(5_000); // idle
    const clusterRss = procs.reduce((a, r) => a + rssMb(r.child.pid!), 0);
    const perMailboxKb = ((clusterRss - baseRss) * 1024) / (MAILBOXES - PROCESSES);
    console.log(`  memory: ${f(clusterRss)} MB RSS for ${PROCESSES} processes reading ${MAILBOXES} idle mailboxes; ${f(baseRss)} MB for ${PROCESSES} reading one each → ${f(perMailboxKb)} KB per idle mailbox`);
    console.log(`  every mailbox read ${(readAllMs / 1000).toFixed(1)} s after start`);

    // takeover after kill -9 of one process
    const holders = async () => new Map(((await db.knex('mailbox_cursors').select('lease_owner').count({ n: '*' }).whereRaw('lease_until > clock_timestamp()').groupBy('lease_owner')) as Array<{ lease_owner: string; n: string }>).map((r) => [Number(r.lease_owner.split(':')[1]), Number(r.n)]));
    const victim = procs[0]!;
    const victimHeld = (await holders()).get(victim.child.pid!) ?? 0;
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    await until(async () => {
      const h = await holders();
      return !h.has(victim.child.pid!) && [...h.values()].reduce((a, b) => a + b, 0) === MAILBOXES;
    }, 120_000, 'takeover');
    const takeoverMs = Date.now() - killedAt;
    console.log(`  kill -9 of a process holding ${victimHeld}: its mailboxes held again after ${(takeoverMs / 1000).toFixed(1)} s (lease ${LEASE_SECONDS} s)`);
    for (const r of procs.slice(1)) await r.stop();

    // backlog: the processes vs one process alone, the same number of mails in every mailbox
    const backlog = async (n: number) => {
      await fill(PER_MAILBOX);
      const before = await ledger();
      const t0 = Date.now();
      procs = Array.from({ length: n }, () => run(imap));
      await until(async () => (await ledger()) >= before + MAILBOXES * PER_MAILBOX, 600_000, `backlog with ${n}`).catch(async (err: Error) => {
        throw new Error(`${err.message}: ${(await ledger()) - before} of ${MAILBOXES * PER_MAILBOX} mails read`);
      });
      const ms = Date.now() - t0;
      for (const r of procs) await r.stop();
      return (MAILBOXES * PER_MAILBOX * 1000) / ms;
    };
    const many = await backlog(PROCESSES);
    const one = await backlog(1);
    console.log(`  backlog of ${MAILBOXES * PER_MAILBOX} mails: ${f(many)} mails/s with ${PROCESSES} processes, ${f(one)} mails/s with one (×${(many / one).toFixed(2)})`);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await db.close();
    await admin.raw('drop schema if exists ?? cascade', [schema]);
    await admin.destroy();
    await stopDovecot(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
