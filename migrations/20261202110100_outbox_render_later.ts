// A staff notification is rendered when it is first sent, not when it is
// queued (outbound/notify.ts): composing every notification inside the
// ingest was a third of a CLI ingest's work (issue 15). Such a row is queued
// with no bytes and `render_input`: the JSON of what its rendering needs
// beyond its source message (the ticket as it was then). On PostgreSQL its
// `raw` is NULL, so a deskbridge from before this migration still running on
// another machine (a rolling upgrade) fails its claims, loudly, instead of
// sending an empty mail; `raw` may be NULL there from now on (no rewrite of
// the table). On SQLite it stays NOT NULL (changing that rebuilds the table,
// copying every stored mail) and the row holds an empty `raw`: its processes
// share one machine, and `run` migrates as it starts.
// The first claim renders it, stores the bytes and clears `render_input`, so
// every later attempt, and `outbox show --raw`, is the same mail. Every
// other row is queued rendered, as before.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('outbox', (t) => {
    t.text('render_input').nullable();
  });
  if (knex.client.config.client === 'pg') await knex.raw('alter table ?? alter column ?? drop not null', ['outbox', 'raw']);
}
