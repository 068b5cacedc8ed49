// The migrations' modules, imported statically (the same module resolves
// whether the code runs from .ts or compiled .js), for knex to run: loaded
// only by `migrate`, `init`, `npx knex` (knexfile.ts) and the tests. Their
// names and order are in migration-names.ts, which every command's schema
// check reads without loading these.
import type { Knex } from 'knex';
import { MIGRATION_NAMES } from './migration-names';
import * as m0 from '../../migrations/20261126000100_create_systems';
import * as m1 from '../../migrations/20261126000200_create_departments';
import * as m2 from '../../migrations/20261126000300_create_department_staff';
import * as m3 from '../../migrations/20261126000400_create_correspondences';
import * as m4 from '../../migrations/20261126000500_create_tickets';
import * as m5 from '../../migrations/20261126000600_create_inbound';
import * as m6 from '../../migrations/20261126000700_create_messages';
import * as m7 from '../../migrations/20261126000800_create_attachments';
import * as m8 from '../../migrations/20261126000900_create_outbox';
import * as m9 from '../../migrations/20261126001000_create_mailbox_cursors';
import * as m10 from '../../migrations/20261126001100_create_audit_log';
import * as m1101 from '../../migrations/20261130110100_add_sender_auth';
import * as m1102 from '../../migrations/20261130110200_create_staff_notices';
import * as m1201 from '../../migrations/20261130120100_unique_inbound_originals';
import * as m1202 from '../../migrations/20261130120200_create_processes';
import * as m14a from '../../migrations/20261130140100_add_department_staff_name';
import * as m15 from '../../migrations/20261202100100_widen_inbound_size';
import * as m16 from '../../migrations/20261202110100_outbox_render_later';
import * as m1301 from '../../migrations/20261130130100_create_inbound_history';

type Migration = { up(knex: Knex): Promise<void> };

/** Each migration's module, by its name. */
const MODULES: Readonly<Record<string, Migration>> = {
  '20261126000100_create_systems': m0,
  '20261126000200_create_departments': m1,
  '20261126000300_create_department_staff': m2,
  '20261126000400_create_correspondences': m3,
  '20261126000500_create_tickets': m4,
  '20261126000600_create_inbound': m5,
  '20261126000700_create_messages': m6,
  '20261126000800_create_attachments': m7,
  '20261126000900_create_outbox': m8,
  '20261126001000_create_mailbox_cursors': m9,
  '20261126001100_create_audit_log': m10,
  '20261130110100_add_sender_auth': m1101,
  '20261130110200_create_staff_notices': m1102,
  '20261130120100_unique_inbound_originals': m1201,
  '20261130120200_create_processes': m1202,
  '20261130130100_create_inbound_history': m1301,
  '20261130140100_add_department_staff_name': m14a,
  '20261202100100_widen_inbound_size': m15,
  '20261202110100_outbox_render_later': m16,
};

/** Every migration in the order it runs, with its module; built from MIGRATION_NAMES, and refusing to load if the two lists differ. */
export const MIGRATIONS: ReadonlyArray<readonly [string, Migration]> = MIGRATION_NAMES.map((name) => {
  const migration = MODULES[name];
  if (!migration) throw new Error(`migration ${name} is listed in migration-names.ts but not imported in migration-source.ts`);
  return [name, migration] as const;
});
const unlisted = Object.keys(MODULES).filter((name) => !MIGRATION_NAMES.includes(name));
if (unlisted.length > 0) throw new Error(`migration ${unlisted.join(', ')} is imported in migration-source.ts but not listed in migration-names.ts`);

interface Entry {
  /** The name, under the property knex's CLI prints (`npx knex migrate:list`), as for its own migration files. */
  file: string;
  migration: Migration;
}

/** A knex migration source over these migrations, or the first ones of them (upgrade tests). */
export function migrationSourceOf(migrations: ReadonlyArray<readonly [string, Migration]>): Knex.MigrationSource<Entry> {
  return {
    getMigrations: async () => migrations.map(([file, migration]) => ({ file, migration })),
    getMigrationName: ({ file }) => file,
    // Forward only: knex insists on a down(), so each gets one that refuses.
    getMigration: async ({ file, migration }) => ({
      up: migration.up,
      down: async () => {
        throw new Error(`${file}: deskbridge migrations are forward-only; restore a backup to go back`);
      },
    }),
  };
}

export const migrationSource = migrationSourceOf(MIGRATIONS);
