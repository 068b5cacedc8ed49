// Configuration: one table of settings (SETTINGS), read once at start into a frozen object that
// the CLI, knexfile.ts and `run` share. Sources, strongest first: an
// environment variable, its NAME_FILE variant (for secrets mounted as files),
// then deskbridge.config.json (JSON with comments, so `init` can explain each
// key), then the defaults. An error names the key and where it came from, and
// never echoes a password: URL values are shown with the password masked.
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { ParseError } from 'jsonc-parser';
import { checkServer } from './auth/resolver';
import { configFilePath } from './config-file';
import { DeskbridgeError } from './errors';
import { encodeUserinfo, redactUrl } from './url-secrets';

export { DEFAULT_CONFIG_FILE } from './config-file';
export const DEFAULT_DATABASE = './deskbridge.sqlite';
const DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024; // the usual MTA limit; larger mail is kept as headers only
const MAX_MESSAGE_BYTES_CEILING = 1024 ** 3; // a mail is held whole in memory to be parsed: no MTA passes on more than this
const MAX_SOCKET_PATH_BYTES = 107; // sun_path on Linux, less its terminating NUL

/** Config key → environment variable; every one also has a NAME_FILE variant. */
export const ENV_NAMES = {
  database: 'DESKBRIDGE_DATABASE',
  imap: 'DESKBRIDGE_IMAP',
  smtp: 'DESKBRIDGE_SMTP',
  address: 'DESKBRIDGE_ADDRESS',
  secret: 'DESKBRIDGE_SECRET',
  http: 'DESKBRIDGE_HTTP',
  processed: 'DESKBRIDGE_PROCESSED',
  pollSeconds: 'DESKBRIDGE_POLL_SECONDS',
  instance: 'DESKBRIDGE_INSTANCE',
  logLevel: 'DESKBRIDGE_LOG_LEVEL',
  maxMessageBytes: 'DESKBRIDGE_MAX_MESSAGE_BYTES',
  mailDeadlineSeconds: 'DESKBRIDGE_MAIL_DEADLINE_SECONDS',
  stallMinutes: 'DESKBRIDGE_STALL_MINUTES',
  authservId: 'DESKBRIDGE_AUTHSERV_ID',
  dns: 'DESKBRIDGE_DNS',
  leaseSeconds: 'DESKBRIDGE_LEASE_SECONDS',
  templates: 'DESKBRIDGE_TEMPLATES',
  ingestSocket: 'DESKBRIDGE_INGEST_SOCKET',
} as const;

type Key = keyof typeof ENV_NAMES;

/** What a setting's reader makes of a value: the typed value, or why it is not valid (`index`: the list item at fault). */
type Read<T> = { ok: true; value: T } | { ok: false; message: string; index?: number };
type Reader<T> = (value: unknown) => Read<T>;

const ok = <T>(value: T): Read<T> => ({ ok: true, value });
const invalid = (message: string, index?: number): Read<never> => ({ ok: false, message, index });

/** A string that passes `test`. */
const text =
  (test: (v: string) => boolean = (v) => v.length > 0, message = 'expected a non-empty string'): Reader<string> =>
  (v) => (typeof v !== 'string' ? invalid('expected a string') : test(v) ? ok(v) : invalid(message));

const DECIMAL = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*$/;

/** A number, also when given as a string (the environment gives nothing else). */
const number =
  (bounds: { int?: boolean; above?: number; min?: number; max?: number }): Reader<number> =>
  (v) => {
    // decimal digits only: Number() also takes 0x10 (16), 0b1, 1e3 and Infinity, which no admin means by a size or a count
    if (typeof v === 'string' && v.trim() !== '' && !DECIMAL.test(v)) return invalid('expected a number in decimal digits');
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) return invalid('expected a number');
    if (bounds.int && !Number.isInteger(n)) return invalid('expected a whole number');
    if (bounds.int && !Number.isSafeInteger(n)) return invalid(`expected at most ${Number.MAX_SAFE_INTEGER}`); // zod's int() too: past it a whole number is not exact
    if (bounds.above !== undefined && !(n > bounds.above)) return invalid(`expected a number above ${bounds.above}`);
    if (bounds.min !== undefined && n < bounds.min) return invalid(`expected at least ${bounds.min}`);
    if (bounds.max !== undefined && n > bounds.max) return invalid(`expected at most ${bounds.max}`);
    return ok(n);
  };

/** A list; `commas`: a string is read as "a, b" (the environment's form; the file gives ["a", "b"]). */
const list =
  (item: Reader<string>, commas: boolean): Reader<string[]> =>
  (v) => {
    const items = commas && typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
    if (!Array.isArray(items)) return invalid('expected a list');
    const out: string[] = [];
    for (const [i, x] of items.entries()) {
      const r = item(x);
      if (!r.ok) return invalid(r.message, i);
      out.push(r.value);
    }
    return ok(out);
  };

