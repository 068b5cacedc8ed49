// A private Dovecot for tests and the benchmark: Debian's dovecot-imapd,
// started on a loopback port with its own config file, users and Maildirs
// under one folder, and stopped by its pid. No systemd, nothing under /etc.
//
//   npx tsx scripts/dovecot.ts start DIR [--port N] [--user NAME:PASSWORD]…
//   npx tsx scripts/dovecot.ts stop DIR
//
// `start` prints {"port":…,"pid":…,"dir":…} and leaves the server running;
// the test harness (test/helpers/dovecot.ts) uses the same functions.
// Run as root, Dovecot refuses to give mail to uid 0, so the mail processes
// run as Debian's `dovecot` user and the folder is opened to it; run as
// anyone else, everything runs as that user.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, openSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';

export const DOVECOT_BINARY = process.env.DOVECOT_BINARY ?? '/usr/sbin/dovecot';
const START_TIMEOUT_MS = 10_000; // Dovecot listens within ~100 ms; a slow CI machine gets more

export interface DovecotUser {
  name: string;
  password: string;
}

export interface DovecotServer {
  dir: string;
  port: number;
  pid: number;
  host: string;
}

export function dovecotInstalled(): boolean {
  return existsSync(DOVECOT_BINARY);
}

/** A free loopback port, asked of the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function mailOwner(): { uid: number; gid: number; user: string } {
  const me = userInfo();
  if (me.uid !== 0) return { uid: me.uid, gid: me.gid, user: me.username };
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('dovecot:'));
  if (!line) throw new Error('running as root needs the `dovecot` system user (apt-get install dovecot-imapd creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), user: 'dovecot' };
}

function config(dir: string, port: number): string {
  const owner = mailOwner();
  const me = userInfo();
  const asRoot = me.uid === 0;
  return `# written by scripts/dovecot.ts for a private test server
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%u
first_valid_uid = ${owner.uid}
last_valid_uid = ${owner.uid}
${asRoot ? '' : `default_login_user = ${me.username}\ndefault_internal_user = ${me.username}\n`}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${owner.uid} gid=${owner.gid} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
protocol imap {
  mail_max_userip_connections = 200
}
# one imap process per connection: room for the scale bench's 200+ mailboxes (the default is 100)
service imap {
  process_limit = 1024
}
default_client_limit = 2048
`;
}

function writeUsers(dir: string, users: DovecotUser[]): void {
  writeFileSync(join(dir, 'users'), users.map((u) => `${u.name}:{PLAIN}${u.password}`).join('\n') + '\n', { mode: 0o644 });
}

async function waitForPort(port: number, deadline: number, logFile: string): Promise<void> {
  const { connect } = await import('node:net');
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', (chunk) => {
        s.destroy();
        done(chunk.toString().startsWith('* OK'));
      });
      s.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '(no log)';
      throw new Error(`dovecot did not answer on 127.0.0.1:${port}; its log:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pidFile = (dir: string) => join(dir, 'run', 'master.pid');

/** Starts (or restarts, keeping its Maildirs) a private Dovecot in `dir`. */
export async function startDovecot(dirArg: string, options: { port?: number; users?: DovecotUser[] } = {}): Promise<DovecotServer> {
  if (!dovecotInstalled()) throw new Error(`${DOVECOT_BINARY} not found: apt-get install dovecot-imapd`);
  const dir = resolve(dirArg);
  const owner = mailOwner();
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub), { recursive: true });
  chmodSync(dir, 0o755); // the mail processes run as `owner` and must reach the Maildirs
  chownSync(join(dir, 'mail'), owner.uid, owner.gid);
  const saved = join(dir, 'port');
  const port = options.port ?? (existsSync(saved) ? Number(readFileSync(saved, 'utf8')) : await freePort());
  writeFileSync(saved, String(port));
  if (options.users || !existsSync(join(dir, 'users'))) writeUsers(dir, options.users ?? [{ name: 'bridge', password: 'bridge-secret' }]);
  writeFileSync(join(dir, 'dovecot.conf'), config(dir, port));
  // Dovecot daemonizes and its children keep the parent's stdio: give it a
  // file, not a pipe, or the caller would wait for the pipe to close forever.
  const out = openSync(join(dir, 'dovecot.start.log'), 'w');
  try {
    const started = spawnSync(DOVECOT_BINARY, ['-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', out, out] });
    if (started.status !== 0) throw new Error(`dovecot did not start (exit ${started.status}): ${readFileSync(join(dir, 'dovecot.start.log'), 'utf8').trim()}`);
  } finally {
    closeSync(out);
  }
  await waitForPort(port, Date.now() + START_TIMEOUT_MS, join(dir, 'dovecot.log'));
  return { dir, port, host: '127.0.0.1', pid: Number(readFileSync(pidFile(dir), 'utf8').trim()) };
}

/** Stops the Dovecot of `dir` by the pid in its pid file and waits until it is gone. */
export async function stopDovecot(dirArg: string): Promise<void> {
  const dir = resolve(dirArg);
  if (!existsSync(pidFile(dir))) return;
  const pid = Number(readFileSync(pidFile(dir), 'utf8').trim());
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  rmSync(pidFile(dir), { force: true });
}

async function cli(argv: string[]): Promise<void> {
  const [command, dir, ...rest] = argv;
  if (!dir || (command !== 'start' && command !== 'stop')) {
    process.stderr.write('usage: tsx scripts/dovecot.ts start DIR [--port N] [--user NAME:PASSWORD]… | stop DIR\n');
    process.exit(2);
  }
  if (command === 'stop') return stopDovecot(dir);
  const users: DovecotUser[] = [];
  let port: number | undefined;
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--port') port = Number(rest[i + 1]);
    else if (rest[i] === '--user') {
      const [name, password] = String(rest[i + 1]).split(':');
      users.push({ name: name!, password: password ?? '' });
    } else {
      process.stderr.write(`unknown option ${rest[i]}\n`);
      process.exit(2);
    }
  }
  const server = await startDovecot(dir, { port, users: users.length ? users : undefined });
  process.stdout.write(`${JSON.stringify(server)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(__filename)) {
  cli(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
