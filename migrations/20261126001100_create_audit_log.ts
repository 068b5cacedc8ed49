// Every change to systems, departments and correspondences: when, who (OS
// user), what, before → after.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_log', (t) => {
    t.increments('id').primary();
    t.timestamp('at', { useTz: true }).notNullable();
    t.string('actor', 200).notNullable();
    t.string('entity', 32).notNullable(); // system | department | map
    t.string('entity_key', 200).notNullable(); // slug or id
    t.string('action', 32).notNullable(); // add | edit | remove | enable | disable
    t.text('before'); // JSON
    t.text('after'); // JSON
    t.index(['at']);
  });
}
