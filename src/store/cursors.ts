// Repository of mailbox cursors and leases. The cursor (UIDVALIDITY + last
// processed UID) is written in the same transaction as the mails it covers,
// so the position and the results commit together (DESIGN.md flow step 2);
// flags and sequence numbers never say what was read. The lease says which
// process reads a mailbox: one at a time, taken over when the holder's lease
// lapses, or at once when the holder was this host's process and is gone.
import type { Knex } from 'knex';
import { DeskbridgeError } from '../errors';
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

/** An owner name: instance, pid and a nonce, so a restarted process is a new owner. */
export const leaseOwner = (instance: string, pid: number, nonce: string) => `${instance}:${pid}:${nonce}`;

function ownerIsDeadHere(owner: string | null, instance: string): boolean {
  if (!owner) return false;
  const [ownerInstance, pid] = owner.split(':');
  if (ownerInstance !== instance || !pid || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Takes or renews the lease for `ttlMs`. Free, lapsed, already ours, or held
 * by a process of this same instance that no longer exists (killed -9): taken.
 * Held by a live process: not taken, and the holder is returned.
 */
export async function acquireLease(
  knex: Knex,
  mailbox: string,
  owner: string,
  instance: string,
  ttlMs: number,
): Promise<{ acquired: true } | { acquired: false; holder: string; until: string | null }> {
  const now = new Date();
  await knex('mailbox_cursors').insert({ mailbox, last_uid: 0, updated_at: now.toISOString() }).onConflict('mailbox').ignore();
  const until = new Date(now.getTime() + ttlMs).toISOString();
  const taken = await knex('mailbox_cursors')
    .where({ mailbox })
    .where((w) => w.whereNull('lease_owner').orWhere('lease_owner', owner).orWhere('lease_until', '<', now.toISOString()))
    .update({ lease_owner: owner, lease_until: until });
  if (taken > 0) return { acquired: true };
  const current = await readCursor(knex, mailbox);
  if (current && ownerIsDeadHere(current.leaseOwner, instance)) {
    const stolen = await knex('mailbox_cursors').where({ mailbox, lease_owner: current.leaseOwner }).update({ lease_owner: owner, lease_until: until });
    if (stolen > 0) return { acquired: true };
  }
  return { acquired: false, holder: current?.leaseOwner ?? '(unknown)', until: current?.leaseUntil ?? null };
}

export async function releaseLease(knex: Knex, mailbox: string, owner: string): Promise<void> {
  await knex('mailbox_cursors').where({ mailbox, lease_owner: owner }).update({ lease_owner: null, lease_until: null });
}
