// The correspondence table of BILLmanager's "Remote support departments":
// (system, remote department ID, remote name) → our department, on/off.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('correspondences', (t) => {
    t.increments('id').primary();
    t.integer('system_id').notNullable().references('id').inTable('systems').onDelete('RESTRICT');
    t.string('remote_id', 320).notNullable();
    t.string('remote_name', 200).notNullable();
    t.string('remote_name_key', 200).notNullable(); // lower-cased, whitespace folded: the name fallback of routing
    t.integer('department_id').notNullable().references('id').inTable('departments').onDelete('RESTRICT');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.unique(['system_id', 'remote_id']);
    t.index(['system_id', 'remote_name_key']);
  });
}
