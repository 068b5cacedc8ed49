// Brings the schema to the latest migration. Safe when two processes start at
// once: on PostgreSQL a session advisory lock serialises them; on SQLite the
// second waits on knex's migration lock and retries, then finds nothing to do.
// (What the database lacks, the check every command makes, is schema-check.ts.)
import type { Knex } from 'knex';
import { DeskbridgeError } from '../errors';
import type { Database } from './db';
import { MIGRATIONS_TABLE } from './migration-names';
import { migrationSource } from './migration-source';

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

const LOCK_TABLE = `${MIGRATIONS_TABLE}_lock`; // knex's name for it

/**
 * knex's migration lock is the one row of its lock table, taken by an UPDATE
 * that must change exactly one row. knex creates that table and inserts the
 * row outside any transaction: two processes migrating a new SQLite database
 * at once could each insert one, and from then on every UPDATE changed two
 * rows — "Migration table is already locked" for both, for good (the clean-
 * clone CI hung on it; 2 in 12 pairs of `deskbridge migrate` by hand). Made
 * here first, in one transaction (on SQLite it holds the write lock from its
 * BEGIN): one row, and a database left with more is brought back to one
 * (locked if any was: a migration may be running).
 */
async function oneLockRow(knex: Knex): Promise<void> {
  await knex.transaction(async (trx) => {
    if (!(await trx.schema.hasTable(LOCK_TABLE))) {
      await trx.schema.createTable(LOCK_TABLE, (t) => {
        t.increments('index').primary();
        t.integer('is_locked');
      });
    }
    const rows: Array<{ is_locked: number | string | null }> = await trx(LOCK_TABLE).select('is_locked');
    if (rows.length === 1) return;
    await trx(LOCK_TABLE).del();
    await trx(LOCK_TABLE).insert({ is_locked: rows.some((r) => Number(r.is_locked) === 1) ? 1 : 0 });
  });
}

export async function migrateLatest(db: Database): Promise<MigrateResult> {
  const run = async (): Promise<MigrateResult> => {
    const started = Date.now();
    for (;;) {
      try {
        if (!db.dialect.advisoryLocks) await oneLockRow(db.knex);
        const [, applied] = (await db.knex.migrate.latest({ migrationSource, tableName: MIGRATIONS_TABLE })) as [number, string[]];
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
