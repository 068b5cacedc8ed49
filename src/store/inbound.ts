// Repository of the inbound ledger. A mail's row is written with its outcome
// in the same transaction as the effects that outcome names (ticket, message,
// outbox), so a mail is never processed without a trace, and never recorded
// twice as new. Parked and failed rows are updated when they are processed again.
import type { Knex } from 'knex';
import { DeskbridgeError } from '../errors';
import { COLUMN_LIMITS as MAX, fitText } from './column-limits';
import type { SenderAuth } from '../auth/sender-auth';
import { insertRow, updateById } from './direct';
import { dbText, nowIso, toIso, toNumberOrNull as num } from './values';

export const LEDGER_STATES = [
  'ticket_created',
  'ticket_updated',
  'ticket_closed',
  'staff_reply',
  'parked_unmapped',
  'parked_disabled',
  'parked_unparsed',
  'parked_failed',
  'rejected_sender',
  'rejected_staff',
  'auto_reply',
  'bounce',
  'own_mail',
  'duplicate',
  'too_large',
  'failed',
  'discarded',
  'parked_unauthenticated',
] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];
export const PARKED_STATES: readonly LedgerState[] = ['parked_unmapped', 'parked_disabled', 'parked_unparsed', 'parked_failed', 'parked_unauthenticated'];

export interface InboundSource {
  source: 'file' | 'stdin' | 'imap';
  sourceRef?: string | null;
  mailbox?: string | null;
  uidvalidity?: number | null;
  uid?: number | null;
}

export interface InboundRow {
  id: number;
  source: string;
  sourceRef: string | null;
  mailbox: string | null;
  uidvalidity: number | null;
  uid: number | null;
  messageId: string | null;
  from: string | null;
  subject: string | null;
  contentHash: string;
  size: number;
  state: LedgerState | null;
  reason: string | null;
  systemId: number | null;
  system: string | null;
  ticketId: number | null;
  attempts: number;
  duplicateOf: number | null;
  receivedAt: string;
  processedAt: string | null;
  /** Sender authentication results (src/auth/), null for a row from before issue 11 or a mail not authenticated (too large, unparsed). */
  auth: SenderAuth | null;
}

const fromRow = (r: Record<string, unknown>): InboundRow => ({
  id: Number(r.id),
  source: String(r.source),
  sourceRef: (r.source_ref as string) ?? null,
  mailbox: (r.mailbox as string) ?? null,
  uidvalidity: num(r.uidvalidity),
  uid: num(r.uid),
  messageId: (r.message_id as string) ?? null,
  from: (r.from_address as string) ?? null,
  subject: (r.subject as string) ?? null,
  contentHash: String(r.content_hash),
  size: Number(r.size),
  state: (r.state as LedgerState) ?? null,
  reason: (r.reason as string) ?? null,
  systemId: num(r.system_id),
  system: (r.system_slug as string) ?? null,
  ticketId: num(r.ticket_id),
  attempts: Number(r.attempts),
  duplicateOf: num(r.duplicate_of),
  receivedAt: toIso(r.received_at),
  processedAt: toIso(r.processed_at, true),
  auth: r.auth == null ? null : (JSON.parse(String(r.auth)) as SenderAuth),
});

const COLUMNS = ['i.id', 'i.source', 'i.source_ref', 'i.mailbox', 'i.uidvalidity', 'i.uid', 'i.message_id', 'i.from_address', 'i.subject', 'i.content_hash', 'i.size', 'i.state', 'i.reason', 'i.system_id', 'i.ticket_id', 'i.attempts', 'i.duplicate_of', 'i.received_at', 'i.processed_at', 'i.auth', 's.slug as system_slug'];

const select = (knex: Knex) => knex('inbound as i').leftJoin('systems as s', 's.id', 'i.system_id').select(COLUMNS);

export interface NewInbound extends InboundSource {
  contentHash: string;
  size: number;
  raw: Buffer | null;
  messageId: string | null;
  from: string | null;
  subject: string | null;
  auth?: SenderAuth | null;
}

