// Repository of the outbox: every mail the bridge will send, queued in the
// same transaction as the event that causes it, with its Message-ID fixed at
// that moment and its bytes fixed before its first send at the latest (a
// resend after a crash is the same mail): staff notices are queued rendered;
// a staff notification is queued with what rendering it needs, a relay or
// close with its words rendered, and each is made into its bytes by the
// worker that first claims it (outbound/notify.ts, outbound/relay-mail.ts
// say why), which stores them before it sends them. A worker claims a few due rows (FOR UPDATE SKIP LOCKED where the
// database has it), extends its claims while their sends are in flight, and
// records each result as soon as the server answered, only while it still
// holds the row; all claim times come from the database clock.
import type { Knex } from 'knex';
import { dialectOf, type Dialect } from './dialect';
import { dbIn, dbNow, SQLITE_CLOCK } from './db-clock';
import { insertRow, insertRows, ON_POSTGRES, onSqlite, placeholders } from './direct';
import { isDeskbridgeError } from '../errors';
import { errorText } from './savepoint';
import { storedMessages, type StoredMessage } from './tickets';
import { nowIso, parseJsonArray, toIso, toNumberOrNull } from './values';

export const OUTBOX_STATES = ['queued', 'sent', 'dead', 'bounced', 'parked', 'discarded'] as const; // discarded: an admin gave up on it (`outbox discard`)
export type OutboxState = (typeof OUTBOX_STATES)[number];
export type OutboxKind = 'notification' | 'relay' | 'close' | 'notice'; // notice: to staff whose reply was not relayed (outbound/staff-notice.ts)

