// This process's place among the `deskbridge run` processes that share one
// database: it registers (a row with a random owner id), beats its heartbeat
// and renews its leases every sixth of the lease period, and shares the
// mailboxes out by balance.ts's rule. Readers (mailbox-reader.ts) ask it
// whether to read their mailbox, and are told to stop after the batch in
// hand when the mailbox is to be given up or was taken over.
//
// Timing (L = lease period, DESKBRIDGE_LEASE_SECONDS): a lease and a
// heartbeat are good for L/2 and renewed every L/6, so a process survives two
// missed beats; a dead process's leases lapse within L/2 of its last beat and
// are taken at the next beat of another, within L/2 + L/6 < L.
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Logger } from '../log';
import { acquireLeases, leaseHolders, releaseLease, renewLeases } from '../store/cursors';
import { countLive, deregister, heartbeat, pruneDead } from '../store/processes';
import { planBalance } from './balance';
import { sleep } from './mailbox-reader';

export const DEFAULT_LEASE_MS = 30_000;
const PRUNE_AFTER_MS = 24 * 3600_000; // a dead process's row is kept a day for `status`, then dropped

export interface MembershipOptions {
  knex: Knex;
  owner: string;
  instance: string;
  mailboxes: readonly string[];
  leaseMs?: number;
  log: Logger;
}

export function createMembership(o: MembershipOptions) {
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  const ttlMs = Math.round(leaseMs / 2);
  const beatMs = Math.max(100, Math.round(leaseMs / 6));
  const info = { owner: o.owner, instance: o.instance, host: hostname(), pid: process.pid, mailboxes: o.mailboxes.length };
  const held = new Set<string>();
  const leaving = new Set<string>(); // held, to be given up once its reader has finished the batch in hand
  let holders = new Map<string, string | null>();
  let live = 1;
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());

  async function beat(): Promise<void> {
    await heartbeat(o.knex, info);
    const still = new Set(await renewLeases(o.knex, o.owner, ttlMs));
    for (const m of [...held]) {
      if (still.has(m)) continue;
      held.delete(m);
      leaving.delete(m);
      o.log.error({ mailbox: m }, 'mailbox lease lost to another process (this one paused past its lease?); stopping that reader');
    }
    live = Math.max(1, await countLive(o.knex, ttlMs));
    holders = await leaseHolders(o.knex, o.mailboxes);
    const plan = planBalance({ mailboxes: o.mailboxes, held: new Set([...held].filter((m) => !leaving.has(m))), holders, live });
    for (const m of plan.giveUp) {
      if (!leaving.has(m)) o.log.info({ mailbox: m, quota: plan.quota, live }, 'giving the mailbox up to balance the processes (after the batch in hand)');
      leaving.add(m);
    }
    for (const m of await acquireLeases(o.knex, plan.take, o.owner, ttlMs)) {
      held.add(m);
      holders.set(m, o.owner);
      o.log.info({ mailbox: m, quota: plan.quota, live }, 'mailbox lease taken');
    }
    changed();
  }

  const stopped = new AbortController();
  let loop: Promise<void> | null = null;

  return {
    owner: o.owner,
    leaseMs,
    /** Registers, takes a first share, and beats until stop(). Processes started together may first overshoot; the next beats even it out. */
    async start(): Promise<void> {
      await pruneDead(o.knex, PRUNE_AFTER_MS).catch(() => 0);
      await beat();
      loop = (async () => {
        while (!stopped.signal.aborted) {
          await sleep(beatMs, stopped.signal);
          if (stopped.signal.aborted) break;
          await beat().catch((err: Error) => o.log.warn({ err: err.message }, 'heartbeat failed; the leases stay ours until they lapse'));
        }
      })();
    },
    /** Whether this process should read the mailbox now. */
    holds: (mailbox: string) => held.has(mailbox) && !leaving.has(mailbox),
    /** Who reads the mailbox, as of the last beat (null: nobody). */
    holder: (mailbox: string) => (held.has(mailbox) ? o.owner : (holders.get(mailbox) ?? null)),
    liveProcesses: () => live,
    /** Calls `listener` after every beat; returns the unsubscribe. */
    onChange(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** The reader of `mailbox` has stopped (batch committed, logged out): let the lease go if it is to be given up, or on a stop. */
    async letGo(mailbox: string): Promise<void> {
      if (!leaving.has(mailbox) && !stopped.signal.aborted) return;
      held.delete(mailbox);
      leaving.delete(mailbox);
      holders.set(mailbox, null); // not ours any more; who takes it is known at the next beat (until then /healthz must not name this process)
      await releaseLease(o.knex, mailbox, o.owner);
    },
    /** A clean stop, after the readers have finished: every lease released and the row gone, so the others take over at once. */
    async stop(): Promise<void> {
      stopped.abort();
      await loop;
      for (const m of [...held]) await releaseLease(o.knex, m, o.owner).catch(() => undefined);
      held.clear();
      await deregister(o.knex, o.owner).catch((err: Error) => o.log.warn({ err: err.message }, 'could not deregister'));
    },
  };
}

export type Membership = ReturnType<typeof createMembership>;
