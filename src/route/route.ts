// Where does a parsed notification go? Correspondence by (system, remote
// department ID), falling back to the remote department name compared case-
// and whitespace-insensitively. Pure over a snapshot of the system's
// correspondences, so the same answer comes from `profile test` (dry run)
// and from the pipeline.
//
// A follow-up is routed by its ticket: systems word their first notification
// and their follow-ups differently (stock RT names the queue only in the
// first), so a mail whose department maps to nothing is `by_ticket`: it goes
// to the local ticket of its remote ticket if there is one (looked up when it
// is written), and is parked `unmapped` only when there is none. A mapped
// department that differs from the ticket's moves the ticket (a transfer).
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
  /** No department maps: the mail may only follow a local ticket; `reason` is why it is parked when there is none. */
  | { kind: 'by_ticket'; reason: string }
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
      return { kind: 'by_ticket', reason: 'no remote department ID or name found by the profile, and no local ticket to follow' };
    }
    const what = [fields.departmentId !== undefined && `ID "${fields.departmentId}"`, fields.departmentName !== undefined && `name "${fields.departmentName}"`]
      .filter(Boolean)
      .join(' / ');
    return { kind: 'by_ticket', reason: `no correspondence for remote department ${what}, and no local ticket to follow` };
  }
  if (!entry.enabled) return { kind: 'parked_disabled', entry, reason: `correspondence #${entry.id} is off` };
  return { kind: 'mapped', entry, by: byId ? 'id' : 'name' };
}

/** The local ticket a mail's remote ticket already has, as `profile test` reads it. */
export interface KnownTicket {
  id: number;
  department: string;
}

/** One line for `profile test`: where the mail goes, given the route and the local ticket (if any). */
export function describeRoute(r: Route, known: KnownTicket | undefined): string {
  switch (r.kind) {
    case 'mapped': {
      if (!known) return `correspondence #${r.entry.id} → ${r.entry.department} (by ${r.by})`;
      const move = known.department === r.entry.department ? '' : `; moves the ticket from ${known.department}`;
      return `correspondence #${r.entry.id} → ${r.entry.department} (by ${r.by}, ticket #${known.id}${move})`;
    }
    case 'by_ticket':
      return known ? `ticket #${known.id} → ${known.department} (by ticket)` : `parked_unmapped: ${r.reason}`;
    default:
      return `${r.kind}: ${r.reason}`;
  }
}
