// A staff notification is rendered when it is first sent, not when it is
// queued (outbound/notify.ts): composing every notification inside the
// ingest was a third of a CLI ingest's work (issue 15). Such a row is queued
// with no bytes and `render_input`: the JSON of what its rendering needs
// beyond its source message (the ticket as it was then). Its `raw` holds
// a value a deskbridge from before this cannot make a mail of, so one still
// running beside the migrated database (a rolling upgrade; a second `run`
// restarted later) fails its claims, loudly, instead of sending an empty
// mail: NULL on PostgreSQL, where `raw` may be NULL from now on (no rewrite
// of the table); on SQLite, where `raw` stays NOT NULL (changing that
// rebuilds the table, copying every stored mail), the integer 0, which
// SQLite keeps as it is and Buffer.from refuses (store/outbox.ts). The
// worker that first sends it renders it and stores the bytes, so every later
// attempt is the same mail. Every other row is queued rendered, as before.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.text('render_input').nullable();
  });
  if (knex.client.config.client === 'pg') await knex.raw('alter table ?? alter column ?? drop not null', ['outbox', 'raw']);
}
