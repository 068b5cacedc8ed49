// Repository of staff_notices: one row per staff address and 10-minute
// window, so "at most one notice per sender per 10 minutes" is the unique
// key's to enforce, not a read-then-write.
import type { Knex } from 'knex';
import { nowIso } from './values';

export const NOTICE_WINDOW_MS = 10 * 60_000; // a person sending ten rejected replies in a minute hears about it once

/** Takes the current window for `address`; false when a notice in it was already taken. */
export async function takeNoticeWindow(knex: Knex, address: string, now = new Date()): Promise<number | null> {
  const windowStart = Math.floor(now.getTime() / NOTICE_WINDOW_MS) * NOTICE_WINDOW_MS;
  const rows = await knex('staff_notices').insert({ address: address.toLowerCase(), window_start: windowStart, created_at: nowIso() }).onConflict(['address', 'window_start']).ignore().returning('id');
  return rows.length ? Number((rows[0] as { id: number }).id) : null;
}

export async function recordNoticeOutbox(knex: Knex, id: number, outboxId: number): Promise<void> {
  await knex('staff_notices').where({ id }).update({ outbox_id: outboxId });
}
