// Repository of the correspondence table (CLI noun `map`).
import type { Knex } from 'knex';
import { nowIso, toBool, toIso } from './values';

export interface Correspondence {
  id: number;
  systemId: number;
  system: string;
  remoteId: string;
  name: string;
  departmentId: number;
  department: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CorrespondenceFields {
  systemId: number;
  remoteId: string;
  name: string;
  departmentId: number;
  enabled: boolean;
}

/** The name key routing compares: case- and whitespace-insensitive. */
export const nameKey = (name: string): string => name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

const select = (knex: Knex) =>
  knex('correspondences as c')
    .join('systems as s', 's.id', 'c.system_id')
    .join('departments as d', 'd.id', 'c.department_id')
    .select('c.*', 's.slug as system_slug', 'd.slug as department_slug');

const fromRow = (r: Record<string, unknown>): Correspondence => ({
  id: Number(r.id),
  systemId: Number(r.system_id),
  system: String(r.system_slug),
  remoteId: String(r.remote_id),
  name: String(r.remote_name),
  departmentId: Number(r.department_id),
  department: String(r.department_slug),
  enabled: toBool(r.enabled),
  createdAt: toIso(r.created_at),
  updatedAt: toIso(r.updated_at),
});

export async function listCorrespondences(
  knex: Knex,
  filter: { systemId?: number; departmentId?: number } = {},
): Promise<Correspondence[]> {
  const q = select(knex).orderBy('c.id');
  if (filter.systemId !== undefined) q.where('c.system_id', filter.systemId);
  if (filter.departmentId !== undefined) q.where('c.department_id', filter.departmentId);
  return (await q).map(fromRow);
}

export async function findCorrespondences(knex: Knex, ids: number[]): Promise<Correspondence[]> {
  return (await select(knex).whereIn('c.id', ids).orderBy('c.id')).map(fromRow);
}

export async function findByRemoteId(knex: Knex, systemId: number, remoteId: string): Promise<Correspondence | undefined> {
  const row = await select(knex).where({ 'c.system_id': systemId, 'c.remote_id': remoteId }).first();
  return row ? fromRow(row) : undefined;
}

export async function findByName(knex: Knex, systemId: number, name: string): Promise<Correspondence[]> {
  return (await select(knex).where({ 'c.system_id': systemId, 'c.remote_name_key': nameKey(name) }).orderBy('c.id')).map(fromRow);
}

const toRow = (f: Partial<CorrespondenceFields>) => ({
  ...(f.systemId !== undefined && { system_id: f.systemId }),
  ...(f.remoteId !== undefined && { remote_id: f.remoteId }),
  ...(f.name !== undefined && { remote_name: f.name, remote_name_key: nameKey(f.name) }),
  ...(f.departmentId !== undefined && { department_id: f.departmentId }),
  ...(f.enabled !== undefined && { enabled: f.enabled }),
});

export async function insertCorrespondence(knex: Knex, fields: CorrespondenceFields): Promise<number> {
  const now = nowIso();
  const [row] = await knex('correspondences').insert({ ...toRow(fields), created_at: now, updated_at: now }).returning('id');
  return Number((row as { id: number }).id);
}

export async function updateCorrespondence(knex: Knex, id: number, fields: Partial<CorrespondenceFields>): Promise<void> {
  await knex('correspondences').where({ id }).update({ ...toRow(fields), updated_at: nowIso() });
}

export async function deleteCorrespondences(knex: Knex, ids: number[]): Promise<void> {
  await knex('correspondences').whereIn('id', ids).delete();
}
