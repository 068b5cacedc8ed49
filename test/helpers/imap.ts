// The IMAP side of the end-to-end tests: a private Dovecot per test file
// (scripts/dovecot.ts), users added on the fly (Dovecot re-reads its
// passwd-file), mail APPENDed and inspected with a plain imapflow client, and
// `deskbridge run` as a real child process whose JSON log lines are kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { dovecotInstalled, DOVECOT_BINARY, freePort, startDovecot, stopDovecot, type DovecotServer } from '../../scripts/dovecot';
import { BIN } from './cli';

export { freePort };

export async function privateDovecot(): Promise<DovecotServer & { stop(): Promise<void>; restart(): Promise<void>; remove(): Promise<void> }> {
  if (!dovecotInstalled()) {
    throw new Error(`Dovecot is not installed (${DOVECOT_BINARY}): the IMAP tests need a real server. Install it with: apt-get install dovecot-imapd (.ci/run does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'deskbridge-dovecot-'));
  // Users are made up front: Dovecot notices a changed passwd-file by its
  // mtime, whose one-second grain misses a user added in the same second.
  const server = await startDovecot(dir, { users: Array.from({ length: USERS }, (_, i) => ({ name: `user${i + 1}`, password: PASSWORD })) });
  return {
    ...server,
    stop: () => stopDovecot(dir),
    restart: async () => {
      await startDovecot(dir, { port: server.port });
    },
    remove: async () => {
      await stopDovecot(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const USERS = 40;
const PASSWORD = 'secret-pw';
const handedOut = new Map<string, number>();
/** A mail user nobody used before in this Dovecot, with its own INBOX: tests in one file never see each other's mail. */
export function addUser(server: DovecotServer): { name: string; password: string; url: (mailbox?: string, pass?: string) => string } {
  const n = (handedOut.get(server.dir) ?? 0) + 1;
  if (n > USERS) throw new Error(`privateDovecot has ${USERS} users; raise USERS in test/helpers/imap.ts`);
  handedOut.set(server.dir, n);
  const name = `user${n}`;
  const password = PASSWORD;
  return { name, password, url: (mailbox = 'INBOX', pass = password) => `imap://${name}:${encodeURIComponent(pass)}@127.0.0.1:${server.port}/${mailbox}` };
}

export async function imapClient(server: DovecotServer, user: { name: string; password: string }): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, auth: { user: user.name, pass: user.password }, logger: false });
  await client.connect();
  return client;
}

/** APPENDs mails over one connection; returns their UIDs. */
export async function appendMails(server: DovecotServer, user: { name: string; password: string }, mails: Array<string | Buffer>, options: { mailbox?: string; flags?: string[] } = {}): Promise<number[]> {
  const client = await imapClient(server, user);
  try {
    const uids: number[] = [];
    for (const mail of mails) {
      const r = await client.append(options.mailbox ?? 'INBOX', mail, options.flags ?? []);
      if (r && r.uid) uids.push(r.uid);
    }
    return uids;
  } finally {
    await client.logout();
  }
}

/** Each message's UID and flags in a mailbox. */
export async function mailboxFlags(server: DovecotServer, user: { name: string; password: string }, mailbox = 'INBOX'): Promise<Array<{ uid: number; flags: string[] }>> {
  const client = await imapClient(server, user);
  try {
    const box = await client.mailboxOpen(mailbox, { readOnly: true });
    if (box.exists === 0) return [];
    const out: Array<{ uid: number; flags: string[] }> = [];
    for await (const m of client.fetch('1:*', { uid: true, flags: true })) out.push({ uid: m.uid, flags: [...(m.flags ?? [])].sort() });
    return out;
  } finally {
    await client.logout();
  }
}

export interface BridgeProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<number | null>;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `deskbridge run` as a child process, logs as parsed JSON lines. */
export function startBridge(env: Record<string, string>): BridgeProcess {
  const child = spawn(process.execPath, [BIN, 'run'], {
    env: { ...process.env, DESKBRIDGE_CONFIG: '', DESKBRIDGE_SECRET: 'test-secret-0123456789', DESKBRIDGE_LOG_LEVEL: 'debug', ...env },
    cwd: mkdtempSync(join(tmpdir(), 'deskbridge-run-')),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let err = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    stderr: () => err,
    exited,
    waitForLog(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such log line in ${timeoutMs} ms; last lines:\n${logs.slice(-8).map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${err}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Polls `probe` until it returns a truthy value or the time is up. */
export async function eventually<T>(probe: () => Promise<T>, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
