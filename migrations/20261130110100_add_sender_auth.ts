// Sender authentication (issue 11): each ledger row keeps its authentication
// results (JSON: dkim, spf, dmarc, domain, source …); each system its policy
// (`none` or `dmarc`) and each department its staff policy (`dmarc` or
// `token`). Rows that exist now get NULL, which means "not chosen yet": they
// keep working as before (system none, department token) and `doctor` warns
// about each until an admin chooses; new rows get the defaults from admin/.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('inbound', (t) => {
    t.text('auth');
  });
  await knex.schema.alterTable('systems', (t) => {
    t.string('auth_policy', 16);
  });
  await knex.schema.alterTable('departments', (t) => {
    t.string('staff_auth', 16);
  });
}
