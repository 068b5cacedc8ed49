// Repository of tickets.
import type { Knex } from 'knex';

export async function countTickets(knex: Knex, where: { system_id?: number; department_id?: number }): Promise<number> {
  const row = (await knex('tickets').where(where).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
