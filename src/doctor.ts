// `deskbridge doctor`: every check a new install trips over, one result each,
// with what to fix. The checks talk to the real peers (database, each IMAP
// mailbox, SMTP) with short deadlines, and change nothing anywhere.
import { accessSync, constants, existsSync, lstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { loadConfig, redactUrl, type Config } from './config';
import { answers } from './ingest/ingest-socket';
import { parseMailboxUrl } from './ingest/mailbox-spec';
import { DEFAULT_TEMPLATES_DIR, loadTemplates } from './outbound/render';
import { createSmtpSender } from './outbound/smtp-sender';
import { withTimeout } from './ingest/mailbox-session';
import { openDatabase, requireExistingDatabase } from './store/db';
import { pendingMigrations } from './store/schema-check';
import { checkAuthSetup, checkPolicies } from './doctor-auth';
import { checkBundles, CODE_CACHE_SCRIPT, REINSTALL } from './vendor';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when the check failed. */
  fix?: string;
}

const CHECK_TIMEOUT_MS = 15_000; // a peer that takes longer than this to say hello is as good as down

const message = (err: unknown) => {
  const e = err as { responseText?: string; message?: string; code?: string };
  return e?.responseText ?? e?.message ?? String(err);
};

async function checkDatabase(config: Config): Promise<Check> {
  const name = 'database';
  try {
    requireExistingDatabase(config);
  } catch (err) {
    return { name, ok: false, detail: message(err), fix: 'run `deskbridge init` where the config file is, or set DESKBRIDGE_DATABASE' };
  }
  let db: ReturnType<typeof openDatabase>;
  try {
    db = openDatabase(config.database);
  } catch (err) {
    return { name, ok: false, detail: `${redactUrl(config.database)}: ${message(err)}`, fix: 'see the start-up cache check below' }; // the database layer itself did not load (a damaged bundle)
  }
  try {
    const pending = await withTimeout(pendingMigrations(db), CHECK_TIMEOUT_MS, 'database');
    if (pending.length > 0) return { name, ok: false, detail: `${redactUrl(config.database)}: ${pending.length} migration(s) not applied`, fix: 'run `deskbridge migrate`' };
    const systems = Number((await db.knex('systems').count({ n: '*' }).first())?.n ?? 0);
    const maps = Number((await db.knex('correspondences').count({ n: '*' }).first())?.n ?? 0);
    return { name, ok: true, detail: `${redactUrl(config.database)}: schema up to date; ${systems} system(s), ${maps} correspondence(s)` };
  } catch (err) {
    return { name, ok: false, detail: `${redactUrl(config.database)}: ${message(err)}`, fix: 'check DESKBRIDGE_DATABASE, and that the server is up; a new SQLite file needs `deskbridge init`' };
  } finally {
    await db.close();
  }
}

