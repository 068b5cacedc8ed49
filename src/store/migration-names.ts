// The names of the migrations, in the order they run, and knex's table that
// records them: what every command's schema check (schema-check.ts) needs,
// without the migrations' own modules (migration-source.ts), which only
// `migrate`, `init` and `npx knex` load (~9 ms of every CLI call's start-up).
// Names carry no extension: knex stores a migration's file name with its
// extension (knex issue #4037), so the same names must resolve whether the
// code runs from .ts (tsx, vitest, `npx knex` via sucrase) or compiled .js.
// A test checks that every file in migrations/ is listed, here and there.

/** knex's record of applied migrations (db.ts names it to knex; schema-check.ts reads it). */
export const MIGRATIONS_TABLE = 'knex_migrations';

export const MIGRATION_NAMES: readonly string[] = [
  '20261126000100_create_systems',
  '20261126000200_create_departments',
  '20261126000300_create_department_staff',
  '20261126000400_create_correspondences',
  '20261126000500_create_tickets',
  '20261126000600_create_inbound',
  '20261126000700_create_messages',
  '20261126000800_create_attachments',
  '20261126000900_create_outbox',
  '20261126001000_create_mailbox_cursors',
  '20261126001100_create_audit_log',
  '20261130110100_add_sender_auth',
  '20261130110200_create_staff_notices',
  '20261130120100_unique_inbound_originals',
  '20261130120200_create_processes',
  '20261130130100_create_inbound_history',
  '20261130140100_add_department_staff_name',
  '20261202100100_widen_inbound_size',
  '20261202110100_outbox_render_later',
];
