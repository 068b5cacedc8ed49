// Every mail the bridge will send, written in the same transaction as the
// event that causes it, kept until sent, dead or bounced. The rendered mail is
// stored whole so a resend after a crash is the same mail (same Message-ID).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (t) => {
    t.increments('id').primary();
    t.string('kind', 16).notNullable(); // notification | relay | close
    t.string('state', 16).notNullable().defaultTo('queued'); // queued | sent | dead | bounced | parked
    t.integer('ticket_id').references('id').inTable('tickets').onDelete('SET NULL');
    t.integer('source_message_id').references('id').inTable('messages').onDelete('SET NULL');
    t.text('to_addresses').notNullable(); // JSON array
    t.text('subject').notNullable();
    t.string('message_id', 998).notNullable().unique();
    t.binary('raw').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    t.timestamp('deadline_at', { useTz: true }).notNullable();
    t.text('last_error');
    t.string('claimed_by', 200);
    t.timestamp('claimed_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('sent_at', { useTz: true });
    t.index(['state', 'next_attempt_at']);
    t.index(['ticket_id']);
  });
}
