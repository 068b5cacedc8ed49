// One mail's way through the bridge (DESIGN.md "The flow"): ledger → classify
// → parse → route → store. Mails come in batches; a batch is one transaction
// (one commit, which is what lets SQLite go past ~700 mails/s). Each mail is
// first decided without writing anything (classify, extract, route are pure
// over the parsed mail and a routing snapshot); then its ledger row, raw bytes
// and outcome, is written together with the effects the outcome names.
// Nothing commits without its ledger row, and no ledger row commits without
// its effects. (Profiled: deciding first and writing once took the ingest from
// 8 SQL statements per ticket mail to 6, and a non-ticket mail from 5 to 1.)
//
// A batch is first written fast: no savepoint per mail, and the staff
// notifications of its ticket events (queued unrendered: the outbox renders
// each at its first send, outbound/notify.ts) queued in one insert at its
// end. A mail whose decision throws (an unparsable mail) has written
// nothing and is recorded `failed` at once. If any write fails — a statement
// the database refuses, another writer's copy of the same mail, a
// notification template that does not compile — the batch is rolled back whole and
// written again safely: every mail's writes, a plain outcome's one row
// included, under a savepoint of their own (store/savepoint.ts), each
// notification queued in its mail's savepoint, so one mail's
// failure rolls back only its own writes: its ledger row is still written,
// `failed` with the error, retried on the next run, and parked as
// `parked_failed` after MAX_ATTEMPTS. (Profiled: the two savepoint statements
// were a third of a ticket mail's statements, and its notification more than
// half of the main thread's time.)
import type { Knex } from 'knex';
import type { Authenticate } from './auth/sender-auth';
import { DeskbridgeError, isDeskbridgeError } from './errors';
import { decide, headerBlock, prepare, profileCandidates, type Decision, type Prepared } from './decide';
import type { ProfileCandidate } from './mail/mail-work';
import type { MailFacts } from './mail/parse-mail';
import { applyEffects, type Defer, type WriteLedger } from './apply-decision';
import type { Outbound } from './outbound/notify';
import { loadSnapshot, type RoutingSnapshot } from './route/snapshot';
import type { Database } from './store/db';
import * as ledger from './store/inbound';
import type { InboundOutcome, InboundSource, LedgerState } from './store/inbound';
import { claimInState } from './store/inbound-claim';
import { loadDuplicateIndex, originalAfterConflict, supersedePartial } from './store/inbound-dedupe';
import { keepOutcome } from './store/inbound-history';
import { isReplayable } from './store/replayable';
import { errorText, recordFailure, underSavepoint } from './store/savepoint';
import { enqueueMany, type NewOutboxItem } from './store/outbox';
import { listSystems } from './store/systems';
import { BATCH_BYTES } from './ingest/fetch-plan';

export const MAX_ATTEMPTS = 3; // a mail that fails this often is parked, so it never blocks the ones after it

/** `nextBatch` for ingestInTurn over items in memory: `size` at a time, in order. */
export function inBatches<T>(items: readonly T[], size: number): () => T[] | null {
  let at = 0;
  return () => {
    if (at >= items.length) return null;
    at += size;
    return items.slice(at - size, at);
  };
}

export interface IncomingMail extends InboundSource {
  raw: Buffer;
  /** How the caller names the mail in its report: a file name, "stdin", a UID. */
  label: string;
  /** The mail's full size when `raw` holds only its headers (an IMAP reader does not download a mail over the limit). */
  size?: number;
}

export interface MailResult {
  label: string;
  inboundId: number;
  state: LedgerState;
  reason: string | null;
  ticketId: number | null;
  system: string | null;
}

export interface PipelineOptions {
  bridgeAddress: string | null;
  maxMessageBytes: number;
  /** The one full parse: parseMail in this thread, or a parse pool's worker (parse-pool.ts). */
  parse?: (raw: Buffer) => Promise<MailFacts>;
  /** Address, secret, instance and templates for staff notifications; without them none are queued (and the reason says so). */
  outbound?: Outbound | null;
  /** Sender authentication (auth/sender-auth.ts, from DESKBRIDGE_AUTHSERV_ID and DESKBRIDGE_DNS). */
  authenticate?: Authenticate;
}

/** A batch written fast: its mails' notifications are handed to `defer` and queued together at its end. */
interface FastBatch {
  defer: Defer;
}

/**
 * Batches read and parsing while one is written (ingestInTurn): one always, the second only while the batches
 * held (that one and the one being written) are less than BATCH_BYTES: large mail is held as with one batch ahead.
 */
const BATCHES_AHEAD = 2;
const batchBytes = (mails: readonly IncomingMail[]) => mails.reduce((sum, m) => sum + m.raw.length, 0);