export interface NewOutboxItem {
  kind: OutboxKind;
  ticketId: number | null;
  sourceMessageId: number | null;
  to: string[];
  subject: string;
  messageId: string;
  /** The mail's bytes; null for one made before its first send (a staff notification, a relay) from `renderInput`. */
  raw: Buffer | null;
  /** With `raw` null: what its rendering needs besides its source message, kept as JSON until it is rendered. */
  renderInput?: unknown;
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
/** A claimed row's columns: with its bytes, or what they are rendered from. */
const CLAIMED_COLUMNS = [...COLUMNS, 'raw', 'render_input', 'source_message_id'];

// The SQLite forms (store/direct.ts) of the worker's statements that run for every claim or row; the knex forms beside them serve PostgreSQL.
/** Up to `?` rows due now and held by no worker, the longest waiting first (claimDue). */
const DUE_IDS = `select id from outbox where state = 'queued' and next_attempt_at <= ${SQLITE_CLOCK.now} and (claimed_until is null or claimed_until < ${SQLITE_CLOCK.now}) order by next_attempt_at limit ?`;
/** A rendered row's bytes, its claim renewed for `?` ms, while the worker (`?` after the id) still holds it unrendered (renderClaimedRows). */
const STORE_RENDERED = `update outbox set raw = ?, render_input = null, claimed_until = ${SQLITE_CLOCK.plusMs} where id = ? and claimed_by = ? and state = 'queued' and render_input is not null`;

export async function enqueue(trx: Knex, item: NewOutboxItem): Promise<number> {
  return (await insertRow(trx, 'outbox', outboxRow(item, nowIso(), trx)))!;
}

/** Queues many items (a batch's notifications together); returns their ids in order. */
export async function enqueueMany(trx: Knex, items: readonly NewOutboxItem[]): Promise<number[]> {
  const now = nowIso();
  return insertRows(trx, 'outbox', items.map((item) => outboxRow(item, now, trx)));
}

/**
 * What an unrendered row holds in `raw` until the bytes are stored: a value a
 * deskbridge from before rendering at send time cannot make a mail of, so one
 * still running beside a migrated database (a rolling upgrade, a second `run`
 * restarted later) fails its claims, loudly, instead of sending an empty
 * mail. NULL on PostgreSQL; on SQLite, where `raw` stays NOT NULL (changing
 * that rebuilds the table, copying every stored mail), the integer 0, which
 * SQLite keeps as it is and Buffer.from refuses
 * (migrations/20261202110100_outbox_render_later.ts).
 */
const notRendered = (knex: Knex): null | 0 => (dialectOf(knex) === 'postgres' ? null : 0);

function outboxRow(item: NewOutboxItem, now: string, knex: Knex) {
  if (item.raw === null && item.renderInput === undefined) throw new Error('an outbox item queued unrendered needs its renderInput');
  return {
    kind: item.kind,
    state: item.state ?? 'queued',
    ticket_id: item.ticketId,
    source_message_id: item.sourceMessageId,
    to_addresses: JSON.stringify(item.to),
    subject: item.subject,
    message_id: item.messageId,
    raw: item.raw ?? notRendered(knex),
    render_input: item.raw === null ? JSON.stringify(item.renderInput) : null,
    attempts: 0,
    next_attempt_at: now,
    deadline_at: item.deadlineAt.toISOString(),
    last_error: item.lastError ?? null,
    created_at: now,
  };
}

export async function listOutbox(knex: Knex, filter: { states?: readonly string[]; ids?: number[]; ticketId?: number } = {}): Promise<OutboxItem[]> {
  const q = knex('outbox').select(COLUMNS).orderBy('id');
  if (filter.states) q.whereIn('state', filter.states as string[]);
  if (filter.ids) q.whereIn('id', filter.ids);
  if (filter.ticketId !== undefined) q.where('ticket_id', filter.ticketId);
  return (await q).map(fromRow);
}

export interface Claimed extends OutboxItem {
  /** The bytes to send; empty for a row queued unrendered (`renderInput` set) until renderClaimedRows stores them. */
  raw: Buffer;
  /** The JSON a row queued unrendered keeps until it is rendered; null for a rendered one. */
  renderInput: string | null;
  sourceMessageId: number | null;
}

/** A row queued unrendered, as its renderer gets it: its `renderInput`, and its source message (null when that is gone). */
export interface Unrendered extends OutboxItem {
  input: unknown;
  source: StoredMessage | null;
}

/** Renders a row queued unrendered (outbound/outbox-render.ts). Throws ECONFIG when the configuration is at fault (a template that does not compile, no secret). */
export type Render = (row: Unrendered) => Promise<Buffer>;

/** How long a row that could not be rendered for want of configuration waits before a worker tries it again. */
export const RENDER_RETRY_MS = 60_000;

const claimedRow = (r: Record<string, unknown>): Claimed => {
  const renderInput = r.render_input === null || r.render_input === undefined ? null : String(r.render_input);
  return { ...fromRow(r), raw: renderInput === null ? Buffer.from(r.raw as Uint8Array) : Buffer.alloc(0), renderInput, sourceMessageId: toNumberOrNull(r.source_message_id) };
};

/** Renders one row queued unrendered, from its stored input and its source message (null: gone). */
const renderRow = (render: Render, item: Claimed, source: StoredMessage | null) => render({ ...item, input: JSON.parse(item.renderInput!), source });

/**
 * Puts rows `owner` holds back in the queue for RENDER_RETRY_MS, with the
 * reason (their render met a database error): given back at once, not held
 * by the heartbeat of a busy worker, and not first in line for the next
 * claim (an error that lasts must not stop the rows behind them). Best
 * effort: if this write fails too, their claims lapse.
 */
async function putBack(knex: Knex, owner: string, ids: readonly number[], error: string): Promise<void> {
  await knex('outbox')
    .whereIn('id', ids)
    .where({ claimed_by: owner, state: 'queued' })
    .update({ claimed_by: null, claimed_until: null, next_attempt_at: dbIn(knex, RENDER_RETRY_MS), last_error: error })
    .catch(() => undefined);
}

/** What rendering a claimed row came to: its bytes (stored, the claim renewed), or why it is not sent now. */
export type Rendered =
  | { state: 'rendered'; raw: Buffer }
  | { state: 'waiting' | 'dead' | 'retry'; error: string } // retry: a database error; back in the queue for RENDER_RETRY_MS
  | { state: 'lost' }; // the claim lapsed meanwhile (another worker has the row and sends it), or it was bounced or discarded

/**
 * A database error as a row's last error: knex writes the statement, with its
 * values (here a whole rendered mail), before the database's own words; only
 * those are kept, with the error's code.
 */
function databaseErrorText(err: unknown): string {
  const message = String((err as Error)?.message ?? err);
  const own = errorText(/^(insert|update|select|delete|with)\b/i.test(message) && message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message);
  const code = (err as { code?: unknown })?.code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${own.slice(0, 300)}`;
}

/** The last error of a row put back after a database error (putBack). */
const renderRetryText = (err: unknown) => `could not be rendered now (database: ${databaseErrorText(err)}); tried again later`;

/**
 * Renders rows claimed by `owner` that were queued unrendered (a claim's
 * worth), after their claim, never inside it: a slow render there committed
 * rows whose claim had already lapsed, and a second worker sent them too.
 * Their messages and attachments are read in two statements, each row is
 * rendered (the event loop gets a turn between rows: the heartbeat and a
 * stop are not held up by a claim's renders), and the outcomes are written
 * in one transaction: the bytes stored and the claim renewed for `ttlMs`,
 * only while `owner` still holds the row and it is still unrendered,
 * otherwise the row is not this worker's to send (`lost`). (One transaction
 * per row took a 2,500-notification flush from 2.7 s to 5 s.) A row that
 * cannot be rendered is given back: for a configuration at fault (a
 * template that does not compile, no secret) it stays queued, its attempt
 * not counted, tried again after RENDER_RETRY_MS (as an inbound mail waits
 * for a configuration fix); for anything else (its source message is gone,
 * its stored input unreadable) it is dead, with the reason. A database
 * error costs only the rows it touches: a failed read puts the claim's rows
 * back (`retry`), a failed transaction is written again row by row and a
 * row whose write fails is put back. The renders run outside any
 * transaction: on SQLite a render (attachments of megabytes) must not hold
 * the one write lock. Returns the outcomes in the order of `items`.
 */
export async function renderClaimedRows(
  knex: Knex,
  owner: string,
  items: readonly Claimed[],
  render: Render,
  ttlMs: number,
  /** Runs in the transaction that made these rows dead (the staff notice of a relay that could not be composed, as of one refused). */
  onDead?: (trx: Knex, deadIds: number[]) => Promise<void>,
): Promise<Rendered[]> {
  let sources: Map<number, StoredMessage>;
  try {
    sources = await storedMessages(knex, items.flatMap((i) => (i.sourceMessageId === null ? [] : [i.sourceMessageId])));
  } catch (err) {
    const error = renderRetryText(err);
    await putBack(knex, owner, items.map((i) => i.id), error);
    return items.map(() => ({ state: 'retry', error }));
  }
  const made: Array<{ raw: Buffer } | { error: string; waiting: boolean }> = [];
  for (const item of items) {
    if (made.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      const source = item.sourceMessageId === null ? null : (sources.get(item.sourceMessageId) ?? null);
      made.push({ raw: await renderRow(render, item, source) });
    } catch (err) {
      const waiting = isDeskbridgeError(err) && err.code === 'ECONFIG';
      made.push({ error: `${waiting ? 'waiting for a configuration fix' : 'could not be rendered'}: ${errorText(err)}`, waiting });
    }
  }
  const write = async (trx: Knex, i: number): Promise<Rendered> => {
    const m = made[i]!;
    const mine = () => trx('outbox').where({ id: items[i]!.id, claimed_by: owner, state: 'queued' }).whereNotNull('render_input');
    if ('raw' in m) {
      const direct = await onSqlite(trx, (db) => db.run(STORE_RENDERED, [m.raw, ttlMs, items[i]!.id, owner]));
      const stored = direct === ON_POSTGRES ? await mine().update({ raw: m.raw, render_input: null, claimed_until: dbIn(trx, ttlMs) }) : direct;
      return stored > 0 ? { state: 'rendered', raw: m.raw } : { state: 'lost' };
    }
    const given = { claimed_by: null, claimed_until: null, last_error: m.error };
    const n = await mine().update(m.waiting ? { ...given, next_attempt_at: dbIn(trx, RENDER_RETRY_MS) } : { ...given, state: 'dead' });
    return n > 0 ? { state: m.waiting ? 'waiting' : 'dead', error: m.error } : { state: 'lost' };
  };
  /** The rows this transaction made dead, told (onDead) in it. */
  const tell = async (trx: Knex, written: ReadonlyArray<readonly [Claimed, Rendered]>) => {
    const dead = written.filter(([, outcome]) => outcome.state === 'dead').map(([item]) => item.id);
    if (onDead && dead.length > 0) await onDead(trx, dead);
  };
  try {
    return await knex.transaction(async (trx) => {
      const outcomes: Rendered[] = [];
      for (let i = 0; i < items.length; i++) outcomes.push(await write(trx, i));
      await tell(trx, items.map((item, i) => [item, outcomes[i]!] as const));
      return outcomes;
    });
  } catch {
    // one row the database refuses (its bytes too large for it, say) must not hold back the others: row by row
    const outcomes: Rendered[] = [];
    for (let i = 0; i < items.length; i++) {
      try {
        outcomes.push(
          await knex.transaction(async (trx) => {
            const outcome = await write(trx, i);
            await tell(trx, [[items[i]!, outcome]]);
            return outcome;
          }),
        );
      } catch (err) {
        const error = renderRetryText(err);
        await putBack(knex, owner, [items[i]!.id], error);
        outcomes.push({ state: 'retry', error });
      }
    }
    return outcomes;
  }
}

/**
 * A row's bytes, for `outbox show --raw`: the stored ones, or for a row
 * still unrendered a preview rendered now with this process's templates,
 * address and secret (`preview`: the bytes sent are rendered, and fixed,
 * by the worker that first sends it). Writes nothing.
 */
export async function outboxBytes(knex: Knex, id: number, render: Render): Promise<{ raw: Buffer; preview: boolean } | undefined> {
  const r: Record<string, unknown> | undefined = await knex('outbox').select(CLAIMED_COLUMNS).where({ id }).first();
  if (!r) return undefined;
  const item = claimedRow(r);
  if (item.renderInput === null) return { raw: item.raw, preview: false };
  const source = item.sourceMessageId === null ? null : ((await storedMessages(knex, [item.sourceMessageId])).get(item.sourceMessageId) ?? null);
  return { raw: await renderRow(render, item, source), preview: true };
}

/**
 * What one send came to. `sent` may name recipients the server refused for
 * good (5xx) while it took the mail for the rest: reported in last_error.
 * `queued` may narrow the row to the recipients to try again (4xx), so those
 * already served are not sent the mail twice.
 */
export type Attempt =
  | { state: 'sent'; note?: string }
  | { state: 'queued'; nextAttemptAt: Date; error: string; to?: string[] }
  | { state: 'dead'; error: string };

/**
 * Claims up to `limit` due rows for `owner` until `ttlMs` from now (database
 * clock): free rows, and rows whose claim lapsed (their worker died: it
 * stopped extending them). On PostgreSQL concurrent workers skip each
 * other's rows (SKIP LOCKED); on SQLite the transaction holds the one write
 * lock from its BEGIN, so the select-then-update is as safe. A row queued
 * unrendered comes with no bytes: the worker renders it (renderClaimedRows)
 * before it sends it.
 */
export async function claimDue(knex: Knex, dialect: Dialect, claim: { owner: string; limit: number; ttlMs: number }): Promise<Claimed[]> {
  return knex.transaction(async (trx) => {
    const direct = await onSqlite(trx, (db) => {
      const ids = db.all<{ id: number }>(DUE_IDS, [claim.limit]).map((r) => r.id);
      if (ids.length === 0) return [];
      db.run(`update outbox set claimed_by = ?, claimed_until = ${SQLITE_CLOCK.plusMs} where id in (${placeholders(ids.length)})`, [claim.owner, claim.ttlMs, ...ids]);
      return db.all<Record<string, unknown>>(`select ${CLAIMED_COLUMNS.join(', ')} from outbox where id in (${placeholders(ids.length)}) order by id`, ids);
    });
    if (direct !== ON_POSTGRES) return direct.map(claimedRow);
    const q = trx('outbox')
      .select('id')
      .where('state', 'queued')
      .where('next_attempt_at', '<=', dbNow(trx))
      .where((w) => w.whereNull('claimed_until').orWhere('claimed_until', '<', dbNow(trx)))
      .orderBy('next_attempt_at')
      .limit(claim.limit);
    if (dialect.skipLocked) q.forUpdate().skipLocked();
    const ids = (await q).map((r: { id: number }) => Number(r.id));
    if (ids.length === 0) return [];
    await trx('outbox').whereIn('id', ids).update({ claimed_by: claim.owner, claimed_until: dbIn(trx, claim.ttlMs) });
    const rows: Array<Record<string, unknown>> = await trx('outbox').select(CLAIMED_COLUMNS).whereIn('id', ids).orderBy('id');
    return rows.map(claimedRow);
  });
}

/** The heartbeat of a worker's claims: its rows stay its own for `ttlMs` more. */
export async function extendClaims(knex: Knex, owner: string, ttlMs: number): Promise<number> {
  return knex('outbox').where({ claimed_by: owner, state: 'queued' }).update({ claimed_until: dbIn(knex, ttlMs) });
}

/** Gives back the rows `owner` claimed and has not settled (shutdown): another worker may take them at once. */
export async function releaseClaims(knex: Knex, owner: string): Promise<number> {
  return knex('outbox').where({ claimed_by: owner, state: 'queued' }).update({ claimed_by: null, claimed_until: null });
}

const SENT_PER_STATEMENT = 500; // ids of plain sends marked by one UPDATE

/** Marks rows `owner` still holds and still queued sent, with no note; returns the ids written. */
async function markSent(knex: Knex, owner: string, ids: readonly number[]): Promise<number[]> {
  const direct = await onSqlite(knex, (db) =>
    db.all<{ id: number }>(
      `update outbox set attempts = attempts + 1, claimed_by = null, claimed_until = null, state = 'sent', sent_at = ?, last_error = null where id in (${placeholders(ids.length)}) and claimed_by = ? and state = 'queued' returning id`,
      [nowIso(), ...ids, owner],
    ),
  );
  if (direct !== ON_POSTGRES) return direct.map((r) => Number(r.id));
  const rows: Array<{ id: number | string }> = await knex('outbox')
    .whereIn('id', ids)
    .where({ claimed_by: owner, state: 'queued' })
    .update({ attempts: knex.raw('attempts + 1'), claimed_by: null, claimed_until: null, state: 'sent', sent_at: nowIso(), last_error: null })
    .returning('id');
  return rows.map((r) => Number(r.id));
}

/**
 * Writes send results, only for rows `owner` still holds and still queued (a
 * worker whose claim lapsed must not overwrite what the new holder did, and
 * a bounce may have won the race). Returns the ids written. The usual case,
 * sends that all went through (one result at a time, as each server answers),
 * is one UPDATE, atomic by itself: no transaction around it. Profiled on the
 * relay bench, a transaction per result (knex's transaction client, BEGIN,
 * COMMIT) was the largest cost of the send phase after the socket writes.
 */
export async function recordAttempts(
  knex: Knex,
  owner: string,
  results: ReadonlyArray<readonly [number, Attempt]>,
  /** Runs in the same transaction with the ids this call made dead (the staff notice of a dead relay). */
  onDead?: (trx: Knex, deadIds: number[]) => Promise<void>,
): Promise<number[]> {
  const plain = results.filter(([, a]) => a.state === 'sent' && !a.note).map(([id]) => id);
  if (plain.length === results.length && plain.length <= SENT_PER_STATEMENT) return plain.length === 0 ? [] : markSent(knex, owner, plain);
  return knex.transaction(async (trx) => {
    const base = { attempts: trx.raw('attempts + 1'), claimed_by: null, claimed_until: null };
    const mine = (q: Knex.QueryBuilder) => q.where({ claimed_by: owner, state: 'queued' });
    const written: number[] = [];
    const madeDead: number[] = [];
    for (let i = 0; i < plain.length; i += SENT_PER_STATEMENT) written.push(...(await markSent(trx, owner, plain.slice(i, i + SENT_PER_STATEMENT))));
    for (const [id, a] of results) {
      if (a.state === 'sent' && !a.note) continue;
      const fields =
        a.state === 'sent'
          ? { state: 'sent', sent_at: nowIso(), last_error: a.note }
          : a.state === 'queued'
            ? { next_attempt_at: a.nextAttemptAt.toISOString(), last_error: a.error, ...(a.to && { to_addresses: JSON.stringify(a.to) }) }
            : { state: 'dead', last_error: a.error };
      if ((await mine(trx('outbox').where({ id })).update({ ...base, ...fields })) > 0) {
        written.push(id);
        if (a.state === 'dead') madeDead.push(id);
      }
    }
    if (onDead && madeDead.length) await onDead(trx, madeDead);
    return written;
  });
}

/** Rows no worker holds now: never claimed, or their claim lapsed (database clock). */
const unclaimed = (knex: Knex) => (w: Knex.QueryBuilder) => w.whereNull('claimed_until').orWhere('claimed_until', '<', dbNow(knex));

/** Of these rows, the ones a worker holds now (its claim not lapsed, database clock): being sent this moment. */
export async function claimedNow(knex: Knex, ids: number[]): Promise<Array<{ id: number; owner: string }>> {
  const rows: Array<{ id: number | string; claimed_by: string }> = await knex('outbox').select('id', 'claimed_by').whereIn('id', ids).whereNotNull('claimed_until').where('claimed_until', '>=', dbNow(knex)).orderBy('id');
  return rows.map((r) => ({ id: Number(r.id), owner: String(r.claimed_by) }));
}

/**
 * Puts rows back in the queue, due now; returns how many. A row a worker
 * holds now is left alone (its send may be at the server this moment: taken
 * from under it, the worker's result was dropped and the row sent again).
 */
export async function requeue(trx: Knex, ids: number[], deadlineAt: Date): Promise<number> {
  // never a row sent meanwhile (on PostgreSQL a worker may claim, send and record it between the caller's read and this)
  return trx('outbox').whereIn('id', ids).whereNot('state', 'sent').where(unclaimed(trx)).update({ state: 'queued', next_attempt_at: nowIso(), deadline_at: deadlineAt.toISOString(), claimed_by: null, claimed_until: null });
}

/** Marks rows discarded (each only while still in the state it was read in, and held by no worker); returns how many. */
export async function discardRows<R extends Pick<OutboxItem, 'id' | 'state'>>(trx: Knex, rows: readonly R[], note: (row: R) => string): Promise<number> {
  let n = 0;
  for (const r of rows) n += await trx('outbox').where({ id: r.id, state: r.state }).where(unclaimed(trx)).update({ state: 'discarded', last_error: note(r).slice(0, 2000), claimed_by: null, claimed_until: null });
  return n;
}

export async function countRecentRelays(knex: Knex, ticketId: number, since: Date): Promise<number> {
  const direct = await onSqlite(knex, (db) => db.get<{ n: number }>("select count(*) as n from outbox where ticket_id = ? and kind in ('relay', 'close') and created_at >= ?", [ticketId, since.toISOString()]));
  if (direct !== ON_POSTGRES) return Number(direct?.n ?? 0);
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
