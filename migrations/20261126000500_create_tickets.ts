// One local ticket per (system, remote ticket ID).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tickets', (t) => {
    t.increments('id').primary();
    t.integer('system_id').notNullable().references('id').inTable('systems').onDelete('RESTRICT');
    t.string('remote_ticket_id', 200).notNullable();
    t.integer('department_id').notNullable().references('id').inTable('departments').onDelete('RESTRICT');
    t.text('subject').notNullable().defaultTo('');
    t.string('customer_email', 320);
    t.string('customer_name', 200);
    t.string('status', 16).notNullable().defaultTo('open');
    t.string('last_remote_message_id', 998); // In-Reply-To of relays
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.timestamp('closed_at', { useTz: true });
    t.unique(['system_id', 'remote_ticket_id']);
    t.index(['status']);
    t.index(['department_id']);
  });
}
