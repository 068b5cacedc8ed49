// A private Request Tracker for the RT end-to-end test and for trying the
// bridge by hand: Debian's request-tracker5 on a SQLite file, served by its
// own rt-server (Plack's standalone server) on a loopback port. No Apache, no
// systemd, nothing under /etc: RT reads a site config from the folder
// (RT_SITE_CONFIG, and RT_SITE_CONFIG_DIR pointed at an empty folder so the
// Debian package's RT_SiteConfig.d is not read). Mail out of RT goes to a
// sendmail stand-in that writes each mail to DIR/out/*.eml; mail into RT goes
// through rt-mailgate to the loopback URL, as an MTA alias would.
//
//   npx tsx scripts/rt.ts start DIR [--port N]   # prints {"url":…,"pid":…,"dir":…}
//   npx tsx scripts/rt.ts stop DIR
//
// The set-up is the one docs/systems/rt.md asks of an RT admin: a queue whose
// correspond address is the department's ID, the bridge's address a
// privileged user, the queue's AdminCc, with ShowTicket/ReplyToTicket/
// ModifyTicket on it, and a scrip that tells AdminCcs when a ticket is
// resolved. CommandByMail (closing by a `Status: resolved` line) is Debian's
// librt-extension-commandbymail-perl; that package is built for RT 4, so
// .ci/run unpacks it (dpkg -x) to COMMANDBYMAIL_DIR rather than installing it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './dovecot';

export const RT_HOME = '/usr/share/request-tracker5';
const RT_SERVER = join(RT_HOME, 'libexec', 'rt-server');
const RT_SETUP = '/usr/sbin/rt-setup-database';
const RT_MAILGATE = '/usr/bin/rt-mailgate';
/** Where .ci/run unpacks CommandByMail; a real install (RT 5 plugins folder) is looked for first. */
export const COMMANDBYMAIL_DIR = process.env.DESKBRIDGE_RT_COMMANDBYMAIL ?? '/opt/deskbridge-rt/commandbymail/usr/share/request-tracker4/plugins';
const START_TIMEOUT_MS = 180_000; // rt-server compiles RT's Mason components at start: ~10 s here, much more on a loaded CI machine

export interface RtOptions {
  port?: number;
  rtname?: string;
  /** The bridge's address: an RT user, the queue's AdminCc. */
  bridgeAddress: string;
  queue: { name: string; correspondAddress: string };
  /** RT's NotifyActor: RT mails the bridge its own relays back (the echo set-up). */
  notifyActor?: boolean;
  /** Load CommandByMail when it is there (closing by a Status line). */
  commandByMail?: boolean;
}

export interface RtServer {
  dir: string;
  url: string;
  port: number;
  pid: number;
  rtname: string;
  commandByMail: boolean;
}

export function rtInstalled(): boolean {
  return [RT_SERVER, RT_SETUP, RT_MAILGATE].every((f) => existsSync(f));
}

/** The plugins folder holding RT-Extension-CommandByMail, if it is anywhere we know. */
export function commandByMailPlugins(): string | null {
  for (const dir of [join(RT_HOME, 'plugins'), '/usr/local/share/request-tracker5/plugins', COMMANDBYMAIL_DIR]) {
    if (existsSync(join(dir, 'RT-Extension-CommandByMail', 'lib', 'RT', 'Extension', 'CommandByMail.pm'))) return dir;
  }
  return null;
}

const perlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function siteConfig(dir: string, port: number, o: RtOptions, rtname: string, plugins: string | null): string {
  return [
    `Set($rtname, ${perlString(rtname)});`,
    `Set($Organization, ${perlString(rtname)});`,
    `Set($WebDomain, '127.0.0.1');`,
    `Set($WebPort, ${port});`,
    `Set($WebPath, '');`,
    `Set($WebBaseURL, 'http://127.0.0.1:${port}');`,
    `Set($DatabaseType, 'SQLite');`,
    `Set($DatabaseName, ${perlString(join(dir, 'rt.sqlite'))});`,
    `Set($CorrespondAddress, ${perlString(o.queue.correspondAddress)});`,
    `Set($CommentAddress, ${perlString(`comment-${o.queue.correspondAddress}`)});`,
    `Set($MailCommand, 'sendmailpipe');`,
    `Set($SendmailPath, ${perlString(join(dir, 'sendmail'))});`,
    `Set($LogToSTDERR, 'warning');`,
    `Set($LogToSyslog, undef);`,
    `Set($LogToFile, undef);`,
    `Set($NotifyActor, ${o.notifyActor ? 1 : 0});`,
    `$RT::MasonDataDir = ${perlString(join(dir, 'mason'))};`,
    `$RT::MasonSessionDir = ${perlString(join(dir, 'sessions'))};`,
    ...(plugins ? [`$RT::LocalPluginPath = ${perlString(plugins)};`, `Plugin('RT::Extension::CommandByMail');`, `Set(@MailPlugins, qw(Auth::MailFrom Action::CommandByMail));`] : []),
    '1;',
    '',
  ].join('\n');
}

/** The RT admin's set-up for the bridge (docs/systems/rt.md), as RT initialdata. */
function initialData(o: RtOptions): string {
  const user = perlString(o.bridgeAddress);
  const queue = perlString(o.queue.name);
  return `
@Users = ( { Name => ${user}, EmailAddress => ${user}, RealName => 'deskbridge', Privileged => 1 } );
@Queues = ( { Name => ${queue}, CorrespondAddress => ${perlString(o.queue.correspondAddress)}, CommentAddress => ${perlString(`comment-${o.queue.correspondAddress}`)} } );
@ACL = (
  ( map { { GroupDomain => 'SystemInternal', GroupType => 'Everyone', Queue => ${queue}, Right => $_ } } qw(CreateTicket ReplyToTicket SeeQueue) ),
  ( map { { UserId => ${user}, Queue => ${queue}, Right => $_ } } qw(ShowTicket ReplyToTicket ModifyTicket SeeQueue) ),
);
@Scrips = ( { Description => 'On Resolve Notify AdminCcs', ScripCondition => 'On Resolve', ScripAction => 'Notify AdminCcs', Template => 'Resolved' } );
@Final = ( sub {
  my $queue = RT::Queue->new(RT->SystemUser); $queue->Load(${queue});
  my $user = RT::User->new(RT->SystemUser); $user->LoadByEmail(${user});
  my ($ok, $msg) = $queue->AddWatcher(Type => 'AdminCc', PrincipalId => $user->PrincipalId);
  die "AdminCc: $msg" unless $ok;
} );
1;
`;
}

function rtEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, RT_SITE_CONFIG: join(dir, 'RT_SiteConfig.pm'), RT_SITE_CONFIG_DIR: join(dir, 'empty') };
}

