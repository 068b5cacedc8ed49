// Keeps one mailbox read for as long as the bridge runs and this process is
// to read it (membership.ts shares the mailboxes out among the processes):
// runs a session (mailbox-session.ts), and when the session ends with an
// error waits as backoff.ts says and starts a new one. When the mailbox is to
// be given up (another process joined) or its lease was lost, the session
// finishes the batch in hand and logs out, and the reader stands by. Its
// state is what /healthz reports. One reader's trouble never touches
// another's: each has its own connection, timers and backoff.
import { planReconnect } from './backoff';
import type { MailboxProgress, MailboxState } from './health';
import { runSession, type MailboxOptions } from './mailbox-session';
import type { Membership } from './membership';

export type ReaderOptions = MailboxOptions & { membership: Membership };

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

/** An AbortSignal that fires when `parent` does, or when `stopWhen()` turns true after a membership beat. */
function sessionSignal(parent: AbortSignal, membership: Membership, stopWhen: () => boolean): { signal: AbortSignal; dispose(): void } {
  const session = new AbortController();
  const check = () => {
    if (parent.aborted || stopWhen()) session.abort();
  };
  const off = membership.onChange(check);
  parent.addEventListener('abort', check);
  check();
  return {
    signal: session.signal,
    dispose() {
      off();
      parent.removeEventListener('abort', check);
    },
  };
}

/** Resolves when the membership gives this process the mailbox, or `signal` aborts. */
function untilHeld(membership: Membership, mailbox: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!signal.aborted && !membership.holds(mailbox)) return;
      off();
      signal.removeEventListener('abort', check);
      resolve();
    };
    const off = membership.onChange(check);
    signal.addEventListener('abort', check);
    check();
  });
}

export function createMailboxReader(o: ReaderOptions) {
  const log = o.log.child({ mailbox: o.spec.key });
  const { membership } = o;
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
        if (!membership.holds(o.spec.key)) {
          const holder = membership.holder(o.spec.key) ?? '(nobody yet)';
          if (state.status !== 'standby') log.info({ holder }, 'mailbox read by another process (or not yet shared out); standing by');
          state = { status: 'standby', since: Date.now(), holder };
          const refresh = membership.onChange(() => state.status === 'standby' && (state = { ...state, holder: membership.holder(o.spec.key) ?? '(nobody yet)' }));
          await untilHeld(membership, o.spec.key, signal);
          refresh();
          continue;
        }
        state = { status: 'connecting', since: Date.now() };
        let connectedAt: number | null = null;
        let failure: unknown = null;
        const session = sessionSignal(signal, membership, () => !membership.holds(o.spec.key));
        try {
          await runSession({
            ...o,
            log,
            owner: membership.owner,
            progress,
            fetchState,
            signal: session.signal,
            onConnected() {
              connectedAt = Date.now();
              downSince = null;
              state = { status: 'connected', since: connectedAt };
              o.metrics.connected.set({ mailbox: o.spec.key }, 1);
            },
          });
        } catch (err) {
          failure = err;
        } finally {
          session.dispose();
        }
        o.metrics.connected.set({ mailbox: o.spec.key }, 0);
        if (signal.aborted) break;
        if (!membership.holds(o.spec.key)) {
          // given up to another process, or taken over: the batch in hand is committed, the lease goes
          await membership.letGo(o.spec.key);
          attempt = 0;
          continue;
        }
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
      await membership.letGo(o.spec.key).catch((err: Error) => log.warn({ err: err.message }, 'could not release the lease'));
    }
  }

  return { key: o.spec.key, state: () => state, progress: () => progress, holder: () => membership.holder(o.spec.key), run };
}

export type MailboxReader = ReturnType<typeof createMailboxReader>;
