// Notices to staff whose reply was not relayed (issue 11): at most one per
// sender per 10-minute window, enforced by the unique key, so two processes
// (or a batch of rejected replies) never send the same person two notices.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('staff_notices', (t) => {
    t.increments('id').primary();
    t.string('address', 320).notNullable();
    t.bigInteger('window_start').notNullable(); // epoch ms of the 10-minute window
    t.integer('outbox_id').references('id').inTable('outbox').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['address', 'window_start']);
  });
}
