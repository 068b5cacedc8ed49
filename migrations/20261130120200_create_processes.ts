// The `deskbridge run` processes that share one database: each registers a
// row under a random owner id and keeps its heartbeat fresh (database clock).
// The live ones share the mailboxes out (at most ceil(mailboxes / live) each);
// one whose heartbeat is older than the lease is dead, and its mailboxes and
// outbox claims are taken over. `deskbridge status` reads it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('processes', (t) => {
    t.string('owner', 200).primary(); // instance:pid:random, the lease_owner / claimed_by it writes
    t.string('instance', 200).notNullable();
    t.string('host', 255).notNullable();
    t.integer('pid').notNullable();
    t.integer('mailboxes').notNullable(); // how many mailboxes its configuration names
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('heartbeat_at', { useTz: true }).notNullable();
    t.index(['heartbeat_at']);
  });
}
