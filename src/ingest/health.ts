// Is the bridge reading its mail? Pure over each mailbox's state, so /healthz
// and `doctor` agree and the rules are tested as a table. A mailbox that is
// reconnecting within its backoff is healthy (networks blink, servers
// restart); one whose login is refused, that has been down too long, or whose
// retry is overdue (a hung reconnect) is not: those need a person. And health
// is progress: a mailbox where mail is waiting and the cursor has not moved
// for STALL_LIMIT_MS is failing, connected or not (one mail that fails its
// batch again and again used to keep a mailbox "connected" forever).
export type MailboxState =
  | { status: 'connecting'; since: number }
  | { status: 'connected'; since: number }
  | { status: 'reconnecting'; since: number; downSince: number; retryAt: number; error: string; authFailed: boolean }
  | { status: 'standby'; since: number; holder: string }
  | { status: 'stopped'; since: number };

export const CONNECT_GRACE_MS = 60_000; // a login that takes longer than this is hung, not slow
export const RETRY_GRACE_MS = 30_000; // a reconnect this far past its time is hung
export const DOWN_LIMIT_MS = 15 * 60_000; // down this long: someone should look, whatever the cause

export const STALL_LIMIT_MS = 15 * 60_000; // mail waiting this long with no commit: someone should look (DESKBRIDGE_STALL_MINUTES)

/** What the reader knows of its backlog, kept across connections. */
export interface MailboxProgress {
  /** Mails after the cursor, as the last listing and commits left them. */
  waiting: number;
  /** INTERNALDATE of the oldest of them (ms), when known. */
  oldestWaitingAt: number | null;
  /** When the cursor last moved, or when mail was first seen waiting after none was. */
  lastProgressAt: number;
}

export function stallOf(mailbox: string, p: MailboxProgress, now: number, stallMs = STALL_LIMIT_MS): string | null {
  if (p.waiting === 0 || now - p.lastProgressAt <= stallMs) return null;
  return `${mailbox}: ${p.waiting} mail(s) waiting and the cursor has not moved for ${Math.round((now - p.lastProgressAt) / 60_000)} min`;
}

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

export function healthOf(mailboxes: ReadonlyMap<string, MailboxState>, now: number, progress: ReadonlyMap<string, MailboxProgress> = new Map(), stallMs = STALL_LIMIT_MS): Health {
  const problems = [...mailboxes]
    .flatMap(([name, s]) => [problemOf(name, s, now), s.status === 'standby' || !progress.get(name) ? null : stallOf(name, progress.get(name)!, now, stallMs)])
    .filter((p): p is string => p !== null);
  return { ok: problems.length === 0, problems };
}
