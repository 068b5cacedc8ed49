// Repository of inbound_history: the outcomes a ledger row had before it was
// replayed or discarded. Written in the same transaction as the new outcome,
// so the story never has a gap; read by `inbox show`.
import type { Knex } from 'knex';
import type { InboundRow } from './inbound';
import { nowIso, toIso, toNumberOrNull as num } from './values';

export interface HistoryEntry {
  state: string | null;
  reason: string | null;
  systemId: number | null;
  ticketId: number | null;
  attempts: number;
  decidedAt: string | null;
  replacedAt: string;
  replacedBy: string;
}

/** Keeps the row's current outcome before it is replaced; `by` says who and how ("root: inbox replay"). */
export async function keepOutcome(knex: Knex, row: InboundRow, by: string): Promise<void> {
  await knex('inbound_history').insert({
    inbound_id: row.id,
    state: row.state,
    reason: row.reason,
    system_id: row.systemId,
    ticket_id: row.ticketId,
    attempts: row.attempts,
    decided_at: row.processedAt,
    replaced_at: nowIso(),
    replaced_by: by.slice(0, 200),
  });
}

export async function listHistory(knex: Knex, inboundId: number): Promise<HistoryEntry[]> {
  const rows: Array<Record<string, unknown>> = await knex('inbound_history').where({ inbound_id: inboundId }).orderBy('id');
  return rows.map((r) => ({
    state: (r.state as string) ?? null,
    reason: (r.reason as string) ?? null,
    systemId: num(r.system_id),
    ticketId: num(r.ticket_id),
    attempts: Number(r.attempts),
    decidedAt: toIso(r.decided_at, true),
    replacedAt: toIso(r.replaced_at),
    replacedBy: String(r.replaced_by),
  }));
}
