// The audit log: one row per change to systems, departments and
// correspondences, written in the same transaction as the change.
import type { Knex } from 'knex';
import { nowIso, toIso } from './values';

export type AuditEntity = 'system' | 'department' | 'map';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  entity: AuditEntity;
  key: string;
  action: string;
  before: unknown;
  after: unknown;
}

export async function recordAudit(
  trx: Knex,
  entry: { actor: string; entity: AuditEntity; key: string; action: string; before?: unknown; after?: unknown },
): Promise<void> {
  await trx('audit_log').insert({
    at: nowIso(),
    actor: entry.actor,
    entity: entry.entity,
    entity_key: entry.key,
    action: entry.action,
    before: entry.before === undefined ? null : JSON.stringify(entry.before),
    after: entry.after === undefined ? null : JSON.stringify(entry.after),
  });
}

export async function listAudit(knex: Knex, filter: { entity?: AuditEntity; limit?: number } = {}): Promise<AuditEntry[]> {
  const q = knex('audit_log').orderBy('id', 'asc');
  if (filter.entity) q.where('entity', filter.entity);
  if (filter.limit) q.limit(filter.limit);
  const rows: Record<string, unknown>[] = await q;
  return rows.map((r) => ({
    id: Number(r.id),
    at: toIso(r.at),
    actor: String(r.actor),
    entity: r.entity as AuditEntity,
    key: String(r.entity_key),
    action: String(r.action),
    before: r.before == null ? null : JSON.parse(String(r.before)),
    after: r.after == null ? null : JSON.parse(String(r.after)),
  }));
}