/** A batch written fast met a failure (a mail's write, a notification): it is rolled back and written again safely. */
class WriteAgainSafely extends Error {}

/** A batch whose parsing has started: hand it to `ingest` later, so the next batch parses while this one is written. */
export interface PreparedBatch {
  mails: IncomingMail[];
  prepared: Promise<Prepared[]>;
}


export function createPipeline(db: Database, options: PipelineOptions) {
  let latestCandidates: Promise<ProfileCandidate[]> | null = null; // for the parse pool's worker (mail-work.ts)
  /**
   * Decides one mail and writes its ledger row (through `write`) with its
   * effects. Safely (`fast` null): the writes run under the mail's savepoint,
   * and a throw becomes `failed` (or `parked_failed` after MAX_ATTEMPTS) with
   * the error, the effects rolled back to the savepoint. Fast: no savepoint,
   * the notification handed to `fast.defer` when there is one, and a throw
   * while writing becomes WriteAgainSafely (the batch is rolled back and
   * written safely). A throw while deciding has written nothing: it is
   * recorded either way.
   */
  async function processMail(trx: Knex, p: Prepared, snapshot: RoutingSnapshot, attemptsBefore: number, write: WriteLedger, writeBare: WriteLedger = write, fast: FastBatch | null = null) {
    const withAuth = (w: WriteLedger): WriteLedger => (o) => w({ ...o, auth: p.auth }); // every row carries its authentication results
    const writeLedger: WriteLedger = (o) => write({ ...o, attempts: attemptsBefore, auth: p.auth });
    const failed = (err: unknown) => recordFailure(trx, err, attemptsBefore, withAuth(write), withAuth(writeBare), MAX_ATTEMPTS);
    let decision: Decision;
    try {
      decision = decide(p, snapshot, options);
    } catch (err) {
      return failed(err);
    }
    const effects = async (defer: Defer | null) => {
      if (decision.kind !== 'outcome') return applyEffects(trx, decision, writeLedger, snapshot, options.outbound, defer);
      return { id: await writeLedger(decision.outcome), outcome: decision.outcome };
    };
    if (fast) {
      try {
        return await effects(fast.defer);
      } catch (err) {
        throw new WriteAgainSafely(`a mail's writes failed (${errorText(err)}); the batch is written again, each mail under its own savepoint`, { cause: err });
      }
    }
    try {
      // Every mail's writes, a plain outcome's single row included, under a savepoint of its own.
      return await underSavepoint(trx, () => effects(null));
    } catch (err) {
      // another writer recorded this very mail first (a unique index said so): the caller records it as a duplicate, not a failure
      if (isDeskbridgeError(err) && err.code === 'EDUPLICATE') throw err;
      return failed(err);
    }
  }

  const ledgerRow = (mail: IncomingMail, p: Prepared): ledger.NewInbound => ({
    ...mail,
    contentHash: p.hash,
    size: p.size,
    raw: p.tooLarge ? headerBlock(p.raw) : p.raw,
    messageId: p.facts?.messageId ?? null,
    from: p.facts?.fromAddress ?? null,
    subject: p.facts?.subject ?? null,
  });

  const resultOf = (label: string, id: number, o: InboundOutcome, snapshot: RoutingSnapshot): MailResult => ({
    label,
    inboundId: id,
    state: o.state,
    reason: o.reason ?? null,
    ticketId: o.ticketId ?? null,
    system: snapshot.systems.find((s) => s.id === o.systemId)?.slug ?? null,
  });

  /** One batch in one transaction (see `ingest`), written fast (no savepoint per mail, notifications queued together at the end) or safely. */
  function writeBatch(mails: IncomingMail[], prepared: Prepared[], fast: boolean, inTransaction?: (trx: Knex, results: MailResult[]) => Promise<void>): Promise<MailResult[]> {
    const notifications: NewOutboxItem[] = [];
    const fastBatch: FastBatch | null = fast ? { defer: (items) => void notifications.push(...items) } : null;
    const rows = mails.map((mail, i) => ledgerRow(mail, prepared[i]!));
    return db.knex.transaction(async (trx) => {
      const snapshot = await loadSnapshot(trx);
      if (options.parse) latestCandidates = Promise.resolve(profileCandidates(snapshot.systems));
      const originals = await loadDuplicateIndex(trx, rows);
      const results: MailResult[] = [];
      for (let i = 0; i < mails.length; i++) {
        const row = rows[i]!;
        const bare = (o: InboundOutcome) => ledger.insertInbound(trx, { ...row, messageId: null, from: null, subject: null }, o);
        let original = originals.find(row);
        const insert = (o: InboundOutcome) => ledger.insertInbound(trx, row, o);
        let write: WriteLedger = insert;
        // the whole mail again, after one that came over the limit and kept only its headers: it takes that row's place
        // (matched by Message-ID, or by content: a limit under 256 KiB kept the whole file's hash; not by a mailbox UID,
        // which stays on the old row)
        if (original?.partial && original.by !== 'uid' && !prepared[i]!.tooLarge) {
          const partialId = original.id;
          write = (o) => supersedePartial(trx, partialId, () => insert(o));
          original = undefined;
        }
        let done: Awaited<ReturnType<typeof processMail>> | undefined;
        if (!original) {
          try {
            done = await processMail(trx, prepared[i]!, snapshot, 0, write, bare, fastBatch);
          } catch (err) {
            if (!isDeskbridgeError(err) || err.code !== 'EDUPLICATE') throw err; // WriteAgainSafely: the batch is written again
            try {
              original = await originalAfterConflict(trx, row, err); // another process recorded it since the lookup
            } catch (unexplained) {
              // a refusal with no original to point at (or the lookup failed): this mail is failed, the batch goes on
              done = await recordFailure(trx, unexplained, 0, (o) => ledger.insertInbound(trx, row, o), bare, MAX_ATTEMPTS);
            }
          }
        }
        if (original) {
          const reason = `duplicate of #${original.id} (${original.how})`;
          const duplicate: InboundOutcome & { duplicateOf: number } = { state: 'duplicate', reason, duplicateOf: original.id };
          const written = await underSavepoint(trx, async () => ({ id: await ledger.insertInbound(trx, row, duplicate), outcome: duplicate as InboundOutcome })).catch((err) => recordFailure(trx, err, 0, bare, bare, MAX_ATTEMPTS));
          results.push(resultOf(mails[i]!.label, written.id, written.outcome, snapshot));
          continue;
        }
        const { id, outcome } = done!;
        originals.add({ id, ...row }); // a later mail in this batch may repeat this one
        results.push(resultOf(mails[i]!.label, id, outcome, snapshot));
      }
      if (notifications.length) await queueNotifications(trx, notifications);
      await inTransaction?.(trx, results);
      return results;
    });
  }

  /** Queues a batch's notifications in one insert; any failure asks for the batch to be written again safely. */
  async function queueNotifications(trx: Knex, notifications: NewOutboxItem[]): Promise<void> {
    try {
      await enqueueMany(trx, notifications);
    } catch (err) {
      throw new WriteAgainSafely(`queueing the batch's notifications failed (${errorText(err)}); the batch is written again, each notification under its mail's savepoint`, { cause: err });
    }
  }

  return {
    /** Starts parsing a batch (all its mails at once: a parse pool works through them while the caller does other things). */
    prepareBatch(mails: IncomingMail[]): PreparedBatch {
      // a parse pool also applies the sender's profile, off this thread and under its deadline: it needs the systems
      // (the systems the last batch's transaction saw: loading them here would wait, on SQLite, for that transaction's one connection)
      const candidates = !options.parse
        ? Promise.resolve([])
        : (latestCandidates ??= listSystems(db.knex)
            .then(profileCandidates)
            .catch((err: unknown) => {
              latestCandidates = null; // not cached: the next batch asks again
              throw err;
            }));
      const prepared = candidates.then((c) => Promise.all(mails.map((mail) => prepare(mail.raw, options, mail.size, c))));
      prepared.catch(() => {}); // prepare() never rejects; this only keeps a stray rejection from being unhandled
      return { mails, prepared };
    },

    /**
     * Records and processes a batch in one transaction. `inTransaction` runs
     * last inside it (the IMAP cursor is committed there), so the batch's
     * results and the caller's position are committed together or not at all.
     */
    async ingest(batch: IncomingMail[] | PreparedBatch, inTransaction?: (trx: Knex, results: MailResult[]) => Promise<void>): Promise<MailResult[]> {
      const { mails, prepared: parsing } = Array.isArray(batch) ? this.prepareBatch(batch) : batch;
      const prepared = await parsing;
      try {
        return await writeBatch(mails, prepared, true, inTransaction);
      } catch (err) {
        if (!(err instanceof WriteAgainSafely)) throw err;
        return writeBatch(mails, prepared, false, inTransaction); // rolled back whole: again, each mail under its own savepoint
      }
    },

    /**
     * Ingests batches in order, each in its own transaction, until `nextBatch`
     * gives null; the next batches (up to BATCHES_AHEAD) are read and parsed
     * while one is written, which is where a parse pool pays off. `afterEach`
     * sees each committed batch. A batch that cannot be read (`nextBatch`
     * throws: a file gone since it was checked) stops the run once the
     * batches before it are written, and the error is thrown on.
     */
    async ingestInTurn(nextBatch: () => IncomingMail[] | null, afterEach?: (results: MailResult[]) => void): Promise<MailResult[]> {
      const all: MailResult[] = [];
      const queued: PreparedBatch[] = [];
      let unreadable: { error: unknown } | null = null;
      let exhausted = false;
      // more than one batch ahead: the parse worker and this thread each take about as long for a batch, and with one
      // batch ahead whichever was quicker waited for the other at every batch (profiled: ~0.2 s idle on each thread of
      // a 2,500-file call); a lead of two absorbs the batches that happen to be slower on one side
      let heldBytes = 0; // of the batches read and not yet written: those queued and the one being written
      const fill = (upTo: number) => {
        // every slot but the last at once; the last only while the batches held are less than BATCH_BYTES
        while (!exhausted && !unreadable && (queued.length < upTo - 1 || (queued.length < upTo && heldBytes < BATCH_BYTES))) {
          try {
            const batch = nextBatch();
            if (batch) {
              queued.push(this.prepareBatch(batch));
              heldBytes += batchBytes(batch);
            } else exhausted = true;
          } catch (error) {
            unreadable = { error };
          }
        }
      };
      fill(1 + BATCHES_AHEAD);
      for (let current = queued.shift(); current; current = queued.shift()) {
        fill(BATCHES_AHEAD);
        const results = await this.ingest(current);
        heldBytes -= batchBytes(current.mails);
        afterEach?.(results);
        all.push(...results);
      }
      if (unreadable) throw (unreadable as { error: unknown }).error;
      return all;
    },

    /**
     * Runs stored mails through the pipeline again: parked ones after an admin
     * fix, failed ones on the next run, any non-ticket mail on `inbox replay`.
     * Each is claimed by its state inside its transaction (`states`, or the
     * state it had when read): a mail another process handled meanwhile is
     * passed over and missing from the results. With `replayBy`, the row's
     * outcome so far is kept in its history first, and a row that has
     * meanwhile become a ticket event is left alone.
     */
    async reprocess(ids: number[], options2: { resetAttempts: boolean; states?: ReadonlyArray<LedgerState | null>; replayBy?: string }): Promise<MailResult[]> {
      const results: Array<MailResult | null> = [];
      const snapshot = await loadSnapshot(db.knex); // once for the whole replay, as a batch does
      const candidates = profileCandidates(snapshot.systems); // and so the profiles (the parse pool sends one set to its worker once)
      for (const id of ids) {
        const stored = await ledger.getInbound(db.knex, id);
        const raw = await ledger.getRaw(db.knex, id);
        if (!stored || !raw) throw new DeskbridgeError('ENOTFOUND', `inbound #${id} has no stored mail to process`);
        // the stored size, not the stored bytes', decides too_large: a too-large mail was kept as headers only
        const p = await prepare(raw, options, stored.size, candidates, stored.auth);
        results.push(
          await db.knex.transaction(async (trx) => {
            if (!(await claimInState(trx, id, options2.states ?? [stored.state]))) return null;
            const row = await ledger.getInbound(trx, id);
            if (options2.replayBy && row) {
              if (!isReplayable(row.state)) return resultOf(row.sourceRef ?? `#${id}`, id, { state: row.state!, reason: row.reason, ticketId: row.ticketId, systemId: row.systemId }, snapshot);
              await keepOutcome(trx, row, options2.replayBy);
            }
            const update: WriteLedger = async (o) => {
              await ledger.setOutcome(trx, id, o);
              return id;
            };
            const { outcome } = await processMail(trx, p, snapshot, options2.resetAttempts ? 0 : (row?.attempts ?? 0), update);
            return resultOf(row?.sourceRef ?? `#${id}`, id, outcome, snapshot);
          }),
        );
      }
      return results.filter((r): r is MailResult => r !== null);
    },

    /**
     * Retries the `failed` mails, each once: all of them (a run's start), or
     * those `due` says (a run's later retries back off by attempts; `ingest`
     * passes over mails waiting for a configuration fix while it is not made).
     */
    async retryFailed(due?: (row: ledger.InboundRow) => boolean): Promise<MailResult[]> {
      const failed = (await ledger.listInbound(db.knex, { states: ['failed'] })).filter((r) => !due || due(r));
      if (failed.length === 0) return []; // the usual case: no routing snapshot to load for nothing
      return this.reprocess(failed.map((r) => r.id), { resetAttempts: false, states: ['failed'] });
    },
  };
}
export type Pipeline = ReturnType<typeof createPipeline>;
