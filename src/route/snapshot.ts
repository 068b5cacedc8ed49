// What routing decides on, read once per batch of mails rather than per mail:
// the systems (with their parsed profiles), each system's correspondences,
// and the departments with their staff (who is notified, who may reply).
// An admin's change takes effect from the next batch.
import type { Knex } from 'knex';
import { systemProfile } from '../mail/profiles';
import type { Profile } from '../mail/profile-schema';
import { listCorrespondences, type Correspondence } from '../store/correspondences';
import { listDepartments, type Department } from '../store/departments';
import { listSystems, type System } from '../store/systems';

export interface RoutingSnapshot {
  systems: System[];
  profileOf(system: System): Profile;
  correspondencesOf(systemId: number): Correspondence[];
  department(id: number): Department | undefined;
}

export async function loadSnapshot(knex: Knex): Promise<RoutingSnapshot> {
  const systems = await listSystems(knex);
  const maps = await listCorrespondences(knex);
  const departments = new Map((await listDepartments(knex)).map((d) => [d.id, d]));
  const bySystem = new Map<number, Correspondence[]>();
  for (const m of maps) bySystem.set(m.systemId, [...(bySystem.get(m.systemId) ?? []), m]);
  const profiles = new Map<number, Profile>();
  return {
    systems,
    profileOf(system) {
      let p = profiles.get(system.id);
      if (!p) {
        p = systemProfile(system);
        profiles.set(system.id, p);
      }
      return p;
    },
    correspondencesOf: (systemId) => bySystem.get(systemId) ?? [],
    department: (id) => departments.get(id),
  };
}
