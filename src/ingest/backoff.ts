// When to try a mailbox connection again. Pure delay math; the caller owns
// the timer (as EmailEngine's reconnect-backoff does). Before: fetchers that
// retried at a fixed short interval hammered a server that was down, or gave
// up and went silent (Zammad #2321). Here the delay doubles up to a cap, with
// jitter so several bridges restarted together do not reconnect in step, and
// an authentication failure waits far longer: a wrong password does not fix
// itself, and servers lock out an account that retries it every second.
//
//   attempt   0     1     2     3     4     5     6     7+
//   network   1s    2s    4s    8s    16s   32s   60s   60s    (each × 0.5…1.0 jitter)
//   auth      60s   120s  240s  480s  900s  900s  …            (each × 0.5…1.0 jitter)
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const NETWORK_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };
export const AUTH_BACKOFF: BackoffPolicy = { baseMs: 60_000, capMs: 15 * 60_000 };
/** A connection earns a reset of its attempt count only by staying up this long: a crash loop must not look healthy. */
export const STABLE_UPTIME_MS = 2 * 60_000;

/** Delay before the given attempt (0 = the first retry), with "equal jitter": half fixed, half random. */
export function reconnectDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/**
 * The wait before reconnecting, and the attempt count to carry on with. A
 * connection that stayed up for STABLE_UPTIME_MS starts again from attempt 0;
 * one that dropped sooner keeps climbing the curve.
 */
export function planReconnect(
  attempt: number,
  failure: { upMs: number; authFailed: boolean },
  random: () => number = Math.random,
): { delayMs: number; attempt: number } {
  const from = failure.upMs >= STABLE_UPTIME_MS ? 0 : attempt;
  return { delayMs: reconnectDelay(from, failure.authFailed ? AUTH_BACKOFF : NETWORK_BACKOFF, random), attempt: from + 1 };
}
