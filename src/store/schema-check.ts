// What the database lacks of this version's migrations, asked on every CLI
// call that works on the database (cli/context.ts) and by `doctor`. It reads
// the migrations' names only (migration-names.ts), not their modules.
import { DeskbridgeError } from '../errors';
import type { Database } from './db';
import { MIGRATION_NAMES, MIGRATIONS_TABLE } from './migration-names';

/**
 * The migrations the database lacks, in the order they run. One read of
 * knex's own table rather than knex's `migrate.list()`, which first makes
 * sure its two tables exist (creating them in a database that lacks them: a
 * read-only command would write) and cost a single-mail `deskbridge ingest`
 * several round trips. A database that has run migrations this code does not
 * know (a newer deskbridge) is refused, as knex refuses it.
 */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const applied = new Set<string>();
  if (await db.knex.schema.hasTable(MIGRATIONS_TABLE)) {
    for (const row of (await db.knex(MIGRATIONS_TABLE).select('name')) as Array<{ name: string }>) applied.add(row.name);
  }
  const unknown = [...applied].filter((name) => !MIGRATION_NAMES.includes(name));
  if (unknown.length > 0) throw new DeskbridgeError('EMIGRATION', `the database has migrations this deskbridge does not know (${unknown.join(', ')}): it was migrated by a newer version`);
  return MIGRATION_NAMES.filter((name) => !applied.has(name));
}
