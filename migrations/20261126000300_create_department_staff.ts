// Staff of a department: who is notified and who may reply. A table rather
// than a JSON column, because "is this sender staff?" is asked per reply.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('department_staff', (t) => {
    t.integer('department_id').notNullable().references('id').inTable('departments').onDelete('CASCADE');
    t.string('address', 320).notNullable(); // lower-cased
    t.integer('position').notNullable(); // keeps the order the admin gave
    t.primary(['department_id', 'address']);
    t.index(['address']);
  });
}
