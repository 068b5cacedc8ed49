// A staff member's display name beside the address (`--staff "Anna Staff
// <anna@desk.test>"`): relays say who wrote them ("Anna Staff via Hosting")
// instead of the bridge's own address. Nullable: staff added before keep
// working, and a bare address still means the name the mail itself gives.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('department_staff', (t) => {
    t.string('name', 200).nullable();
  });
}
