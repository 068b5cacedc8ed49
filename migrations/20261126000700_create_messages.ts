// The thread of a ticket: remote messages, staff replies and events.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('messages', (t) => {
    t.increments('id').primary();
    t.integer('ticket_id').notNullable().references('id').inTable('tickets').onDelete('CASCADE');
    t.integer('inbound_id').references('id').inTable('inbound').onDelete('SET NULL');
    t.string('direction', 16).notNullable(); // remote | staff | event
    t.string('event', 16); // new | reply | closed | reopened
    t.string('from_address', 320);
    t.string('from_name', 200);
    t.string('message_id', 998);
    t.text('text').notNullable().defaultTo('');
    t.text('html'); // sanitised
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['ticket_id']);
  });
}
