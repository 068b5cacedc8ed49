// The inbound ledger: every mail the bridge received, raw bytes kept, with its
// outcome state. Position in a mailbox is (mailbox, UIDVALIDITY, UID).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('inbound', (t) => {
    t.increments('id').primary();
    t.string('source', 16).notNullable(); // file | stdin | imap
    t.text('source_ref'); // file name, or the mailbox key
    t.string('mailbox', 500);
    t.bigInteger('uidvalidity');
    t.bigInteger('uid');
    t.string('message_id', 998);
    t.string('from_address', 320);
    t.text('subject');
    t.string('content_hash', 64).notNullable(); // sha256 of the raw bytes
    t.integer('size').notNullable();
    t.binary('raw'); // null for a duplicate (it points at the original)
    t.integer('duplicate_of').references('id').inTable('inbound');
    t.string('state', 32); // null until processed; DESIGN.md ledger states
    t.text('reason');
    t.integer('system_id').references('id').inTable('systems').onDelete('SET NULL');
    t.integer('ticket_id').references('id').inTable('tickets').onDelete('SET NULL');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('received_at', { useTz: true }).notNullable();
    t.timestamp('processed_at', { useTz: true });
    t.unique(['mailbox', 'uidvalidity', 'uid']);
    t.index(['content_hash']);
    t.index(['message_id']);
    t.index(['state']);
  });
}
