// Brings the schema to the latest migration. Safe when two processes start at
// once: on PostgreSQL a session advisory lock serialises them; on SQLite the
// second waits on knex's migration lock and retries, then finds nothing to do.
import type { Knex } from 'knex';
import { DeskbridgeError } from '../errors';
import type { Database } from './db';
import { MIGRATIONS, MIGRATIONS_TABLE } from './migration-source';

const MIGRATION_LOCK_KEY = 0x6465736b; // "desk": the advisory lock id migrations hold on PostgreSQL
const RETRY_DELAY_MS = 200;
const RETRY_FOR_MS = 60_000; // a migration run on a big table may take this long

export interface MigrateResult {
  applied: string[];
}

const isContention = (err: unknown): boolean => {
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? ''} ${(err as { code?: string })?.code ?? ''}`;
  return /MigrationLocked|already locked|SQLITE_BUSY|database is locked|already exists|UNIQUE constraint failed/i.test(text);
};

async function withAdvisoryLock<T>(knex: Knex, fn: () => Promise<T>): Promise<T> {
  // A pooled connection held for the whole run: the lock belongs to its session.
  const conn = await knex.client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]).connection(conn);
    try {
      return await fn();
    } finally {
      await knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]).connection(conn);
    }
  } finally {
    await knex.client.releaseConnection(conn);
  }
}

export async function migrateLatest(db: Database): Promise<MigrateResult> {
  const run = async (): Promise<MigrateResult> => {
    const started = Date.now();
    for (;;) {
      try {
        const [, applied] = (await db.knex.migrate.latest()) as [number, string[]];
        return { applied };
      } catch (err) {
        if (!isContention(err) || Date.now() - started > RETRY_FOR_MS) {
          throw new DeskbridgeError('EMIGRATION', `migration failed: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      }
    }
  };
  return db.dialect.advisoryLocks ? withAdvisoryLock(db.knex, run) : run();
}

/**
 * The migrations the database lacks, asked on every CLI call that works on
 * the database. One read of knex's own table rather than knex's
 * `migrate.list()`, which first makes sure its two tables exist (creating
 * them in a database that lacks them: a read-only command would write) and
 * cost a single-mail `deskbridge ingest` several round trips. A database that
 * has run migrations this code does not know (a newer deskbridge) is refused,
 * as knex refuses it.
 */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const applied = new Set<string>();
  if (await db.knex.schema.hasTable(MIGRATIONS_TABLE)) {
    for (const row of (await db.knex(MIGRATIONS_TABLE).select('name')) as Array<{ name: string }>) applied.add(row.name);
  }
  const known = new Set(MIGRATIONS.map(([name]) => name));
  const unknown = [...applied].filter((name) => !known.has(name));
  if (unknown.length > 0) throw new DeskbridgeError('EMIGRATION', `the database has migrations this deskbridge does not know (${unknown.join(', ')}): it was migrated by a newer version`);
  return MIGRATIONS.map(([name]) => name).filter((name) => !applied.has(name));
}
