// Configuration: one zod schema, read once at start into a frozen object that
// the CLI, knexfile.ts and `run` share. Sources, strongest first: an
// environment variable, its NAME_FILE variant (for secrets mounted as files),
// then deskbridge.config.json (JSON with comments, so `init` can explain each
// key), then the defaults. An error names the key and where it came from, and
// never echoes a password: URL values are shown with the password masked.
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { z } from 'zod';
import { checkServer } from './auth/resolver';
import { DeskbridgeError } from './errors';
import { encodeUserinfo, redactUrl } from './url-secrets';

export const DEFAULT_CONFIG_FILE = 'deskbridge.config.json';
export const DEFAULT_DATABASE = './deskbridge.sqlite';
const DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024; // the usual MTA limit; larger mail is kept as headers only

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
} as const;

type Key = keyof typeof ENV_NAMES;

const urlWithScheme = (schemes: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return schemes.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}` },
  );

/** A list given as "a, b" (environment) or ["a", "b"] (config file). */
const commaList = (item: z.ZodString | z.ZodType<string>) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item)).default([]);

const schema = z
  .object({
    database: z
      .string()
      .min(1)
      .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^postgres(ql)?:\/\//i.test(v), {
        message: 'expected a SQLite file path or a postgres:// URL',
      })
      .default(DEFAULT_DATABASE),
    imap: z.array(urlWithScheme(['imap:', 'imaps:'])).default([]),
    smtp: z
      .string()
      .refine((v) => /^file:.+/.test(v) || /^smtps?:\/\/[^/]+/.test(v), {
        message: 'expected smtp://host:port, smtps://host:port or file:DIR',
      })
      .optional(),
    address: z.email({ message: 'expected an e-mail address such as support@example.com' }).optional(),
    // several keys, space-separated (the first signs reply tokens, all verify: reply-token.ts)
    secret: z
      .string()
      .refine((v) => v.trim() !== '' && v.trim().split(/\s+/).every((k) => k.length >= 16), { message: 'expected one or more keys of at least 16 characters each, space-separated' })
      .optional(),
    http: z
      .string()
      .regex(/^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { message: 'expected host:port, e.g. 127.0.0.1:9464' })
      .optional(),
    processed: z.string().min(1).default('seen'),
    pollSeconds: z.coerce.number().int().min(1).max(3600).default(60), // the fallback poll behind IDLE
    instance: z.string().regex(/^[\w.-]+$/, { message: 'expected letters, digits, dot, dash or underscore' }).default(hostname()),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    maxMessageBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_MESSAGE_BYTES),
    mailDeadlineSeconds: z.coerce.number().positive().max(600).default(10), // one mail's parse, sanitising and extraction; past it the mail is parked
    stallMinutes: z.coerce.number().positive().max(24 * 60).default(15), // mail waiting and the cursor still: /healthz fails
    // sender authentication (src/auth/): whose Authentication-Results to trust, which resolvers to ask
    authservId: commaList(z.string().regex(/^[^\s;()"]+$/, { message: 'expected an authserv-id such as mx.google.com' })),
    dns: commaList(z.string().refine((v) => checkServer(v) === null, { message: 'expected host or host:port (IPv6 as [addr]:port)' })),
    // mailbox leases and outbox claims: a dead process's share is taken over within this; heartbeats every sixth of it
    leaseSeconds: z.coerce.number().min(0.6).max(60).default(30),
    templates: z.string().min(1).optional(), // a folder whose files override the shipped templates one by one
  })
  .strict();

export type Config = Readonly<z.infer<typeof schema>> & { readonly configFile: string | null };

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

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicitFile = env.DESKBRIDGE_CONFIG;
  const configFile = resolve(cwd, explicitFile || DEFAULT_CONFIG_FILE);
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

  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys') {
      throw new DeskbridgeError(
        'ECONFIG',
        `${configFile}: unknown key "${issue.keys.join('", "')}"; known keys: ${Object.keys(ENV_NAMES).join(', ')}`,
      );
    }
    const listed = raw[key];
    const value = issue.path.length > 1 && Array.isArray(listed) ? listed[Number(issue.path[1])] : listed;
    throw new DeskbridgeError('ECONFIG', `${sources[key] ?? key}: ${describeValue(key, value)} is not valid: ${issue.message}`);
  }
  // A path in the config file means a path next to that file, wherever the command runs; one from the environment, the working directory.
  const databaseBase = sources.database?.startsWith(configFile) ? dirname(configFile) : cwd;
  const templatesBase = sources.templates?.startsWith(configFile) ? dirname(configFile) : cwd;
  const templates = parsed.data.templates === undefined ? undefined : resolve(templatesBase, parsed.data.templates);
  const config = { ...parsed.data, database: resolveDatabase(parsed.data.database, databaseBase), templates, configFile: existsSync(configFile) ? configFile : null };
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
