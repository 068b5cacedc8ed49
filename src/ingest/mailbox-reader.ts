// Keeps one mailbox read for as long as the bridge runs: takes the mailbox's
// lease, runs a session (mailbox-session.ts), and when the session ends with
// an error waits as backoff.ts says and starts a new one. Its state is what
// /healthz reports. One reader's trouble never touches another's: each has
// its own connection, timers and backoff.
import { randomUUID } from 'node:crypto';
import { acquireLease, leaseOwner, releaseLease } from '../store/cursors';
import { planReconnect } from './backoff';
import type { MailboxProgress, MailboxState } from './health';
import { runSession, type MailboxOptions } from './mailbox-session';

export const LEASE_TTL_MS = 60_000; // renewed every 20 s; another host takes over a minute after this one dies
const STANDBY_RETRY_MS = 15_000; // how often a process without the lease asks again

export type ReaderOptions = MailboxOptions;

/** Sleeps `ms`, or less when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

const isAuthFailure = (err: unknown) => (err as { authenticationFailed?: boolean })?.authenticationFailed === true;

function describe(err: unknown): string {
  const e = err as { responseText?: string; message?: string; code?: string };
  return e?.responseText || (e?.code && e.code !== 'EIMAP' ? `${e.message} (${e.code})` : e?.message) || String(err);
}

export function createMailboxReader(o: ReaderOptions) {
  const log = o.log.child({ mailbox: o.spec.key });
  const owner = leaseOwner(o.instance, process.pid, randomUUID().slice(0, 8));
  let state: MailboxState = { status: 'connecting', since: Date.now() };
  // kept across connections: a reconnect is no progress, and a batch that timed out stays smaller
  const progress: MailboxProgress = { waiting: 0, oldestWaitingAt: null, lastProgressAt: Date.now() };
  const fetchState = { maxMails: o.batchSize };
  o.metrics.progress?.set(o.spec.key, progress);

  async function run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let downSince: number | null = null;
    try {
      while (!signal.aborted) {
        const lease = await acquireLease(o.knex, o.spec.key, owner, o.instance, LEASE_TTL_MS);
        if (!lease.acquired) {
          if (state.status !== 'standby') log.info({ holder: lease.holder, until: lease.until }, 'mailbox held by another process; standing by');
          state = { status: 'standby', since: Date.now(), holder: lease.holder };
          await sleep(STANDBY_RETRY_MS, signal);
          continue;
        }
        state = { status: 'connecting', since: Date.now() };
        let connectedAt: number | null = null;
        let failure: unknown = null;
        try {
          await runSession({
            ...o,
            log,
            owner,
            leaseTtlMs: LEASE_TTL_MS,
            progress,
            fetchState,
            signal,
            onConnected() {
              connectedAt = Date.now();
              downSince = null;
              state = { status: 'connected', since: connectedAt };
              o.metrics.connected.set({ mailbox: o.spec.key }, 1);
            },
          });
        } catch (err) {
          failure = err;
        }
        o.metrics.connected.set({ mailbox: o.spec.key }, 0);
        if (signal.aborted) break;
        const authFailed = isAuthFailure(failure);
        const upMs = connectedAt === null ? 0 : Date.now() - connectedAt;
        const plan = planReconnect(attempt, { upMs, authFailed });
        attempt = plan.attempt;
        downSince ??= Date.now();
        const error = failure === null ? 'session ended' : describe(failure);
        o.metrics.reconnects.inc({ mailbox: o.spec.key, reason: authFailed ? 'auth' : 'network' });
        log[authFailed ? 'error' : 'warn']({ err: error, authFailed, retryInMs: plan.delayMs, attempt }, authFailed ? 'login refused; retrying slowly' : 'mailbox connection lost; reconnecting');
        state = { status: 'reconnecting', since: Date.now(), downSince, retryAt: Date.now() + plan.delayMs, error, authFailed };
        await sleep(plan.delayMs, signal);
      }
    } finally {
      state = { status: 'stopped', since: Date.now() };
      await releaseLease(o.knex, o.spec.key, owner).catch((err: Error) => log.warn({ err: err.message }, 'could not release the lease'));
    }
  }

  return { key: o.spec.key, state: () => state, progress: () => progress, run };
}

export type MailboxReader = ReturnType<typeof createMailboxReader>;
