// The heavy npm packages that scripts/build.mjs bundles into one file each
// (dist/vendor/NAME.js): the compiled program loads the bundle, the sources
// (tsx, vitest, where no bundle sits beside them) load the package itself.
// A bundle is the same package, read from one file instead of hundreds
// (knex: ~330 files, most of a `deskbridge map list`'s start-up).
//
// A bundle is compiled with the V8 code cache the build wrote beside it
// (NAME.js.v8cache, src/code-cache.ts): every process and every worker
// thread compiles the bundles it loads again (Node.js 20 keeps no compiled
// code between runs), and for a single piped mail that compiling was on the
// critical path of both threads. The build makes each bundle pure ASCII,
// which Node.js reads into a one-byte string with no UTF-8 decoding (mail.js:
// ~25 ms less, profiled).
//
// V8 checks a cache's version, flags and source length, not its contents: a
// damaged cache crashed the process, and one left beside an edited bundle of
// the same length ran the old code. So the file starts with a SHA-256 of the
// bundle's bytes and the cache together, checked before V8 sees the cache
// (~2 ms for mail.js). A cache that fails it, or that V8 refuses (another
// Node.js, other V8 flags such as NODE_OPTIONS=--max-old-space-size), is
// ignored: the bundle compiles from its source, only slower.
//
// An import() inside a bundle compiled from a cache fails on Node.js 20 (it
// loses its dynamic-import callback): no bundle's code that deskbridge runs
// calls one (knex's, for migration files on disk, is unused: migrations come
// from src/store/migration-source.ts).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { Script } from 'node:vm';
import { isAscii } from 'node:buffer';
import { DeskbridgeError } from './errors';

/** The npm packages' bundles, and `ingest`: the CLI's own ingest path (bin/deskbridge.js loads it for `deskbridge ingest`). */
export type VendoredName = 'knex' | 'handlebars' | 'mailauth-verify' | 'mail' | 'nodemailer' | 'ingest';

/**
 * How a bundle was compiled: with its code cache; without one beside it; with
 * one that does not match the bundle (edited since, or damaged); with one V8
 * refused (another Node.js or other V8 flags than the build's).
 */
export type CodeCacheUse = 'used' | 'none' | 'mismatch' | 'rejected';

// dist/src/vendor.js → dist/vendor/; from src/vendor.ts (not compiled) there is none
const bundles = extname(__filename) === '.js' ? join(__dirname, '..', 'vendor') : null;

interface Loaded {
  exports: Record<string, unknown>;
  script: Script;
  cache: CodeCacheUse;
}
const loaded = new Map<string, Loaded>(); // by file: one copy of a bundle per thread, as require's own cache keeps one

export const codeCacheFile = (bundle: string) => `${bundle}.v8cache`;
/** The build's script that writes the code caches again (src/code-cache.ts, compiled beside this file). */
export const CODE_CACHE_SCRIPT = join(__dirname, 'code-cache.js');

const CACHE_MAGIC = Buffer.from('deskbridge-v8cache-1\n');
const DIGEST_BYTES = 32;
const digest = (source: Buffer, payload: Uint8Array) => createHash('sha256').update(source).update(payload).digest();

/** A cache file's V8 data, when its digest matches the bundle's bytes; else why not. */
function readCache(file: string, source: Buffer): Buffer | 'none' | 'mismatch' {
  let bytes: Buffer;
  try {
    bytes = readFileSync(codeCacheFile(file));
  } catch {
    return 'none'; // none written (a build without one, or removed): compiled from the source
  }
  const head = CACHE_MAGIC.length + DIGEST_BYTES;
  if (bytes.length <= head || !bytes.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC)) return 'mismatch';
  const payload = bytes.subarray(head);
  return digest(source, payload).equals(bytes.subarray(CACHE_MAGIC.length, head)) ? payload : 'mismatch';
}

/**
 * The wrapper Node.js puts around a CommonJS module, on the first line so that
 * line numbers stay the file's. The build writes it into each bundle
 * (scripts/build.mjs), so the file's text is the script as it is: wrapped
 * here, V8 would copy megabytes once more to flatten the joined string.
 */
export const BUNDLE_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
export const BUNDLE_TAIL = '\n});';
const HEAD_BYTES = Buffer.from(BUNDLE_HEAD);
const TAIL_BYTES = Buffer.from(BUNDLE_TAIL);

/** What to do about a damaged bundle (the error below, and `deskbridge doctor`). */
export const REINSTALL = 'install deskbridge again (or run `npm run build` in a checkout)';
/** A bundle that cannot be loaded as the build wrote it: the installation is damaged, and the message names the file. */
const damaged = (file: string, what: string, cause?: unknown) => new DeskbridgeError('EINTERNAL', `${file} ${what}: this installation of deskbridge is damaged; ${REINSTALL}`, { cause });

