// Repository of mailbox cursors and leases. The cursor (UIDVALIDITY + last
// processed UID) is written in the same transaction as the mails it covers,
// so the position and the results commit together (DESIGN.md flow step 2);
// flags and sequence numbers never say what was read. The lease says which
// process reads a mailbox: one at a time, renewed by its holder's heartbeat
// and taken over when it lapses; all lease times from the database clock.
import type { Knex } from 'knex';
import { DeskbridgeError } from '../errors';
import { dbAgeMs, dbIn, dbNow } from './db-clock';
import { nowIso, toIso, toNumberOrNull } from './values';

export interface Cursor {
  mailbox: string;
  uidvalidity: number | null;
  lastUid: number;
  leaseOwner: string | null;
  leaseUntil: string | null;
}

const fromRow = (r: Record<string, unknown>): Cursor => ({
  mailbox: String(r.mailbox),
  uidvalidity: toNumberOrNull(r.uidvalidity),
  lastUid: Number(r.last_uid ?? 0),
  leaseOwner: (r.lease_owner as string) ?? null,
  leaseUntil: toIso(r.lease_until, true),
});

export async function readCursor(knex: Knex, mailbox: string): Promise<Cursor | undefined> {
  const row = await knex('mailbox_cursors').where({ mailbox }).first();
  return row ? fromRow(row) : undefined;
}

/**
 * Moves the cursor, inside the batch's transaction, only while `owner` still
 * holds the lease: a process that lost its lease (paused, then overtaken)
 * must not commit, so the whole batch rolls back and nothing is doubled.
 */
export async function advanceCursor(trx: Knex, mailbox: string, owner: string, position: { uidvalidity: number; lastUid: number }): Promise<void> {
  const changed = await trx('mailbox_cursors')
    .where({ mailbox, lease_owner: owner })
    .update({ uidvalidity: position.uidvalidity, last_uid: position.lastUid, updated_at: nowIso() });
  if (changed === 0) throw new DeskbridgeError('ELEASE', `the lease on ${mailbox} was taken over by another process; this batch is rolled back`);
}

/** An owner name: instance, pid and a random part, so a restarted process is a new owner. Only ever compared whole. */
export const leaseOwner = (instance: string, pid: number, nonce: string) => `${instance}:${pid}:${nonce}`;

/**
 * Takes the leases of these mailboxes that are free or lapsed (their holder
 * stopped renewing: dead, or paused past its lease) for `ttlMs` (database
 * clock), in two statements whatever their number (a process taking over a
 * dead one's fifty mailboxes must not pay a round trip each); returns the
 * ones taken. Whether a holder is alive is read from its lease alone, never
 * from a PID.
 */
export async function acquireLeases(knex: Knex, mailboxes: readonly string[], owner: string, ttlMs: number): Promise<string[]> {
  if (mailboxes.length === 0) return [];
  await knex('mailbox_cursors').insert(mailboxes.map((mailbox) => ({ mailbox, last_uid: 0, updated_at: nowIso() }))).onConflict('mailbox').ignore();
  const taken: Array<{ mailbox: string }> = await knex('mailbox_cursors')
    .whereIn('mailbox', [...mailboxes])
    .where((w) => w.whereNull('lease_owner').orWhereNull('lease_until').orWhere('lease_until', '<', dbNow(knex)))
    .update({ lease_owner: owner, lease_until: dbIn(knex, ttlMs) })
    .returning('mailbox');
  return taken.map((r) => String(r.mailbox));
}

/** Renews every lease `owner` holds; returns the mailboxes it still holds (a lease taken over meanwhile is missing). */
export async function renewLeases(knex: Knex, owner: string, ttlMs: number): Promise<string[]> {
  await knex('mailbox_cursors').where({ lease_owner: owner }).update({ lease_until: dbIn(knex, ttlMs) });
  return (await knex('mailbox_cursors').where({ lease_owner: owner }).pluck('mailbox')).map(String);
}

/** Who holds which of these mailboxes now; a lapsed lease counts as free (holder null). */
export async function leaseHolders(knex: Knex, mailboxes: readonly string[]): Promise<Map<string, string | null>> {
  const rows: Array<{ mailbox: string; lease_owner: string | null; live: number | boolean }> = await knex('mailbox_cursors')
    .select('mailbox', 'lease_owner', knex.raw('(case when lease_until > ? then 1 else 0 end) as live', [dbNow(knex)]))
    .whereIn('mailbox', [...mailboxes]);
  const holders = new Map<string, string | null>(mailboxes.map((m) => [m, null]));
  for (const r of rows) holders.set(r.mailbox, Number(r.live) === 1 ? r.lease_owner : null);
  return holders;
}

/** Every cursor, with how long ago it last moved and whether its lease is live (database clock). */
export async function listCursors(knex: Knex): Promise<Array<Cursor & { updatedAt: string; movedAgeMs: number; leaseLive: boolean }>> {
  const rows: Array<Record<string, unknown>> = await knex('mailbox_cursors')
    .select('*', dbAgeMs(knex, 'updated_at').wrap('(', ') as moved_age_ms'), knex.raw('(case when lease_until > ? then 1 else 0 end) as lease_live', [dbNow(knex)]))
    .orderBy('mailbox');
  return rows.map((r) => ({ ...fromRow(r), updatedAt: toIso(r.updated_at), movedAgeMs: Math.max(0, Math.round(Number(r.moved_age_ms))), leaseLive: Number(r.lease_live) === 1 }));
}

export async function releaseLease(knex: Knex, mailbox: string, owner: string): Promise<void> {
  await knex('mailbox_cursors').where({ mailbox, lease_owner: owner }).update({ lease_owner: null, lease_until: null });
}
