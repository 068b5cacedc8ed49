// Repository of the systems table: rows in, typed objects out.
import type { Knex } from 'knex';
import type { SystemAuthPolicy } from '../auth/policy';
import { nowIso, parseJsonArray, toBool, toIso } from './values';

export interface System {
  id: number;
  slug: string;
  name: string;
  from: string[];
  relayTo: string;
  profile: string;
  profileJson: string | null;
  enabled: boolean;
  /** Sender authentication its notifications need; null: not chosen yet (a system from before issue 11), which acts as `none`. */
  auth: SystemAuthPolicy | null;
  createdAt: string;
  updatedAt: string;
}

export type SystemFields = Pick<System, 'name' | 'from' | 'relayTo' | 'profile' | 'profileJson' | 'enabled' | 'auth'>;

const fromRow = (r: Record<string, unknown>): System => ({
  id: Number(r.id),
  slug: String(r.slug),
  name: String(r.name),
  from: parseJsonArray(r.from_addresses),
  relayTo: String(r.relay_to),
  profile: String(r.profile),
  profileJson: r.profile_json == null ? null : String(r.profile_json),
  enabled: toBool(r.enabled),
  auth: r.auth_policy == null ? null : (String(r.auth_policy) as SystemAuthPolicy),
  createdAt: toIso(r.created_at),
  updatedAt: toIso(r.updated_at),
});

const toRow = (f: Partial<SystemFields>) => ({
  ...(f.name !== undefined && { name: f.name }),
  ...(f.from !== undefined && { from_addresses: JSON.stringify(f.from) }),
  ...(f.relayTo !== undefined && { relay_to: f.relayTo }),
  ...(f.profile !== undefined && { profile: f.profile }),
  ...(f.profileJson !== undefined && { profile_json: f.profileJson }),
  ...(f.enabled !== undefined && { enabled: f.enabled }),
  ...(f.auth !== undefined && { auth_policy: f.auth }),
});

export async function listSystems(knex: Knex): Promise<System[]> {
  return (await knex('systems').orderBy('slug')).map(fromRow);
}

export async function findSystem(knex: Knex, slug: string): Promise<System | undefined> {
  const row = await knex('systems').where({ slug }).first();
  return row ? fromRow(row) : undefined;
}

export async function findSystemById(knex: Knex, id: number): Promise<System | undefined> {
  const row = await knex('systems').where({ id }).first();
  return row ? fromRow(row) : undefined;
}

export async function insertSystem(knex: Knex, slug: string, fields: SystemFields): Promise<number> {
  const now = nowIso();
  const [row] = await knex('systems').insert({ slug, ...toRow(fields), created_at: now, updated_at: now }).returning('id');
  return Number((row as { id: number }).id);
}

export async function updateSystem(knex: Knex, id: number, fields: Partial<SystemFields>): Promise<void> {
  await knex('systems').where({ id }).update({ ...toRow(fields), updated_at: nowIso() });
}

export async function deleteSystem(knex: Knex, id: number): Promise<void> {
  await knex('systems').where({ id }).delete();
}
