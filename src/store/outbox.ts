// Repository of the outbox: every mail the bridge will send, queued in the
// same transaction as the event that causes it, with its rendered bytes and
// its Message-ID fixed at that moment (a resend after a crash is the same
// mail). A worker claims due rows for a while (FOR UPDATE SKIP LOCKED where
// the database has it), sends, and records sent / retry / dead.
import type { Knex } from 'knex';
import type { Dialect } from './dialect';
import { nowIso, parseJsonArray, toIso, toNumberOrNull } from './values';

export const OUTBOX_STATES = ['queued', 'sent', 'dead', 'bounced', 'parked', 'discarded'] as const; // discarded: an admin gave up on it (`outbox discard`)
export type OutboxState = (typeof OUTBOX_STATES)[number];
export type OutboxKind = 'notification' | 'relay' | 'close';

export interface NewOutboxItem {
  kind: OutboxKind;
  ticketId: number | null;
  sourceMessageId: number | null;
  to: string[];
  subject: string;
  messageId: string;
  raw: Buffer;
  deadlineAt: Date;
  /** `parked` (with the reason in lastError) for a row that must not be sent, e.g. a suspected loop. */
  state?: Extract<OutboxState, 'queued' | 'parked'>;
  lastError?: string | null;
}

export interface OutboxItem {
  id: number;
  kind: OutboxKind;
  state: OutboxState;
  ticketId: number | null;
  to: string[];
  subject: string;
  messageId: string;
  attempts: number;
  nextAttemptAt: string;
  deadlineAt: string;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

const fromRow = (r: Record<string, unknown>): OutboxItem => ({
  id: Number(r.id),
  kind: r.kind as OutboxKind,
  state: r.state as OutboxState,
  ticketId: toNumberOrNull(r.ticket_id),
  to: parseJsonArray(r.to_addresses),
  subject: String(r.subject),
  messageId: String(r.message_id),
  attempts: Number(r.attempts),
  nextAttemptAt: toIso(r.next_attempt_at),
  deadlineAt: toIso(r.deadline_at),
  lastError: (r.last_error as string) ?? null,
  createdAt: toIso(r.created_at),
  sentAt: toIso(r.sent_at, true),
});

const COLUMNS = ['id', 'kind', 'state', 'ticket_id', 'to_addresses', 'subject', 'message_id', 'attempts', 'next_attempt_at', 'deadline_at', 'last_error', 'created_at', 'sent_at'];

export async function enqueue(trx: Knex, item: NewOutboxItem): Promise<number> {
  const now = nowIso();
  const [row] = await trx('outbox')
    .insert({
      kind: item.kind,
      state: item.state ?? 'queued',
      ticket_id: item.ticketId,
      source_message_id: item.sourceMessageId,
      to_addresses: JSON.stringify(item.to),
      subject: item.subject,
      message_id: item.messageId,
      raw: item.raw,
      attempts: 0,
      next_attempt_at: now,
      deadline_at: item.deadlineAt.toISOString(),
      last_error: item.lastError ?? null,
      created_at: now,
    })
    .returning('id');
  return Number((row as { id: number }).id);
}

export async function listOutbox(knex: Knex, filter: { states?: readonly string[]; ids?: number[]; ticketId?: number } = {}): Promise<OutboxItem[]> {
  const q = knex('outbox').select(COLUMNS).orderBy('id');
  if (filter.states) q.whereIn('state', filter.states as string[]);
  if (filter.ids) q.whereIn('id', filter.ids);
  if (filter.ticketId !== undefined) q.where('ticket_id', filter.ticketId);
  return (await q).map(fromRow);
}

export interface Claimed extends OutboxItem {
  raw: Buffer;
}

export type Attempt = { state: 'sent' } | { state: 'queued'; nextAttemptAt: Date; error: string } | { state: 'dead'; error: string };

/**
 * One round of the sender, in one transaction: records the results of the
 * previous claim's sends, then claims up to `limit` due rows for `owner`
 * until `untilMs` from now. One database turn per round matters on SQLite,
 * where the sender waits between the pipeline's batch transactions for it.
 * On PostgreSQL concurrent workers skip each other's rows (SKIP LOCKED); on
 * SQLite one writer at a time makes the select-then-update safe.
 */
export async function settleAndClaim(
  knex: Knex,
  dialect: Dialect,
  settled: ReadonlyArray<readonly [number, Attempt]>,
  claim: { owner: string; limit: number; untilMs: number },
  now = new Date(),
): Promise<Claimed[]> {
  return knex.transaction(async (trx) => {
    await recordAttempts(trx, settled);
    return claimDue(trx, dialect, claim.owner, claim.limit, claim.untilMs, now);
  });
}

async function claimDue(trx: Knex, dialect: Dialect, owner: string, limit: number, untilMs: number, now: Date): Promise<Claimed[]> {
  const q = trx('outbox')
    .select('id')
    .where('state', 'queued')
    .where('next_attempt_at', '<=', now.toISOString())
    .where((w) => w.whereNull('claimed_until').orWhere('claimed_until', '<', now.toISOString()))
    .orderBy('next_attempt_at')
    .limit(limit);
  if (dialect.skipLocked) q.forUpdate().skipLocked();
  const ids = (await q).map((r: { id: number }) => Number(r.id));
  if (ids.length === 0) return [];
  await trx('outbox').whereIn('id', ids).update({ claimed_by: owner, claimed_until: new Date(now.getTime() + untilMs).toISOString() });
  const rows: Array<Record<string, unknown>> = await trx('outbox').select([...COLUMNS, 'raw']).whereIn('id', ids).orderBy('id');
  return rows.map((r) => ({ ...fromRow(r), raw: Buffer.from(r.raw as Uint8Array) }));
}

/** The sent rows in one statement, each retry or dead row on its own; a row only while still queued (a bounce may have won the race). */
async function recordAttempts(trx: Knex, results: ReadonlyArray<readonly [number, Attempt]>): Promise<void> {
  const base = { attempts: trx.raw('attempts + 1'), claimed_by: null, claimed_until: null };
  const sent = results.filter(([, a]) => a.state === 'sent').map(([id]) => id);
  for (let i = 0; i < sent.length; i += 500) {
    await trx('outbox').whereIn('id', sent.slice(i, i + 500)).where('state', 'queued').update({ ...base, state: 'sent', sent_at: nowIso(), last_error: null });
  }
  for (const [id, a] of results) {
    if (a.state === 'sent') continue;
    const fields = a.state === 'queued' ? { next_attempt_at: a.nextAttemptAt.toISOString(), last_error: a.error } : { state: 'dead', last_error: a.error };
    await trx('outbox').where({ id, state: 'queued' }).update({ ...base, ...fields });
  }
}

/** Puts dead, bounced or parked rows back in the queue, due now, with a fresh deadline. */
export async function requeue(trx: Knex, ids: number[], deadlineAt: Date): Promise<void> {
  await trx('outbox').whereIn('id', ids).update({ state: 'queued', next_attempt_at: nowIso(), deadline_at: deadlineAt.toISOString(), claimed_by: null, claimed_until: null });
}

export async function countRecentRelays(knex: Knex, ticketId: number, since: Date): Promise<number> {
  const row = (await knex('outbox')
    .where({ ticket_id: ticketId })
    .whereIn('kind', ['relay', 'close'])
    .where('created_at', '>=', since.toISOString())
    .count({ n: '*' })
    .first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Which of these Message-IDs are notifications we sent, and for which ticket. */
export async function notificationsByMessageId(knex: Knex, messageIds: string[]): Promise<Map<string, number>> {
  if (messageIds.length === 0) return new Map();
  const rows: Array<{ message_id: string; ticket_id: number | null }> = await knex('outbox').select('message_id', 'ticket_id').where('kind', 'notification').whereIn('message_id', messageIds);
  return new Map(rows.filter((r) => r.ticket_id !== null).map((r) => [r.message_id, Number(r.ticket_id)]));
}
