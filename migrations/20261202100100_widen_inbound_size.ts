// A mail's size in the ledger past 2 GiB: a file `deskbridge ingest` reads
// for its headers alone (past the message limit) is recorded with its full
// size, and on PostgreSQL an `integer` column refused one of 3 GiB, failing
// the mail instead of recording it too_large. bigint there; SQLite's INTEGER
// holds 64 bits already. (The stored attachments' sizes stay integer: they
// come from mail within the message limit, at most 1 GiB.)
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.schema.alterTable('inbound', (t) => {
    t.bigInteger('size').notNullable().alter();
  });
}
