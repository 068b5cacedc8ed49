// Where each mailbox was read up to (UIDVALIDITY + last UID), and which
// process holds it (a lease another process takes over when it lapses).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mailbox_cursors', (t) => {
    t.string('mailbox', 500).primary(); // user@host:port/MAILBOX, never the password
    t.bigInteger('uidvalidity');
    t.bigInteger('last_uid').notNullable().defaultTo(0);
    t.string('lease_owner', 200);
    t.timestamp('lease_until', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
}
