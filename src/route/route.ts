// Where does a parsed notification go? Correspondence by (system, remote
// department ID), falling back to the remote department name compared case-
// and whitespace-insensitively. Pure over a snapshot of the system's
// correspondences, so the same answer comes from `profile test` (dry run)
// and from the pipeline.
import { nameKey } from '../store/correspondences';

export interface RouteEntry {
  id: number;
  remoteId: string;
  name: string;
  departmentId: number;
  department: string;
  enabled: boolean;
}

export type Route<E extends RouteEntry = RouteEntry> =
  | { kind: 'mapped'; entry: E; by: 'id' | 'name' }
  | { kind: 'parked_unparsed'; reason: string }
  | { kind: 'parked_unmapped'; reason: string }
  | { kind: 'parked_disabled'; entry: E; reason: string };

export function route<E extends RouteEntry>(
  entries: readonly E[],
  fields: { ticket?: string; departmentId?: string; departmentName?: string },
): Route<E> {
  if (!fields.ticket) return { kind: 'parked_unparsed', reason: 'no remote ticket ID found by the profile' };
  const byId = fields.departmentId !== undefined ? entries.find((e) => e.remoteId === fields.departmentId) : undefined;
  const key = fields.departmentName !== undefined ? nameKey(fields.departmentName) : undefined;
  const byName = !byId && key ? entries.find((e) => nameKey(e.name) === key) : undefined;
  const entry = byId ?? byName;
  if (!entry) {
    if (fields.departmentId === undefined && fields.departmentName === undefined) {
      return { kind: 'parked_unmapped', reason: 'no remote department ID or name found by the profile' };
    }
    const what = [fields.departmentId !== undefined && `ID "${fields.departmentId}"`, fields.departmentName !== undefined && `name "${fields.departmentName}"`]
      .filter(Boolean)
      .join(' / ');
    return { kind: 'parked_unmapped', reason: `no correspondence for remote department ${what}` };
  }
  if (!entry.enabled) return { kind: 'parked_disabled', entry, reason: `correspondence #${entry.id} is off` };
  return { kind: 'mapped', entry, by: byId ? 'id' : 'name' };
}
