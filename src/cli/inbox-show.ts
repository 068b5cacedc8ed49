// `deskbridge inbox show ID`: one ledger row with everything an admin needs to
// decide what to do with it — its outcome and reason, the outcomes it had
// before (replays, discards), its authentication results (`auth`), the
// ticket it belongs to and the outbox items it caused.
import type { Knex } from 'knex';
import { listHistory } from '../store/inbound-history';
import { getInbound, type InboundRow } from '../store/inbound';
import { outboxForInbound } from '../store/mail-effects';
import { getTicket } from '../store/tickets';
import { DeskbridgeError } from '../errors';
import { isReplayable } from '../store/replayable';

export async function requireInbound(knex: Knex, id: number): Promise<InboundRow> {
  const row = await getInbound(knex, id);
  if (!row) throw new DeskbridgeError('ENOTFOUND', `unknown inbound mail #${id} (see \`deskbridge inbox list\`)`);
  return row;
}

/** The ledger row's own fields at the top level, then what hangs off it. */
export async function inboundDetails<V extends { state: string | null; reason: string | null; processedAt: string | null }>(knex: Knex, row: InboundRow, view: (r: InboundRow) => V) {
  const ticket = row.ticketId ? await getTicket(knex, row.ticketId, false) : undefined;
  return {
    ...view(row),
    replayable: isReplayable(row.state),
    history: await listHistory(knex, row.id),
    ticket: ticket ? { id: ticket.id, system: ticket.system, remoteTicketId: ticket.remoteTicketId, department: ticket.department, status: ticket.status, subject: ticket.subject } : null,
    outbox: await outboxForInbound(knex, row.id),
  };
}

type Details = Awaited<ReturnType<typeof inboundDetails<{ state: string | null; reason: string | null; processedAt: string | null }>>>;

/** The plain-text form: the row's fields, then one line per earlier outcome and per outbox item. */
export function formatDetails(d: Details): string {
  const { history, outbox, ticket, ...fields } = d;
  // objects (the authentication results) as compact JSON, never "[object Object]"
  const lines = Object.entries(fields).map(([k, v]) => [k, v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)] as const);
  if (ticket) lines.push(['ticket', `#${ticket.id} ${ticket.system} ${ticket.remoteTicketId} → ${ticket.department}, ${ticket.status}: ${ticket.subject}`]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 2;
  const out = lines.map(([k, v]) => `${`${k}:`.padEnd(width)}${v.replace(/\s+/g, ' ')}`);
  out.push('history:');
  for (const h of history) out.push(`  ${h.decidedAt ?? '-'}  ${h.state ?? 'unprocessed'}  ${h.reason ?? ''}  (replaced ${h.replacedAt} by ${h.replacedBy})`);
  out.push(`  ${d.processedAt ?? '-'}  ${d.state ?? 'unprocessed'}  ${d.reason ?? ''}  (now)`);
  out.push(outbox.length ? 'outbox:' : 'outbox: nothing queued');
  for (const o of outbox) out.push(`  #${o.id} ${o.kind} ${o.state} to ${o.to.join(', ')}${o.lastError ? ` (${o.lastError})` : ''}`);
  return `${out.join('\n')}\n`;
}
