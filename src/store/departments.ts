// Repository of departments and their staff.
import type { Knex } from 'knex';
import type { StaffAuthPolicy } from '../auth/policy';
import { nowIso, toIso } from './values';

export interface Department {
  id: number;
  slug: string;
  name: string;
  staff: string[];
  /** Display names of the staff who have one, by address. */
  staffNames: Record<string, string>;
  /** How staff replies are authenticated; null: not chosen yet (a department from before issue 11), which acts as `token`. */
  staffAuth: StaffAuthPolicy | null;
  createdAt: string;
  updatedAt: string;
}

async function staffOf(knex: Knex, ids: number[]): Promise<Map<number, { staff: string[]; names: Record<string, string> }>> {
  const map = new Map(ids.map((id) => [id, { staff: [] as string[], names: {} as Record<string, string> }]));
  if (ids.length === 0) return map;
  const rows: Array<{ department_id: number; address: string; name: string | null }> = await knex('department_staff')
    .whereIn('department_id', ids)
    .orderBy(['department_id', 'position']);
  for (const r of rows) {
    const entry = map.get(Number(r.department_id));
    entry?.staff.push(r.address);
    if (entry && r.name) entry.names[r.address] = r.name;
  }
  return map;
}

async function withStaff(knex: Knex, rows: Record<string, unknown>[]): Promise<Department[]> {
  const staff = await staffOf(knex, rows.map((r) => Number(r.id)));
  return rows.map((r) => ({
    id: Number(r.id),
    slug: String(r.slug),
    name: String(r.name),
    staff: staff.get(Number(r.id))?.staff ?? [],
    staffNames: staff.get(Number(r.id))?.names ?? {},
    staffAuth: r.staff_auth == null ? null : (String(r.staff_auth) as StaffAuthPolicy),
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  }));
}

export async function listDepartments(knex: Knex): Promise<Department[]> {
  return withStaff(knex, await knex('departments').orderBy('slug'));
}

export async function findDepartment(knex: Knex, slug: string): Promise<Department | undefined> {
  const row = await knex('departments').where({ slug }).first();
  return row ? (await withStaff(knex, [row]))[0] : undefined;
}

async function replaceStaff(knex: Knex, id: number, staff: string[], names: Record<string, string>): Promise<void> {
  await knex('department_staff').where({ department_id: id }).delete();
  if (staff.length > 0) {
    await knex('department_staff').insert(staff.map((address, position) => ({ department_id: id, address, position, name: names[address] ?? null })));
  }
}

export async function insertDepartment(knex: Knex, slug: string, name: string, staff: string[], staffNames: Record<string, string> = {}, staffAuth: StaffAuthPolicy | null = null): Promise<number> {
  const now = nowIso();
  const [row] = await knex('departments').insert({ slug, name, staff_auth: staffAuth, created_at: now, updated_at: now }).returning('id');
  const id = Number((row as { id: number }).id);
  await replaceStaff(knex, id, staff, staffNames);
  return id;
}

export async function updateDepartment(knex: Knex, id: number, fields: { name?: string; staff?: string[]; staffNames?: Record<string, string>; staffAuth?: StaffAuthPolicy }): Promise<void> {
  await knex('departments')
    .where({ id })
    .update({ ...(fields.name !== undefined && { name: fields.name }), ...(fields.staffAuth !== undefined && { staff_auth: fields.staffAuth }), updated_at: nowIso() });
  if (fields.staff) await replaceStaff(knex, id, fields.staff, fields.staffNames ?? {});
}

export async function deleteDepartment(knex: Knex, id: number): Promise<void> {
  await knex('departments').where({ id }).delete();
}

/** Whether `address` is on the staff of any department (who may be told that their reply was not relayed). */
export async function isStaffAnywhere(knex: Knex, address: string): Promise<boolean> {
  return !!(await knex('department_staff').where({ address: address.toLowerCase() }).first('department_id'));
}
