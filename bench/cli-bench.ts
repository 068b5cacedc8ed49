// The path users run (issue 15), through `bin/deskbridge.js` as an admin or an
// MTA runs it, with staff notifications on (DESKBRIDGE_ADDRESS, DESKBRIDGE_SECRET
// and DESKBRIDGE_SMTP=file:DIR: every ticket event queues a notification):
//
//   (a) `deskbridge ingest FILE…` over N files (as xargs would call it), two
//       mixes — every mail a new ticket, and 1 new : 4 replies — each beside
//       mailparser alone over the same files, in adjacent pairs, the median
//       pair reported (one run of either can be off by 30% on a shared machine);
//   (c) PIPE_CALLS sequential single-mail `deskbridge ingest` calls with the
//       mail on stdin (`|deskbridge ingest` in an MTA's aliases): mails/s and
//       p50/p99 per call, beside `node -e ''` (what no Node.js program beats);
//   (e) the CLI process's peak RSS at N and 4N (bench/rss-probe.cjs, preloaded,
//       reports the process's own maxRSS when it exits).
//
// The figures are printed; nothing here asserts a speed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notification } from '../test/helpers/notifications';
import { seededBenchDatabase } from './seed';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'deskbridge.js');
const PROBE = join(__dirname, 'rss-probe.cjs');
const ARGS_PER_CALL = 2_500; // files per `deskbridge ingest` call: N = 5,000 in two calls, as xargs split it when the issue was measured

interface CliRun {
  seconds: number;
  peakRssMb: number;
  states: Record<string, number>;
  outbox: number;
}

function generate(n: number, perTicket: number, tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `deskbridge-clibench-${tag}-`));
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `${String(i).padStart(7, '0')}.eml`), notification(i, perTicket, tag));
  return dir;
}

/** The environment of a desk with notifications on, and nothing of the caller's DESKBRIDGE_* settings. */
function deskEnv(database: string, outDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DESKBRIDGE_')) env[k] = v;
  return {
    ...env,
    DESKBRIDGE_DATABASE: database,
    DESKBRIDGE_ADDRESS: 'bridge@support.example',
    DESKBRIDGE_SECRET: 'bench-secret-0123456789',
    DESKBRIDGE_SMTP: `file:${outDir}`,
    DESKBRIDGE_LOG_LEVEL: 'warn',
  };
}