/** Compiles a bundle (not run), with its code cache when there is one that fits, and says how. */
function compile(file: string): { script: Script; cache: CodeCacheUse } {
  const source = readFileSync(file);
  if (source.length === 0) throw damaged(file, 'is empty');
  const cached = readCache(file, source);
  // an ASCII file (as the build writes them) becomes a string without UTF-8 decoding
  const text = isAscii(source) ? source.toString('latin1') : source.toString('utf8');
  const wrapped = source.subarray(0, HEAD_BYTES.length).equals(HEAD_BYTES); // a bundle of an older build has no wrapper yet
  if (wrapped && !source.subarray(source.length - TAIL_BYTES.length).equals(TAIL_BYTES)) throw damaged(file, 'is cut short (it does not end as the build writes it)');
  let script: Script;
  try {
    script = new Script(wrapped ? text : `${BUNDLE_HEAD}${text}${BUNDLE_TAIL}`, {
      filename: file,
      cachedData: typeof cached === 'string' ? undefined : cached,
    });
  } catch (err) {
    throw damaged(file, `does not compile (${(err as Error).message})`, err);
  }
  // V8's own verdict: cachedDataRejected is set only when a cache was given to it
  const cache = typeof cached === 'string' ? cached : script.cachedDataRejected === true ? 'rejected' : 'used';
  return { script, cache };
}

/** Loads a CommonJS bundle as require() would (module wrapper, its own require), compiled with its code cache when V8 takes it. */
function loadBundle(file: string): Loaded {
  const known = loaded.get(file);
  if (known) return known;
  const { script, cache } = compile(file);
  const entry: Loaded = { exports: {}, script, cache };
  const module = { exports: entry.exports, filename: file, id: file, loaded: false };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  entry.exports = module.exports;
  loaded.set(file, entry); // only once it ran through: a bundle that threw is not half-kept
  return entry;
}

/** One of nodemailer's modules (`nodemailer/lib/NAME`), from the nodemailer bundle when there is one. */
export function nodemailerPart<T>(member: string, path: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return vendored('nodemailer', () => require(`nodemailer/lib/${path}`) as T, member);
}

/**
 * The bundle NAME (its export `member`, for a bundle of several packages)
 * when the build made one, else `fromPackage()` (a plain `require` of the package).
 */
export function vendored<T>(name: VendoredName, fromPackage: () => T, member?: string): T {
  const file = bundles && join(bundles, `${name}.js`);
  if (!file || !existsSync(file)) return fromPackage();
  const bundle = loadBundle(file).exports;
  return (member === undefined ? bundle : bundle[member]) as T;
}

/**
 * Every bundle of this build and whether V8 takes its code cache, each
 * compiled but not run (`deskbridge doctor`); null when running from the
 * sources, which have none.
 */
export function checkBundles(): Array<{ name: string; cache: CodeCacheUse; damaged?: string }> | null {
  if (!bundles || !existsSync(bundles)) return null;
  return readdirSync(bundles)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => {
      const name = basename(f, '.js');
      try {
        // a bundle this thread loaded: its verdict then (compiled again, V8's in-memory cache would answer, not the file)
        return { name, cache: (loaded.get(join(bundles, f)) ?? compile(join(bundles, f))).cache };
      } catch (err) {
        return { name, cache: 'none' as const, damaged: (err as Error).message };
      }
    });
}

/** The bundles this thread loaded, and how each was compiled (tests). */
export function loadedBundles(): Array<{ name: string; cache: CodeCacheUse }> {
  return [...loaded].map(([file, l]) => ({ name: basename(file, '.js'), cache: l.cache }));
}

/**
 * Writes the code cache of every bundle this thread loaded, beside it: for
 * src/code-cache.ts, at build time, once the bundles have done a
 * representative piece of work (V8 then keeps the functions compiled so far,
 * not only the top level). Never called by the program itself.
 */
export function writeCodeCaches(): string[] {
  return [...loaded].map(([file, l]) => {
    const payload = l.script.createCachedData();
    const target = codeCacheFile(file);
    const partial = `${target}.${process.pid}.tmp`; // renamed into place whole: a reader never sees half a file
    // the bundle's bytes read again (not kept by every process for this build-time step: mail.js is 1.9 MB)
    writeFileSync(partial, Buffer.concat([CACHE_MAGIC, digest(readFileSync(file), payload), payload]));
    renameSync(partial, target);
    return target;
  });
}
