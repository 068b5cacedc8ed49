// A ledger row's earlier outcomes: when a mail is replayed (`inbox replay`,
// `parked replay`) or discarded, the outcome it had is kept here before the
// row takes the new one, so `inbox show` tells the whole story
// (rejected_sender → ticket_created after `system add`). The ledger row keeps
// the current outcome, so nothing that reads it changes.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('inbound_history', (t) => {
    t.increments('id').primary();
    t.integer('inbound_id').notNullable().references('id').inTable('inbound').onDelete('CASCADE');
    t.string('state', 32); // the outcome it had (null: never processed)
    t.text('reason');
    t.integer('system_id');
    t.integer('ticket_id');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('decided_at', { useTz: true }); // when that outcome was decided (the row's processed_at then)
    t.timestamp('replaced_at', { useTz: true }).notNullable();
    t.string('replaced_by', 200).notNullable(); // who, and how: "root: inbox replay"
    t.index(['inbound_id']);
  });
}