/** Runs bin/deskbridge.js with the RSS probe; returns its wall time and peak RSS. */
function deskbridge(args: string[], env: NodeJS.ProcessEnv, input?: Buffer) {
  const rssFile = join(tmpdir(), `deskbridge-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--require', PROBE, BIN, ...args], { env: { ...env, DESKBRIDGE_RSS_FILE: rssFile }, input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) throw new Error(`deskbridge ${args[0]} exited ${run.status}: ${run.stderr.slice(0, 2000)}`);
  let peakRssMb = 0;
  try {
    peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
  } finally {
    rmSync(rssFile, { force: true });
  }
  return { seconds, peakRssMb, stdout: run.stdout };
}

async function freshDesk(): Promise<{ work: string; env: NodeJS.ProcessEnv; database: string }> {
  const work = mkdtempSync(join(tmpdir(), 'deskbridge-clibench-db-'));
  const database = join(work, 'bench.sqlite');
  const db = await seededBenchDatabase(database);
  await db.close();
  return { work, database, env: deskEnv(database, join(work, 'outbox')) };
}

async function countStates(database: string): Promise<{ states: Record<string, number>; outbox: number }> {
  const { openDatabase } = await import('../src/store/db');
  const db = openDatabase(database);
  try {
    const rows = (await db.knex('inbound').select('state').count({ n: '*' }).groupBy('state')) as Array<{ state: string; n: number | string }>;
    const outbox = Number((await db.knex('outbox').where({ kind: 'notification' }).count({ n: '*' }).first())!.n);
    return { states: Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])), outbox };
  } finally {
    await db.close();
  }
}

/** (a) and (e): every file through `deskbridge ingest`, ARGS_PER_CALL files a call. */
async function ingestFiles(dir: string, perCall = ARGS_PER_CALL): Promise<CliRun> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => join(dir, f));
  const desk = await freshDesk();
  try {
    let seconds = 0;
    let peakRssMb = 0;
    for (let i = 0; i < files.length; i += perCall) {
      const run = deskbridge(['ingest', ...files.slice(i, i + perCall)], desk.env);
      seconds += run.seconds;
      peakRssMb = Math.max(peakRssMb, run.peakRssMb);
    }
    return { seconds, peakRssMb, ...(await countStates(desk.database)) };
  } finally {
    rmSync(desk.work, { recursive: true, force: true });
  }
}

/** mailparser alone over the same files, in a process of its own (bench/ingest-bench.ts `parse`). */
function parseAlone(dir: string): { mailsPerSecond: number } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, 'ingest-bench.ts'), 'parse', dir, '-'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`parse failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const f0 = (x: number) => x.toFixed(0);

async function mixFigure(n: number, rounds: number, perTicket: number, label: string, print: (l: string) => void) {
  const dir = generate(n, perTicket, `mix${perTicket}`);
  try {
    const pairs: Array<{ parse: number; cli: number; run: CliRun; ratio: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const parse = parseAlone(dir).mailsPerSecond;
      const run = await ingestFiles(dir);
      const cli = n / run.seconds;
      pairs.push({ parse, cli, run, ratio: cli / parse });
    }
    pairs.sort((a, b) => a.ratio - b.ratio);
    const mid = pairs[Math.floor(pairs.length / 2)]!;
    print(`cli ingest (${label}): ${n} files through bin/deskbridge.js ingest (${ARGS_PER_CALL} a call), notifications on, SQLite; median of ${rounds} pairs (ratios ${pairs.map((p) => p.ratio.toFixed(2)).join(', ')})`);
    print(`  mailparser alone:          ${f0(mid.parse)} mails/s`);
    print(`  deskbridge ingest:         ${f0(mid.cli)} mails/s   states ${JSON.stringify(mid.run.states)}, ${mid.run.outbox} notifications queued`);
    print(`  ratio ingest/parser:       ${mid.ratio.toFixed(2)}   (bar >= 0.50: ${mid.ratio >= 0.5 ? 'met' : 'NOT met'}; goal 0.80)`);
    print(`  peak RSS of the CLI:       ${f0(mid.run.peakRssMb)} MB`);
    return mid.run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `deskbridge run` serving DESKBRIDGE_INGEST_SOCKET (no mailbox: an MTA-pipe desk), until `stop()`. */
async function runningBridge(env: NodeJS.ProcessEnv, socket: string) {
  const proc = spawn(process.execPath, [BIN, 'run'], { env: { ...env, DESKBRIDGE_INGEST_SOCKET: socket, DESKBRIDGE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!existsSync(socket)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error('deskbridge run did not open its ingest socket');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Calls `deskbridge ingest` once per mail, the mail on stdin, one after another; ms per call. */
function pipeCalls(calls: number, env: NodeJS.ProcessEnv, tag: string): number[] {
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) ms.push(deskbridge(['ingest'], env, Buffer.from(notification(i, 5, tag))).seconds * 1000);
  return ms.sort((a, b) => a - b);
}

/**
 * (c): one process per mail, the mail on stdin, one after another — on its
 * own (each call starts the parser and opens the database), and handing the
 * mail to a running `deskbridge run` over DESKBRIDGE_INGEST_SOCKET, as a
 * desk whose mail comes through an MTA pipe runs it.
 */
async function pipeFigure(calls: number, print: (l: string) => void) {
  const desk = await freshDesk();
  try {
    const nodeMs: number[] = [];
    for (let i = 0; i < Math.min(calls, 20); i++) {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '']);
      nodeMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    nodeMs.sort((a, b) => a - b);
    const alone = pipeCalls(calls, desk.env, 'pipe');
    const socket = join(desk.work, 'ingest.sock');
    const bridge = await runningBridge(desk.env, socket);
    let served: number[];
    try {
      served = pipeCalls(calls, { ...desk.env, DESKBRIDGE_INGEST_SOCKET: socket }, 'pipe-served');
    } finally {
      await bridge.stop();
    }
    const { states, outbox } = await countStates(desk.database);
    const rate = (ms: number[]) => ms.length / (ms.reduce((a, b) => a + b, 0) / 1000);
    const bar = (r: number) => `(bar >= 5: ${r >= 5 ? 'met' : 'NOT met'})`;
    print(`mta pipe: ${calls} sequential \`deskbridge ingest\` calls, one mail each on stdin, notifications on, SQLite`);
    print(`  node -e '' alone:          p50 ${f0(percentile(nodeMs, 50))} ms`);
    print(`  on its own, per call:      p50 ${f0(percentile(alone, 50))} ms   p99 ${f0(percentile(alone, 99))} ms   ${rate(alone).toFixed(1)} mails/s   ${bar(rate(alone))}`);
    print(`  handed to \`deskbridge run\` (DESKBRIDGE_INGEST_SOCKET), per call: p50 ${f0(percentile(served, 50))} ms   p99 ${f0(percentile(served, 99))} ms   ${rate(served).toFixed(1)} mails/s   ${bar(rate(served))}`);
    print(`  all ${2 * calls} calls: states ${JSON.stringify(states)}, ${outbox} notifications queued`);
  } finally {
    rmSync(desk.work, { recursive: true, force: true });
  }
}

/** (e): one CLI call over N, then over 4N new-ticket mails (all files in one call): does memory stay flat? */
async function rssFigure(n: number, rounds: number, print: (l: string) => void) {
  const small = generate(n, 1, 'rss1');
  const large = generate(4 * n, 1, 'rss4');
  try {
    // a process's peak RSS moves by ~10% from run to run with the GC's timing: each size is run `rounds` times,
    // alternately, and the medians compared
    const runs: Array<{ a: CliRun; b: CliRun }> = [];
    for (let r = 0; r < rounds; r++) runs.push({ a: await ingestFiles(small, Infinity), b: await ingestFiles(large, Infinity) });
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const a = median(runs.map((r) => r.a.peakRssMb));
    const b = median(runs.map((r) => r.b.peakRssMb));
    const growth = b / a - 1;
    print(`cli peak RSS: one \`deskbridge ingest\` call over all files, notifications on, every mail a new ticket; median of ${rounds} runs each (N: ${runs.map((r) => f0(r.a.peakRssMb)).join(', ')} MB; 4N: ${runs.map((r) => f0(r.b.peakRssMb)).join(', ')} MB)`);
    print(`  N=${n}:  ${f0(a)} MB   4N=${4 * n}: ${f0(b)} MB   growth ${(growth * 100).toFixed(0)}%   (bar within 25%: ${growth <= 0.25 ? 'met' : 'NOT met'})`);
    // one process over all the files: its start-up and the JIT's warm-up are paid once, not once per xargs call as in (a)
    const speed = (xs: number[]) => f0(median(xs));
    print(`  the same calls' speed (median): ${speed(runs.map((r) => n / r.a.seconds))} mails/s over N, ${speed(runs.map((r) => (4 * n) / r.b.seconds))} mails/s over 4N in one call`);
  } finally {
    rmSync(small, { recursive: true, force: true });
    rmSync(large, { recursive: true, force: true });
  }
}

/** `parts`: 'pipe' runs (c) alone (BENCH_ONLY=pipe), for work on the start-up of a single-mail call; 'mix' runs (a) alone (BENCH_ONLY=mix); 'rss' runs (e) alone (BENCH_ONLY=rss). */
export async function cliBench(n: number, rounds: number, pipeCalls: number, print: (l: string) => void = console.log, parts: 'all' | 'pipe' | 'mix' | 'rss' = 'all'): Promise<void> {
  if (parts === 'pipe') return pipeFigure(pipeCalls, print);
  if (parts === 'rss') return rssFigure(n, rounds, print);
  await mixFigure(n, rounds, 1, 'every mail a new ticket', print);
  await mixFigure(n, rounds, 5, '1 new : 4 replies', print);
  if (parts === 'mix') return;
  await pipeFigure(pipeCalls, print);
  await rssFigure(n, rounds, print);
}

if (require.main === module) {
  cliBench(Number(process.env.BENCH_N ?? 5000), Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3)), Number(process.env.BENCH_PIPE_CALLS ?? 200), console.log, process.env.BENCH_ONLY === 'pipe' || process.env.BENCH_ONLY === 'mix' ? process.env.BENCH_ONLY : 'all').catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
