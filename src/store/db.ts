// Opens the database through knex: SQLite (better-sqlite3, WAL, foreign keys
// on, a busy timeout so a second process waits instead of failing) or
// PostgreSQL. The one place that knows how to build a knex config, so the CLI,
// `run` and knexfile.ts connect the same way.
import type { Knex } from 'knex';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isPostgres, type Config } from '../config';
import { DeskbridgeError } from '../errors';
import { DIALECTS, type Dialect } from './dialect';
import { MIGRATIONS_TABLE } from './migration-names';
import { vendored } from '../vendor';

const SQLITE_BUSY_TIMEOUT_MS = 15_000; // another process may hold the write lock through a batch commit
const STATEMENT_CACHE_SIZE = 500; // distinct SQL texts kept prepared per connection; the pipeline uses a few dozen

type Statement = unknown;
interface SqliteConnection {
  pragma(sql: string): unknown;
  prepare(sql: string): Statement;
}

/**
 * knex asks better-sqlite3 to prepare every statement anew, which the ingest
 * profile showed as ~15% of the time. The same SQL text gets the same
 * prepared statement back (knex only calls all()/run() on it, which leave no
 * state behind); the cache is bounded and drops its oldest entry when full.
 * Every statement passes here, so this is also where BEGIN becomes IMMEDIATE.
 */
function cachePreparedStatements(conn: SqliteConnection): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, Statement>();
  conn.prepare = (text: string) => {
    // knex opens every transaction with a plain BEGIN. On SQLite that takes
    // the write lock only at the first write, and if another process
    // committed after this transaction's first read, that write fails at
    // once ("database is locked", no busy wait). Our transactions read, then
    // write; BEGIN IMMEDIATE takes the lock up front, waiting out the busy
    // timeout like any other write.
    const sql = text === 'BEGIN;' ? 'BEGIN IMMEDIATE;' : text;
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      cache.set(sql, statement);
    }
    return statement;
  };
}

export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

/**
 * knex prints pool trouble ("Acquire connection error" and its stack) on the
 * console by itself, before the error reaches us; the caller reports the
 * error in one line, so knex speaks only at DESKBRIDGE_LOG_LEVEL=debug.
 */
const quiet = (...args: unknown[]) => {
  if (['debug', 'trace'].includes(process.env.DESKBRIDGE_LOG_LEVEL ?? '')) console.warn(...args);
};
const KNEX_LOG = { warn: quiet, error: quiet, deprecate: quiet, debug: quiet };

const WITHOUT_MIGRATIONS: Knex.MigrationSource<never> = {
  getMigrations: () => Promise.reject(new Error('the migrations run through migrateLatest (src/store/migrate.ts) or `npx knex` (knexfile.ts), which hand knex their list')),
  getMigrationName: () => '',
  getMigration: () => Promise.reject(new Error('no migrations here')),
};

let addon: string | object | undefined;
/**
 * better-sqlite3's compiled addon, named to it. The knex bundle carries the
 * package's JavaScript (scripts/build.mjs), whose own search for the addon
 * (the `bindings` package, from the calling file's folder) would look beside
 * the bundle; and that search, unbundled, is ~2 ms of every start. Where the
 * package keeps it elsewhere (a debug build), `bindings` finds it from the
 * package's own folder.
 */
function sqliteAddon(): string | object {
  if (addon) return addon;
  const root = dirname(require.resolve('better-sqlite3/package.json'));
  const release = join(root, 'build', 'Release', 'better_sqlite3.node');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  addon = existsSync(release) ? release : (createRequire(join(root, 'package.json'))('bindings') as (o: object) => object)({ bindings: 'better_sqlite3.node', module_root: root });
  return addon;
}

export function knexConfig(database: string): Knex.Config {
  // the migrations themselves are handed to knex where they run (migrate.ts, knexfile.ts): every other call only
  // opens the database, and a knex.migrate call without them is refused in words (knex would read ./migrations)
  const migrations = { tableName: MIGRATIONS_TABLE, migrationSource: WITHOUT_MIGRATIONS };
  if (isPostgres(database)) {
    return { client: 'pg', connection: database, pool: { min: 0, max: 10 }, migrations, log: KNEX_LOG };
  }
  if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true });
  return {
    client: 'better-sqlite3',
    connection: { filename: database, options: { nativeBinding: sqliteAddon() } } as Knex.Sqlite3ConnectionConfig,
    useNullAsDefault: true,
    log: KNEX_LOG,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
        try {
          cachePreparedStatements(conn);
          // first: the pragmas below may wait for another process's lock too (knex passes better-sqlite3 no timeout option)
          conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          conn.pragma('journal_mode = WAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('synchronous = NORMAL'); // WAL + NORMAL is durable across process crashes
          // Each mail's savepoint keeps a statement journal of the pages it changes; past 64 KiB
          // (a ticket mail with its notification touches ~25 pages) SQLite spills it to a temp file,
          // ~50 pwrite calls per mail (strace of a 300-mail ingest). In memory it is freed at RELEASE.
          conn.pragma('temp_store = MEMORY');
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
    migrations,
  };
}

export function openDatabase(database: string): Database {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const knexFactory = vendored('knex', () => require('knex') as typeof import('knex')).knex;
  const knex = knexFactory(knexConfig(database));
  const dialect = DIALECTS[isPostgres(database) ? 'postgres' : 'sqlite'];
  return { knex, dialect, close: () => knex.destroy() };
}

/**
 * Every command but `init` and `migrate` works on a database that exists:
 * opening a SQLite file that is not there would create an empty one (in the
 * wrong folder, most often), and the next advice would build a second one.
 */
export function requireExistingDatabase(config: Config): void {
  if (isPostgres(config.database) || config.database === ':memory:' || existsSync(config.database)) return;
  const from = process.env.DESKBRIDGE_DATABASE || process.env.DESKBRIDGE_DATABASE_FILE ? 'DESKBRIDGE_DATABASE' : config.configFile ? `"database" in ${config.configFile}` : 'the default, next to the working directory';
  throw new DeskbridgeError('EDATABASE', `no database at ${config.database} (from ${from}); run \`deskbridge init\` to create it, or point DESKBRIDGE_DATABASE at the existing one`);
}
