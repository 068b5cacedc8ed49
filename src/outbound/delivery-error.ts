// Retry or give up? One pure decision per failed send, as EmailEngine's
// delivery-error does: the SMTP reply code decides first. A 4xx, or no reply
// at all (connection refused, timeout, TLS trouble), is transient: try again
// on the schedule. A 5xx is permanent and makes the row `dead`, except 503
// ("bad sequence of commands"), which is a session hiccup, not a verdict on
// the mail, and a refused login (the bridge's credentials are wrong, not the
// mail: it waits for the admin's fix, which doctor and the log point at).
// Past the row's deadline everything is dead.
//
//   attempt   1      2      3       4      5…
//   wait      1 min  5 min  15 min  1 h    1 h  … until 24 h after queueing
export const DEFAULT_RETRY_SCHEDULE_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000];
export const DEFAULT_DEADLINE_MS = 24 * 60 * 60_000;

export interface SendFailure {
  /** SMTP reply code, when the server answered. */
  responseCode?: number;
  /** nodemailer's error code; EAUTH is the bridge's own login being refused. */
  code?: string;
  message: string;
}

export type Verdict = { action: 'retry'; at: Date; reason: string } | { action: 'dead'; reason: string };

export function decide(failure: SendFailure, attempts: number, now: Date, deadline: Date, schedule: readonly number[] = DEFAULT_RETRY_SCHEDULE_MS): Verdict {
  const code = failure.responseCode;
  const reply = code ? `${code} ${failure.message}` : failure.message;
  const what = failure.code === 'EAUTH' ? `the SMTP login was refused (check DESKBRIDGE_SMTP): ${reply}` : reply;
  if (code && code >= 500 && code !== 503 && failure.code !== 'EAUTH') return { action: 'dead', reason: `rejected: ${what}` };
  const wait = schedule[Math.min(attempts, schedule.length) - 1] ?? schedule[schedule.length - 1]!;
  const at = new Date(now.getTime() + wait);
  if (at > deadline) return { action: 'dead', reason: `gave up after ${attempts} attempt(s), past the deadline: ${what}` };
  return { action: 'retry', at, reason: `attempt ${attempts} failed: ${what}` };
}