const urlWithScheme = (schemes: string[]) =>
  text((v) => {
    try {
      return schemes.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `expected a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}`);

const LOCAL_PART_RE = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/; // dot-atom (RFC 5322), no quoted forms
const DOMAIN_RE = /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const isAddress = (v: string) => {
  const at = v.lastIndexOf('@');
  return at > 0 && LOCAL_PART_RE.test(v.slice(0, at)) && DOMAIN_RE.test(v.slice(at + 1));
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Each setting: how its value is read, and its default (none: the setting is
 * optional). Hand-written rather than a zod schema: every CLI call reads the
 * configuration, and loading zod was a sixth of a `map list` (the checks are
 * flat — a string, a number in a range, a list — and each error names the
 * setting and the value, as before).
 */
const SETTINGS = {
  database: {
    read: text((v) => v.length > 0 && (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^postgres(ql)?:\/\//i.test(v)), 'expected a SQLite file path or a postgres:// URL'),
    default: () => DEFAULT_DATABASE,
  },
  imap: { read: list(urlWithScheme(['imap:', 'imaps:']), false), default: () => [] as string[] },
  smtp: { read: text((v) => /^file:.+/.test(v) || /^smtps?:\/\/[^/]+/.test(v), 'expected smtp://host:port, smtps://host:port or file:DIR') },
  address: { read: text(isAddress, 'expected an e-mail address such as support@example.com') },
  // several keys, space-separated (the first signs reply tokens, all verify: reply-token.ts)
  secret: { read: text((v) => v.trim() !== '' && v.trim().split(/\s+/).every((k) => k.length >= 16), 'expected one or more keys of at least 16 characters each, space-separated') },
  http: { read: text((v) => /^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v), 'expected host:port, e.g. 127.0.0.1:9464') },
  processed: { read: text(), default: () => 'seen' },
  pollSeconds: { read: number({ int: true, min: 1, max: 3600 }), default: () => 60 }, // the fallback poll behind IDLE
  instance: { read: text((v) => /^[\w.-]+$/.test(v), 'expected letters, digits, dot, dash or underscore'), default: () => hostname() },
  logLevel: { read: text((v) => (LOG_LEVELS as readonly string[]).includes(v), `expected one of ${LOG_LEVELS.join(', ')}`) as Reader<(typeof LOG_LEVELS)[number]>, default: () => 'info' as const },
  maxMessageBytes: { read: number({ int: true, above: 0, max: MAX_MESSAGE_BYTES_CEILING }), default: () => DEFAULT_MAX_MESSAGE_BYTES },
  mailDeadlineSeconds: { read: number({ above: 0, max: 600 }), default: () => 10 }, // one mail's parse, sanitising and extraction; past it the mail is parked
  stallMinutes: { read: number({ above: 0, max: 24 * 60 }), default: () => 15 }, // mail waiting and the cursor still: /healthz fails
  // sender authentication (src/auth/): whose Authentication-Results to trust, which resolvers to ask
  authservId: { read: list(text((v) => /^[^\s;()"]+$/.test(v), 'expected an authserv-id such as mx.google.com'), true), default: () => [] as string[] },
  dns: { read: list(text((v) => checkServer(v) === null, 'expected host or host:port (IPv6 as [addr]:port)'), true), default: () => [] as string[] },
  // mailbox leases and outbox claims: a dead process's share is taken over within this; heartbeats every sixth of it
  leaseSeconds: { read: number({ min: 0.6, max: 60 }), default: () => 30 },
  templates: { read: text() }, // a folder whose files override the shipped templates one by one
  // a Unix socket on which `run` takes mail from `ingest` (an MTA pipe's one call per mail); a path the kernel accepts
  // (its length is checked once it is resolved to an absolute path, in loadConfig)
  ingestSocket: { read: text((v) => v.length > 0 && !v.includes('\0'), 'expected a file path') },
} satisfies Record<Key, { read: Reader<unknown>; default?: () => unknown }>;

type Settings = typeof SETTINGS;
type ValueOf<K extends Key> = Settings[K]['read'] extends Reader<infer T> ? T : never;
export type Config = Readonly<{ [K in Key]: Settings[K] extends { default: () => unknown } ? ValueOf<K> : ValueOf<K> | undefined }> & { readonly configFile: string | null };

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Shows a value without its password, for error messages and logs. */
export { redactUrl };

/** The URL settings, read with their userinfo percent-encoded: a password may hold `#`, `/`, `?` or `@` as typed. */
const URL_KEYS: readonly Key[] = ['database', 'imap', 'smtp'];

function readEnv(env: NodeJS.ProcessEnv, key: Key): { value: string; source: string } | undefined {
  const name = ENV_NAMES[key];
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && file !== undefined) {
    throw new DeskbridgeError('ECONFIG', `${name} and ${name}_FILE are both set; set only one of them`);
  }
  if (direct !== undefined && direct !== '') return { value: direct, source: name };
  if (file !== undefined && file !== '') {
    try {
      return { value: readFileSync(file, 'utf8').trim(), source: `${name}_FILE (${file})` };
    } catch (err) {
      throw new DeskbridgeError('ECONFIG', `${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return undefined;
}

function readConfigFile(path: string): Record<string, unknown> {
  // loaded only when there is a file to read: ~10 ms of every CLI call's start (an MTA pipe's, most often with no file)
  const { parse: parseJsonc, printParseErrorCode } = require('jsonc-parser') as typeof import('jsonc-parser'); // eslint-disable-line @typescript-eslint/no-require-imports
  const errors: ParseError[] = [];
  const text = readFileSync(path, 'utf8');
  const data: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const first = errors[0]!;
    const before = text.slice(0, first.offset).split('\n');
    throw new DeskbridgeError(
      'ECONFIG',
      `${path}:${before.length}:${before.at(-1)!.length + 1}: ${printParseErrorCode(first.error)}; the file must be JSON (comments allowed)`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new DeskbridgeError('ECONFIG', `${path}: expected a JSON object of settings`);
  }
  return data as Record<string, unknown>;
}

function describeValue(key: string, value: unknown): string {
  if (key === 'secret') return '(hidden)';
  if (typeof value === 'string') return JSON.stringify(redactUrl(value));
  if (Array.isArray(value)) return JSON.stringify(value.map((v) => (typeof v === 'string' ? redactUrl(v) : v)));
  return JSON.stringify(value);
}

/** Each setting read by its reader, or its default; throws ECONFIG naming the first bad one, where it came from and its value (password masked). */
function validate(raw: Record<string, unknown>, sources: Record<string, string>, configFile: string): Omit<Config, 'configFile'> {
  const unknown = Object.keys(raw).filter((k) => !Object.hasOwn(SETTINGS, k)); // not `in`: it finds Object.prototype's members too
  if (unknown.length > 0) {
    throw new DeskbridgeError('ECONFIG', `${configFile}: unknown key "${unknown.join('", "')}"; known keys: ${Object.keys(ENV_NAMES).join(', ')}`);
  }
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as Key[]) {
    const setting: { read: Reader<unknown>; default?: () => unknown } = SETTINGS[key];
    if (raw[key] === undefined) {
      if (setting.default) values[key] = setting.default();
      continue;
    }
    const r = setting.read(raw[key]);
    if (!r.ok) {
      const listed = raw[key];
      const value = r.index !== undefined && Array.isArray(listed) ? listed[r.index] : listed;
      throw new DeskbridgeError('ECONFIG', `${sources[key] ?? key}: ${describeValue(key, value)} is not valid: ${r.message}`);
    }
    values[key] = r.value;
  }
  return values as Omit<Config, 'configFile'>;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicitFile = env.DESKBRIDGE_CONFIG;
  const configFile = configFilePath(env, cwd);
  let fileData: Record<string, unknown> = {};
  if (existsSync(configFile)) fileData = readConfigFile(configFile);
  else if (explicitFile) throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_CONFIG: ${configFile} does not exist`);

  const raw: Record<string, unknown> = { ...fileData };
  const sources: Record<string, string> = Object.fromEntries(Object.keys(fileData).map((k) => [k, `${configFile} key "${k}"`]));
  for (const key of Object.keys(ENV_NAMES) as Key[]) {
    const found = readEnv(env, key);
    if (!found) continue;
    raw[key] = key === 'imap' ? found.value.split(/\s+/).filter(Boolean) : key === 'authservId' || key === 'dns' ? found.value.split(',').map((v) => v.trim()).filter(Boolean) : found.value;
    sources[key] = found.source;
  }
  for (const key of URL_KEYS) {
    const v = raw[key];
    if (typeof v === 'string') raw[key] = encodeUserinfo(v);
    else if (Array.isArray(v)) raw[key] = v.map((u) => (typeof u === 'string' ? encodeUserinfo(u) : u));
  }

  const data = validate(raw, sources, configFile);
  // A path in the config file means a path next to that file, wherever the command runs; one from the environment, the working directory.
  const databaseBase = sources.database?.startsWith(configFile) ? dirname(configFile) : cwd;
  const templatesBase = sources.templates?.startsWith(configFile) ? dirname(configFile) : cwd;
  const templates = data.templates === undefined ? undefined : resolve(templatesBase, data.templates);
  const socketBase = sources.ingestSocket?.startsWith(configFile) ? dirname(configFile) : cwd;
  const ingestSocket = data.ingestSocket === undefined ? undefined : resolve(socketBase, data.ingestSocket);
  if (ingestSocket !== undefined && Buffer.byteLength(ingestSocket) > MAX_SOCKET_PATH_BYTES) {
    throw new DeskbridgeError('ECONFIG', `${sources.ingestSocket}: ${JSON.stringify(ingestSocket)} is not valid: expected a file path of at most ${MAX_SOCKET_PATH_BYTES} bytes (a Unix socket's limit)`);
  }
  const config = { ...data, database: resolveDatabase(data.database, databaseBase), templates, ingestSocket, configFile: existsSync(configFile) ? configFile : null };
  return Object.freeze(config);
}

/** A SQLite path is made absolute (against the config file's folder or the working directory), so child processes agree on it. */
function resolveDatabase(database: string, cwd: string): string {
  if (/^postgres(ql)?:\/\//i.test(database) || database === ':memory:') return database;
  return resolve(cwd, database);
}

export function isPostgres(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}
