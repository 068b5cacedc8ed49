// Attachments of a thread message, content kept in the database so a relay
// can carry them and a backup holds everything.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('attachments', (t) => {
    t.increments('id').primary();
    t.integer('message_id').notNullable().references('id').inTable('messages').onDelete('CASCADE');
    t.string('filename', 500).notNullable();
    t.string('content_type', 200).notNullable();
    t.integer('size').notNullable();
    t.string('sha256', 64).notNullable();
    t.string('content_id', 998);
    t.binary('content').notNullable();
    t.index(['message_id']);
  });
}