function run(command: string, args: string[], dir: string, input?: Buffer | string): string {
  const r = spawnSync(command, args, { cwd: dir, env: rtEnv(dir), input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-5).join(' | ')}`);
  return r.stdout;
}

async function waitForHttp(url: string, pid: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    try {
      process.kill(pid, 0);
    } catch {
      throw new Error(`rt-server (pid ${pid}) exited before answering on ${url}`);
    }
    if (Date.now() > deadline) throw new Error(`rt-server did not answer on ${url} within ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Creates RT's database in DIR (a fresh folder) and starts rt-server on a loopback port. */
export async function startRt(dirArg: string, o: RtOptions): Promise<RtServer> {
  const dir = resolve(dirArg);
  for (const sub of ['empty', 'out', 'mason', 'sessions']) mkdirSync(join(dir, sub), { recursive: true });
  const port = o.port ?? (await freePort());
  const rtname = o.rtname ?? 'rt.test';
  const plugins = o.commandByMail === false ? null : commandByMailPlugins();
  writeFileSync(join(dir, 'RT_SiteConfig.pm'), siteConfig(dir, port, o, rtname, plugins));
  // the sendmail stand-in: one file per mail, renamed into place when whole, its arguments beside it
  writeFileSync(join(dir, 'sendmail'), `#!/bin/sh\nf="${join(dir, 'out')}/$(date +%s%N)-$$"\nprintf '%s\\n' "$*" > "$f.args"\ncat > "$f.tmp" && mv "$f.tmp" "$f.eml"\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'deskbridge.initialdata'), initialData(o));
  run(RT_SETUP, ['--action', 'init', '--skip-create'], dir);
  run(RT_SETUP, ['--action', 'insert', '--skip-create', '--datafile', join(dir, 'deskbridge.initialdata')], dir);
  const child = spawn(RT_SERVER, ['--server', 'Standalone', '--port', String(port), '--host', '127.0.0.1'], { cwd: dir, env: rtEnv(dir), detached: true, stdio: ['ignore', 'ignore', 'ignore'] });
  child.unref();
  const pid = child.pid!;
  writeFileSync(join(dir, 'rt-server.pid'), String(pid));
  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitForHttp(url, pid);
  } catch (err) {
    stopRt(dir);
    throw err;
  }
  return { dir, url, port, pid, rtname, commandByMail: plugins !== null };
}

/** Stops the rt-server started in DIR (its process group, by the pid it wrote). */
export function stopRt(dirArg: string): void {
  const pidFile = join(resolve(dirArg), 'rt-server.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(pidFile, { force: true });
}

/** Hands a mail to RT as its MTA alias would: `rt-mailgate --queue Q --action A --url URL`. */
export function mailgate(rt: RtServer, raw: Buffer | string, options: { queue: string; action?: 'correspond' | 'comment' }): void {
  run(RT_MAILGATE, ['--queue', options.queue, '--action', options.action ?? 'correspond', '--url', rt.url], rt.dir, raw);
}

/** The mails RT has sent so far, oldest first. */
export function sentByRt(rt: RtServer): Array<{ file: string; raw: Buffer }> {
  const out = join(rt.dir, 'out');
  return readdirSync(out)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => ({ file: join(out, f), raw: readFileSync(join(out, f)) }));
}

/**
 * Runs Perl with RT loaded, as RT's `root` user (a staff member in the web
 * UI): `$t` is ticket N. Prints what the code returns. What a person does in
 * RT's web interface (answer, resolve), done through the same RT API.
 */
export function rtTicket(rt: RtServer, ticket: number, code: string): string {
  const script = `
use strict; use warnings;
use lib '${RT_HOME}/lib';
use RT; RT::LoadConfig(); RT::Init();
my $user = RT::CurrentUser->new(RT->SystemUser); $user->Load('root');
my $t = RT::Ticket->new($user); $t->Load(${Number(ticket)}) or die "no ticket ${Number(ticket)}";
my $result = do { ${code} };
print defined $result ? $result : '';
`;
  return run('perl', ['-e', script], rt.dir);
}

async function main(argv: string[]): Promise<void> {
  const [command, dir, ...rest] = argv;
  if (!dir || (command !== 'start' && command !== 'stop')) {
    process.stderr.write('usage: tsx scripts/rt.ts start DIR [--port N] | stop DIR\n');
    process.exit(2);
  }
  if (command === 'stop') return stopRt(dir);
  const portAt = rest.indexOf('--port');
  const rt = await startRt(dir, { port: portAt >= 0 ? Number(rest[portAt + 1]) : undefined, bridgeAddress: 'bridge@support.example', queue: { name: 'support', correspondAddress: 'support@rt.test' } });
  process.stdout.write(`${JSON.stringify({ url: rt.url, pid: rt.pid, dir: rt.dir, commandByMail: rt.commandByMail })}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(__filename)) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
}
