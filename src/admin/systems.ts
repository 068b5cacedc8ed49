// Admin operations on systems: validate everything first, then change the
// row and write the audit entry in one transaction, so bad input changes
// nothing.
import type { Database } from '../store/db';
import { DeskbridgeError } from '../errors';
import { presetProfile, readProfileFile } from '../mail/profiles';
import { recordAudit } from '../store/audit';
import { countTickets } from '../store/tickets';
import { listCorrespondences } from '../store/correspondences';
import * as repo from '../store/systems';
import type { System, SystemFields } from '../store/systems';
import { normaliseAddress, normaliseAllowEntry, splitList } from './addresses';
import { checkName, checkSlug } from './slug';
import { SYSTEM_AUTH_POLICIES, type SystemAuthPolicy } from '../auth/policy-names';

export interface SystemInput {
  name?: string;
  from?: string;
  relayTo?: string;
  profile?: string;
  profileFile?: string;
  enabled?: boolean;
  /** none | dmarc (default dmarc on add). */
  auth?: string;
}

/** The public shape of a system (CLI --json and audit entries). */
export function systemView(s: System) {
  return {
    id: s.id,
    slug: s.slug,
    name: s.name,
    from: s.from,
    relayTo: s.relayTo,
    profile: s.profile,
    customProfile: s.profileJson !== null,
    enabled: s.enabled,
    auth: s.auth ?? 'none',
    authChosen: s.auth !== null, // false: a system from before sender authentication; `doctor` warns until one is chosen
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

function profileFields(input: SystemInput): Pick<SystemFields, 'profile' | 'profileJson'> | undefined {
  if (input.profile !== undefined && input.profileFile !== undefined) {
    throw new DeskbridgeError('EUSAGE', '--profile and --profile-file exclude each other; give one');
  }
  if (input.profile !== undefined) return { profile: presetProfile(input.profile).name, profileJson: null };
  if (input.profileFile !== undefined) {
    const profile = readProfileFile(input.profileFile);
    return { profile: profile.name, profileJson: JSON.stringify(profile) };
  }
  return undefined;
}

function validate(input: SystemInput): Partial<SystemFields> {
  return {
    ...(input.name !== undefined && { name: checkName(input.name, '--name') }),
    ...(input.from !== undefined && { from: splitList(input.from, '--from', normaliseAllowEntry) }),
    ...(input.relayTo !== undefined && { relayTo: normaliseAddress(input.relayTo, '--relay-to') }),
    ...profileFields(input),
    ...(input.enabled !== undefined && { enabled: input.enabled }),
    ...(input.auth !== undefined && { auth: checkAuth(input.auth) }),
  };
}

function checkAuth(value: string): SystemAuthPolicy {
  if (!(SYSTEM_AUTH_POLICIES as readonly string[]).includes(value)) throw new DeskbridgeError('EUSAGE', `--auth: "${value}" is not one of ${SYSTEM_AUTH_POLICIES.join(', ')}`);
  return value as SystemAuthPolicy;
}

export async function requireSystem(knex: Database['knex'], slug: string): Promise<System> {
  const system = await repo.findSystem(knex, slug);
  if (!system) {
    const known = (await repo.listSystems(knex)).map((s) => s.slug);
    throw new DeskbridgeError('ENOTFOUND', `unknown system "${slug}" (known: ${known.join(', ') || 'none yet; add one with `deskbridge system add`'})`);
  }
  return system;
}

export async function addSystem(db: Database, actor: string, slug: string, input: SystemInput): Promise<System> {
  checkSlug(slug, 'system');
  for (const [key, option] of [['name', '--name'], ['from', '--from'], ['relayTo', '--relay-to']] as const) {
    if (input[key] === undefined) throw new DeskbridgeError('EUSAGE', `system add: ${option} is required`);
  }
  if (input.profile === undefined && input.profileFile === undefined) {
    throw new DeskbridgeError('EUSAGE', 'system add: --profile or --profile-file is required');
  }
  const fields = { enabled: true, auth: 'dmarc', ...validate(input) } as SystemFields;
  return db.knex.transaction(async (trx) => {
    if (await repo.findSystem(trx, slug)) throw new DeskbridgeError('EEXISTS', `system "${slug}" already exists; use \`system edit ${slug}\``);
    await repo.insertSystem(trx, slug, fields);
    const system = (await repo.findSystem(trx, slug))!;
    await recordAudit(trx, { actor, entity: 'system', key: slug, action: 'add', after: systemView(system) });
    return system;
  });
}

export async function editSystem(db: Database, actor: string, slug: string, input: SystemInput): Promise<System> {
  const fields = validate(input);
  if (Object.keys(fields).length === 0) {
    throw new DeskbridgeError('EUSAGE', 'system edit: nothing to change; give --name, --from, --relay-to, --profile, --profile-file, --auth, --enable or --disable');
  }
  return db.knex.transaction(async (trx) => {
    const before = await requireSystem(trx, slug);
    await repo.updateSystem(trx, before.id, fields);
    const after = (await repo.findSystem(trx, slug))!;
    await recordAudit(trx, { actor, entity: 'system', key: slug, action: 'edit', before: systemView(before), after: systemView(after) });
    return after;
  });
}

export async function removeSystem(db: Database, actor: string, slug: string): Promise<void> {
  await db.knex.transaction(async (trx) => {
    const system = await requireSystem(trx, slug);
    const maps = await listCorrespondences(trx, { systemId: system.id });
    if (maps.length > 0) {
      throw new DeskbridgeError(
        'EINUSE',
        `system "${slug}" is still used by correspondences ${maps.map((m) => `#${m.id}`).join(', ')}; delete them first (deskbridge map delete ${maps.map((m) => m.id).join(' ')})`,
      );
    }
    const n = await countTickets(trx, { system_id: system.id });
    if (n > 0) {
      throw new DeskbridgeError('EINUSE', `system "${slug}" has ${n} tickets; disable it instead (deskbridge system edit ${slug} --disable)`);
    }
    await repo.deleteSystem(trx, system.id);
    await recordAudit(trx, { actor, entity: 'system', key: slug, action: 'remove', before: systemView(system) });
  });
}
