// Is the bridge reading its mail? Pure over each mailbox's state, so /healthz
// and `doctor` agree and the rules are tested as a table. A mailbox that is
// reconnecting within its backoff is healthy (networks blink, servers
// restart); one whose login is refused, that has been down too long, or whose
// retry is overdue (a hung reconnect) is not: those need a person.
export type MailboxState =
  | { status: 'connecting'; since: number }
  | { status: 'connected'; since: number }
  | { status: 'reconnecting'; since: number; downSince: number; retryAt: number; error: string; authFailed: boolean }
  | { status: 'standby'; since: number; holder: string }
  | { status: 'stopped'; since: number };

export const CONNECT_GRACE_MS = 60_000; // a login that takes longer than this is hung, not slow
export const RETRY_GRACE_MS = 30_000; // a reconnect this far past its time is hung
export const DOWN_LIMIT_MS = 15 * 60_000; // down this long: someone should look, whatever the cause

export interface Health {
  ok: boolean;
  problems: string[];
}

export function problemOf(mailbox: string, s: MailboxState, now: number): string | null {
  switch (s.status) {
    case 'connected':
    case 'standby':
    case 'stopped':
      return null;
    case 'connecting':
      return now - s.since > CONNECT_GRACE_MS ? `${mailbox}: still connecting after ${Math.round((now - s.since) / 1000)} s` : null;
    case 'reconnecting':
      if (s.authFailed) return `${mailbox}: login refused (${s.error}); check the user and password`;
      if (now - s.downSince > DOWN_LIMIT_MS) return `${mailbox}: down for ${Math.round((now - s.downSince) / 60_000)} min: ${s.error}`;
      if (now > s.retryAt + RETRY_GRACE_MS) return `${mailbox}: reconnect overdue since ${new Date(s.retryAt).toISOString()}: ${s.error}`;
      return null;
  }
}

export function healthOf(mailboxes: ReadonlyMap<string, MailboxState>, now: number): Health {
  const problems = [...mailboxes].map(([name, s]) => problemOf(name, s, now)).filter((p): p is string => p !== null);
  return { ok: problems.length === 0, problems };
}