async function checkMailbox(url: string): Promise<Check> {
  const spec = parseMailboxUrl(url);
  const name = `imap ${spec.key}`;
  const client = new ImapFlow({ host: spec.host, port: spec.port, secure: spec.secure, auth: { user: spec.user, pass: spec.password }, logger: false, connectionTimeout: CHECK_TIMEOUT_MS, greetingTimeout: CHECK_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await withTimeout(client.connect(), CHECK_TIMEOUT_MS, `connect to ${spec.host}:${spec.port}`);
    const status = await withTimeout(client.status(spec.mailbox, { messages: true, uidValidity: true }), CHECK_TIMEOUT_MS, `status of ${spec.mailbox}`);
    if (!status) return { name, ok: false, detail: `mailbox ${spec.mailbox} not found`, fix: 'name an existing folder in the URL path (default INBOX)' };
    return { name, ok: true, detail: `logged in; ${spec.mailbox} has ${status.messages ?? 0} message(s), UIDVALIDITY ${status.uidValidity}` };
  } catch (err) {
    const auth = (err as { authenticationFailed?: boolean }).authenticationFailed === true;
    const code = (err as { serverResponseCode?: string }).serverResponseCode;
    if (code === 'NONEXISTENT' || /doesn't exist|does not exist/i.test(message(err))) {
      return { name, ok: false, detail: message(err), fix: 'name an existing folder in the URL path (default INBOX)' };
    }
    return {
      name,
      ok: false,
      detail: auth ? `login refused: ${message(err)}` : message(err),
      fix: auth ? 'check the user and password in DESKBRIDGE_IMAP (Gmail and Microsoft 365 need an app password)' : 'check the host, the port and imap:// vs imaps://; is the server reachable from here?',
    };
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function checkSmtp(config: Config): Promise<Check> {
  const target = config.smtp;
  if (!target) return { name: 'smtp', ok: true, detail: 'DESKBRIDGE_SMTP not set: nothing is sent (staff notifications and relays wait in the outbox)' };
  if (target.startsWith('file:')) {
    const dir = target.slice('file:'.length);
    try {
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`);
      accessSync(existsSync(dir) ? dir : join(dir, '..'), constants.W_OK);
      return { name: 'smtp', ok: true, detail: `writes .eml files to ${dir}` };
    } catch (err) {
      return { name: 'smtp', ok: false, detail: message(err), fix: 'make the folder writable, or set DESKBRIDGE_SMTP to smtp://host:port' };
    }
  }
  const sender = createSmtpSender(target, { connectTimeoutMs: CHECK_TIMEOUT_MS });
  try {
    await withTimeout(sender.verify(), CHECK_TIMEOUT_MS + 1_000, 'smtp');
    return { name: 'smtp', ok: true, detail: `${redactUrl(target)} accepts connections` };
  } catch (err) {
    return { name: 'smtp', ok: false, detail: `${redactUrl(target)}: ${message(err)}`, fix: 'check the host, the port, smtp:// vs smtps:// and the credentials in DESKBRIDGE_SMTP' };
  } finally {
    sender.close();
  }
}

/** The templates compile and render against every documented variable: the same check `run` makes at start. */
export function checkTemplates(dir = DEFAULT_TEMPLATES_DIR, overrides?: string): Check {
  try {
    const files = loadTemplates(dir, overrides).check();
    return { name: 'templates', ok: true, detail: `${files} template(s) in ${dir}${overrides ? ` (overridden from ${overrides})` : ''} compile` };
  } catch (err) {
    return { name: 'templates', ok: false, detail: message(err), fix: 'fix the template at the line named (variables: templates/README.md)' };
  }
}

function checkRunSettings(config: Config): Check {
  const missing = [!config.imap.length && !config.ingestSocket && 'DESKBRIDGE_IMAP', !config.secret && 'DESKBRIDGE_SECRET'].filter(Boolean);
  if (missing.length) return { name: 'settings', ok: false, detail: `${missing.join(' and ')} not set: \`deskbridge run\` refuses to start`, fix: 'set them in the environment or deskbridge.config.json (README: Configuration)' };
  const notes = [!config.address && 'DESKBRIDGE_ADDRESS not set (the bridge cannot recognise its own address)', !config.http && 'DESKBRIDGE_HTTP not set (no /healthz)'].filter(Boolean);
  return { name: 'settings', ok: true, detail: `${config.imap.length} mailbox(es), processed mail: ${config.processed}${notes.length ? `; ${notes.join('; ')}` : ''}` };
}

/** DESKBRIDGE_INGEST_SOCKET: a path `run` can serve, and whether a bridge serves it now. */
async function checkIngestSocket(path: string): Promise<Check> {
  const name = 'ingest socket';
  if (!existsSync(dirname(path))) return { name, ok: false, detail: `${path}: the folder ${dirname(path)} does not exist`, fix: 'create the folder (writable by the bridge user) or name another path in DESKBRIDGE_INGEST_SOCKET' };
  if (!existsSync(path)) return { name, ok: true, detail: `${path}: not served now (no \`deskbridge run\`): each \`ingest\` call ingests its mail itself` };
  if (!lstatSync(path).isSocket()) return { name, ok: false, detail: `${path} exists and is not a socket: \`deskbridge run\` refuses it`, fix: 'name a free path in DESKBRIDGE_INGEST_SOCKET' };
  return (await answers(path))
    ? { name, ok: true, detail: `${path}: served by a running bridge; \`ingest\` calls on stdin hand their mail to it` }
    : { name, ok: true, detail: `${path}: left by a bridge that stopped (the next \`run\` takes it over); each \`ingest\` call ingests its mail itself` };
}

/** The build's code cache (src/vendor.ts): refused after a change of Node.js, which only slows every start. */
function checkStartupCache(): Check {
  const name = 'start-up cache';
  const bundles = checkBundles();
  if (!bundles) return { name, ok: true, detail: 'running from the sources: no bundles' };
  const broken = bundles.filter((b) => b.damaged);
  if (broken.length > 0) return { name, ok: false, detail: broken.map((b) => b.damaged).join('; '), fix: REINSTALL };
  const off = bundles.filter((b) => b.cache !== 'used');
  if (off.length === 0) return { name, ok: true, detail: `${bundles.length} bundle(s), each compiled from its code cache` };
  // not a failure: the bundles compile from source as they would without a cache
  const reason = { none: 'no cache', mismatch: 'cache does not match the bundle: edited or damaged', rejected: `cache refused by this Node.js (${process.version}) or its V8 flags (NODE_OPTIONS)` } as const;
  const why = off.map((b) => `${b.name} (${reason[b.cache as keyof typeof reason]})`).join(', ');
  return { name, ok: true, detail: `${why}: compiled from source at every start, slower; \`node ${CODE_CACHE_SCRIPT}\`, run as the bridge runs (same Node.js, same NODE_OPTIONS), writes the cache again` };
}

async function withDatabase<T>(config: Config, run: (db: ReturnType<typeof openDatabase>) => Promise<T>): Promise<T> {
  const db = openDatabase(config.database);
  try {
    return await run(db);
  } finally {
    await db.close();
  }
}

export async function runDoctor(env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  let config: Config;
  try {
    config = loadConfig({ env });
  } catch (err) {
    return [{ name: 'config', ok: false, detail: message(err), fix: 'correct the value named' }];
  }
  const checks: Check[] = [{ name: 'config', ok: true, detail: config.configFile ? `environment over ${config.configFile}` : 'environment and defaults (no config file)' }];
  checks.push(checkRunSettings(config));
  checks.push(await checkDatabase(config));
  if (checks.at(-1)!.ok) checks.push(...(await withDatabase(config, checkPolicies)));
  for (const url of config.imap) checks.push(await checkMailbox(url));
  if (config.ingestSocket) checks.push(await checkIngestSocket(config.ingestSocket));
  checks.push(await checkSmtp(config));
  checks.push(checkTemplates(DEFAULT_TEMPLATES_DIR, config.templates));
  checks.push(checkStartupCache());
  checks.push(await checkAuthSetup(config));
  return checks;
}
