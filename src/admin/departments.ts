// Admin operations on departments: validate first, then change and audit in
// one transaction.
import type { Database } from '../store/db';
import { DeskbridgeError } from '../errors';
import { recordAudit } from '../store/audit';
import { countTickets } from '../store/tickets';
import { listCorrespondences } from '../store/correspondences';
import * as repo from '../store/departments';
import type { Department } from '../store/departments';
import { parseStaffList } from './addresses';
import { checkName, checkSlug } from './slug';
import { STAFF_AUTH_POLICIES, type StaffAuthPolicy } from '../auth/policy-names';

export interface DepartmentInput {
  name?: string;
  staff?: string;
  /** dmarc | token (default dmarc on add). */
  staffAuth?: string;
}

export function departmentView(d: Department) {
  // staffAuthChosen false: a department from before sender authentication (acts as token; `doctor` warns)
  return { id: d.id, slug: d.slug, name: d.name, staff: d.staff, staffNames: d.staffNames, staffAuth: d.staffAuth ?? 'token', staffAuthChosen: d.staffAuth !== null, createdAt: d.createdAt, updatedAt: d.updatedAt };
}

function checkStaffAuth(value: string): StaffAuthPolicy {
  if (!(STAFF_AUTH_POLICIES as readonly string[]).includes(value)) throw new DeskbridgeError('EUSAGE', `--staff-auth: "${value}" is not one of ${STAFF_AUTH_POLICIES.join(', ')}`);
  return value as StaffAuthPolicy;
}

export async function requireDepartment(knex: Database['knex'], slug: string): Promise<Department> {
  const department = await repo.findDepartment(knex, slug);
  if (!department) {
    const known = (await repo.listDepartments(knex)).map((d) => d.slug);
    throw new DeskbridgeError(
      'ENOTFOUND',
      `unknown department "${slug}" (known: ${known.join(', ') || 'none yet; add one with `deskbridge department add`'})`,
    );
  }
  return department;
}

export async function addDepartment(db: Database, actor: string, slug: string, input: DepartmentInput): Promise<Department> {
  checkSlug(slug, 'department');
  if (input.name === undefined) throw new DeskbridgeError('EUSAGE', 'department add: --name is required');
  if (input.staff === undefined) throw new DeskbridgeError('EUSAGE', 'department add: --staff is required');
  const name = checkName(input.name, '--name');
  const { staff, names } = parseStaffList(input.staff, '--staff');
  const staffAuth = input.staffAuth === undefined ? 'dmarc' : checkStaffAuth(input.staffAuth);
  return db.knex.transaction(async (trx) => {
    if (await repo.findDepartment(trx, slug)) {
      throw new DeskbridgeError('EEXISTS', `department "${slug}" already exists; use \`department edit ${slug}\``);
    }
    await repo.insertDepartment(trx, slug, name, staff, names, staffAuth);
    const department = (await repo.findDepartment(trx, slug))!;
    await recordAudit(trx, { actor, entity: 'department', key: slug, action: 'add', after: departmentView(department) });
    return department;
  });
}

export async function editDepartment(db: Database, actor: string, slug: string, input: DepartmentInput): Promise<Department> {
  const fields = {
    ...(input.name !== undefined && { name: checkName(input.name, '--name') }),
    ...(input.staff !== undefined && (({ staff, names }) => ({ staff, staffNames: names }))(parseStaffList(input.staff, '--staff'))),
    ...(input.staffAuth !== undefined && { staffAuth: checkStaffAuth(input.staffAuth) }),
  };
  if (Object.keys(fields).length === 0) throw new DeskbridgeError('EUSAGE', 'department edit: nothing to change; give --name, --staff or --staff-auth');
  return db.knex.transaction(async (trx) => {
    const before = await requireDepartment(trx, slug);
    await repo.updateDepartment(trx, before.id, fields);
    const after = (await repo.findDepartment(trx, slug))!;
    await recordAudit(trx, { actor, entity: 'department', key: slug, action: 'edit', before: departmentView(before), after: departmentView(after) });
    return after;
  });
}

export async function removeDepartment(db: Database, actor: string, slug: string): Promise<void> {
  await db.knex.transaction(async (trx) => {
    const department = await requireDepartment(trx, slug);
    const maps = await listCorrespondences(trx, { departmentId: department.id });
    if (maps.length > 0) {
      throw new DeskbridgeError(
        'EINUSE',
        `department "${slug}" is still used by correspondences ${maps.map((m) => `#${m.id} (${m.system} ${m.remoteId})`).join(', ')}; point them elsewhere or delete them first`,
      );
    }
    const n = await countTickets(trx, { department_id: department.id });
    if (n > 0) throw new DeskbridgeError('EINUSE', `department "${slug}" has ${n} tickets and cannot be removed`);
    await repo.deleteDepartment(trx, department.id);
    await recordAudit(trx, { actor, entity: 'department', key: slug, action: 'remove', before: departmentView(department) });
  });
}