export interface InboundOutcome {
  state: LedgerState;
  reason?: string | null;
  systemId?: number | null;
  ticketId?: number | null;
  attempts?: number;
  /** The authentication result this outcome was judged on (a replay may have checked again). */
  auth?: SenderAuth | null;
}

/**
 * Writes a mail's ledger row with its outcome, in one statement: the pipeline
 * decides first and writes after, inside the batch transaction, so the row
 * and the effects it names commit together. A duplicate keeps its source text
 * but neither the raw bytes nor the UID: those belong to the original.
 */
export async function insertInbound(knex: Knex, mail: NewInbound, outcome: InboundOutcome & { duplicateOf?: number | null }): Promise<number> {
  const duplicateOf = outcome.duplicateOf ?? null;
  const now = nowIso();
  const id = await insertRow(
    knex,
    'inbound',
    {
      source: mail.source,
      source_ref: mail.sourceRef ?? null,
      mailbox: duplicateOf ? null : (mail.mailbox ?? null),
      uidvalidity: duplicateOf ? null : (mail.uidvalidity ?? null),
      uid: duplicateOf ? null : (mail.uid ?? null),
      message_id: fitText(mail.messageId, MAX.messageId),
      from_address: fitText(mail.from, MAX.address),
      subject: dbText(mail.subject),
      content_hash: mail.contentHash,
      size: mail.size,
      raw: duplicateOf ? null : mail.raw,
      duplicate_of: duplicateOf,
      state: outcome.state,
      reason: dbText(outcome.reason),
      system_id: outcome.systemId ?? null,
      ticket_id: outcome.ticketId ?? null,
      attempts: outcome.attempts ?? 0,
      auth: (outcome.auth ?? mail.auth) ? JSON.stringify(outcome.auth ?? mail.auth) : null,
      received_at: now,
      processed_at: now,
    },
    { ignoreConflicts: true }, // a unique index names an original written by another process since this batch looked (inbound-dedupe.ts)
  );
  if (id === null) throw new DeskbridgeError('EDUPLICATE', `the same mail was recorded by another writer first (${mail.messageId ?? mail.contentHash})`);
  return id;
}

export async function setOutcome(knex: Knex, id: number, outcome: InboundOutcome): Promise<void> {
  await updateById(knex, 'inbound', id, {
    state: outcome.state,
    reason: dbText(outcome.reason),
    system_id: outcome.systemId ?? null,
    ticket_id: outcome.ticketId ?? null,
    processed_at: nowIso(),
    ...(outcome.attempts !== undefined && { attempts: outcome.attempts }),
    ...(outcome.auth !== undefined && { auth: outcome.auth ? JSON.stringify(outcome.auth) : null }),
  });
}

export async function getInbound(knex: Knex, id: number): Promise<InboundRow | undefined> {
  const row = await select(knex).where('i.id', id).first();
  return row ? fromRow(row) : undefined;
}

export async function getRaw(knex: Knex, id: number): Promise<Buffer | null> {
  const row = await knex('inbound').select('raw').where({ id }).first();
  return row?.raw ? Buffer.from(row.raw as Uint8Array) : null;
}

export async function listInbound(knex: Knex, filter: { states?: readonly string[]; ids?: number[]; limit?: number } = {}): Promise<InboundRow[]> {
  const q = select(knex).orderBy('i.id');
  if (filter.states) q.whereIn('i.state', filter.states as string[]);
  if (filter.ids) q.whereIn('i.id', filter.ids);
  if (filter.limit) q.limit(filter.limit);
  return (await q).map(fromRow);
}

export async function countByState(knex: Knex): Promise<Record<string, number>> {
  const rows: Array<{ state: string | null; n: number | string }> = await knex('inbound').select('state').count({ n: '*' }).groupBy('state');
  return Object.fromEntries(rows.map((r) => [r.state ?? 'unprocessed', Number(r.n)]));
}
