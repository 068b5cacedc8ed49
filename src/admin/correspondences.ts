// Admin operations on the correspondence table (CLI noun `map`), the module
// BILLmanager calls "Remote support departments": add, edit, delete, enable,
// disable. Every operation on several ids is all-or-nothing: one unknown id
// and nothing changes.
import type { Database } from '../store/db';
import { DeskbridgeError } from '../errors';
import { recordAudit } from '../store/audit';
import * as repo from '../store/correspondences';
import type { Correspondence, CorrespondenceFields } from '../store/correspondences';
import { requireDepartment } from './departments';
import { checkName } from './slug';
import { requireSystem } from './systems';

type Knex = Database['knex'];

export function correspondenceView(c: Correspondence) {
  return {
    id: c.id,
    system: c.system,
    remoteId: c.remoteId,
    name: c.name,
    department: c.department,
    enabled: c.enabled,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/** Where an admin sees the ids of each kind (the hint of parseId's error). */
const LISTED_BY: Record<string, string> = { 'map id': 'map list', 'ticket id': 'ticket list', 'outbox id': 'outbox list', 'inbound id': 'inbox list' };

export function parseId(value: string, what = 'map id'): number {
  if (!/^\d{1,15}$/.test(value.trim()) || Number(value) === 0) {
    const listed = LISTED_BY[what];
    throw new DeskbridgeError('EINVALID', `${what} "${value}" is not valid (expected a positive whole number${listed ? `, as \`${listed}\` shows` : ''})`);
  }
  return Number(value);
}

function checkRemoteId(value: string): string {
  const id = value.trim();
  if (id === '' || id.length > 320) {
    throw new DeskbridgeError('EINVALID', `--remote-id: "${value}" is not valid (expected 1-320 characters)`);
  }
  return id;
}

async function requireUniqueRemoteId(trx: Knex, systemId: number, system: string, remoteId: string, exceptId?: number) {
  const existing = await repo.findByRemoteId(trx, systemId, remoteId);
  if (existing && existing.id !== exceptId) {
    throw new DeskbridgeError(
      'EEXISTS',
      `--remote-id: system "${system}" already maps remote department "${remoteId}" (correspondence #${existing.id}); edit that one instead`,
    );
  }
}

/** Loads every id or fails naming the ones that do not exist. */
export async function requireCorrespondences(trx: Knex, ids: number[]): Promise<Correspondence[]> {
  const unique = [...new Set(ids)];
  const found = await repo.findCorrespondences(trx, unique);
  const missing = unique.filter((id) => !found.some((c) => c.id === id));
  if (missing.length > 0) {
    throw new DeskbridgeError('ENOTFOUND', `unknown correspondence ${missing.map((id) => `#${id}`).join(', ')} (see \`deskbridge map list\`)`);
  }
  return found;
}

export async function listMaps(db: Database, filter: { system?: string }): Promise<Correspondence[]> {
  if (filter.system === undefined) return repo.listCorrespondences(db.knex);
  const system = await requireSystem(db.knex, filter.system);
  return repo.listCorrespondences(db.knex, { systemId: system.id });
}

export interface MapAddInput {
  system: string;
  remoteId: string;
  name: string;
  department: string;
  enabled: boolean;
}

export async function addMap(db: Database, actor: string, input: MapAddInput): Promise<Correspondence> {
  const remoteId = checkRemoteId(input.remoteId);
  const name = checkName(input.name, '--name');
  return db.knex.transaction(async (trx) => {
    const system = await requireSystem(trx, input.system);
    const department = await requireDepartment(trx, input.department);
    await requireUniqueRemoteId(trx, system.id, system.slug, remoteId);
    const id = await repo.insertCorrespondence(trx, { systemId: system.id, remoteId, name, departmentId: department.id, enabled: input.enabled });
    const [created] = await repo.findCorrespondences(trx, [id]);
    await recordAudit(trx, { actor, entity: 'map', key: String(id), action: 'add', after: correspondenceView(created!) });
    return created!;
  });
}

export interface MapEditInput {
  name?: string;
  remoteId?: string;
  department?: string;
}

export async function editMap(db: Database, actor: string, id: number, input: MapEditInput): Promise<Correspondence> {
  const fields: Partial<CorrespondenceFields> = {
    ...(input.name !== undefined && { name: checkName(input.name, '--name') }),
    ...(input.remoteId !== undefined && { remoteId: checkRemoteId(input.remoteId) }),
  };
  if (Object.keys(fields).length === 0 && input.department === undefined) {
    throw new DeskbridgeError('EUSAGE', 'map edit: nothing to change; give --name, --remote-id or --department');
  }
  return db.knex.transaction(async (trx) => {
    const [before] = await requireCorrespondences(trx, [id]);
    if (input.department !== undefined) fields.departmentId = (await requireDepartment(trx, input.department)).id;
    if (fields.remoteId !== undefined) await requireUniqueRemoteId(trx, before!.systemId, before!.system, fields.remoteId, id);
    await repo.updateCorrespondence(trx, id, fields);
    const [after] = await repo.findCorrespondences(trx, [id]);
    await recordAudit(trx, { actor, entity: 'map', key: String(id), action: 'edit', before: correspondenceView(before!), after: correspondenceView(after!) });
    return after!;
  });
}

export async function deleteMaps(db: Database, actor: string, ids: number[]): Promise<Correspondence[]> {
  return db.knex.transaction(async (trx) => {
    const found = await requireCorrespondences(trx, ids);
    await repo.deleteCorrespondences(trx, found.map((c) => c.id));
    for (const c of found) await recordAudit(trx, { actor, entity: 'map', key: String(c.id), action: 'delete', before: correspondenceView(c) });
    return found;
  });
}

export async function setMapsEnabled(db: Database, actor: string, ids: number[], enabled: boolean): Promise<Correspondence[]> {
  return db.knex.transaction(async (trx) => {
    const found = await requireCorrespondences(trx, ids);
    const changed: Correspondence[] = [];
    for (const before of found) {
      if (before.enabled === enabled) continue; // already so: nothing to change, nothing to audit
      await repo.updateCorrespondence(trx, before.id, { enabled });
      const [after] = await repo.findCorrespondences(trx, [before.id]);
      await recordAudit(trx, {
        actor,
        entity: 'map',
        key: String(before.id),
        action: enabled ? 'enable' : 'disable',
        before: correspondenceView(before),
        after: correspondenceView(after!),
      });
      changed.push(after!);
    }
    return changed;
  });
}
