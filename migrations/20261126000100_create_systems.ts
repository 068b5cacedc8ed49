// External billing/helpdesk systems whose notifications we accept (DESIGN.md "system").
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('systems', (t) => {
    t.increments('id').primary();
    t.string('slug', 64).notNullable().unique();
    t.string('name', 200).notNullable();
    t.text('from_addresses').notNullable(); // JSON array: addresses and @domain entries
    t.string('relay_to', 320).notNullable();
    t.string('profile', 64).notNullable(); // preset name, or the custom profile's name
    t.text('profile_json'); // the custom profile (from --profile-file); null for a preset
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });
}
