// What a mail or a ticket caused in the outbox, read for `inbox show` and
// `ticket show`: the notifications and relays queued from the messages a
// ledger row created, with their delivery state. Read-only; the outbox
// repository (outbox.ts) owns every write.
import type { Knex } from 'knex';
import { parseJsonArray, toIso } from './values';

export interface OutboxEffect {
  id: number;
  kind: string;
  state: string;
  to: string[];
  subject: string;
  attempts: number;
  lastError: string | null;
  sourceMessageId: number | null;
  createdAt: string;
  sentAt: string | null;
}

const COLUMNS = ['o.id', 'o.kind', 'o.state', 'o.to_addresses', 'o.subject', 'o.attempts', 'o.last_error', 'o.source_message_id', 'o.created_at', 'o.sent_at'];

const fromRow = (r: Record<string, unknown>): OutboxEffect => ({
  id: Number(r.id),
  kind: String(r.kind),
  state: String(r.state),
  to: parseJsonArray(r.to_addresses),
  subject: String(r.subject),
  attempts: Number(r.attempts),
  lastError: (r.last_error as string) ?? null,
  sourceMessageId: r.source_message_id === null || r.source_message_id === undefined ? null : Number(r.source_message_id),
  createdAt: toIso(r.created_at),
  sentAt: toIso(r.sent_at, true),
});

/** Outbox items queued from the messages this ledger row created (a notification, a relay). */
export async function outboxForInbound(knex: Knex, inboundId: number): Promise<OutboxEffect[]> {
  const rows = await knex('outbox as o').join('messages as m', 'm.id', 'o.source_message_id').where('m.inbound_id', inboundId).select(COLUMNS).orderBy('o.id');
  return rows.map(fromRow);
}

/** Every outbox item of a ticket, oldest first: `ticket show` marks each relay with its state. */
export async function outboxForTicket(knex: Knex, ticketId: number): Promise<OutboxEffect[]> {
  const rows = await knex('outbox as o').where('o.ticket_id', ticketId).select(COLUMNS).orderBy('o.id');
  return rows.map(fromRow);
}
