// One mail's way through the bridge (DESIGN.md "The flow"): ledger → classify
// → parse → route → store. Mails come in batches; a batch is one transaction
// (one commit, which is what lets SQLite go past ~700 mails/s) and each mail
// runs under its own savepoint, so one mail's failure rolls back only its own
// effects: its ledger row stays, marked `failed` with the error, and is
// retried on the next run, parked as `parked_failed` after MAX_ATTEMPTS.
// The raw bytes are in the ledger before any decision is taken, so nothing
// that reached the bridge can be lost.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { DeskbridgeError } from './errors';
import { classify } from './mail/classify';
import { cleanSubject, extract } from './mail/extract';
import { sanitizeMailHtml } from './mail/html-sanitize';
import { parseMail, type MailFacts } from './mail/parse-mail';
import { route } from './route/route';
import { loadSnapshot, type RoutingSnapshot } from './route/snapshot';
import type { Database } from './store/db';
import * as ledger from './store/inbound';
import type { InboundOutcome, InboundSource, LedgerState } from './store/inbound';
import { applyRemoteMessage, type RemoteEvent } from './store/ticket-event';

export const MAX_ATTEMPTS = 3; // a mail that fails this often is parked, so it never blocks the ones after it

export interface IncomingMail extends InboundSource {
  raw: Buffer;
  /** How the caller names the mail in its report: a file name, "stdin", a UID. */
  label: string;
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
}

interface Prepared {
  raw: Buffer;
  hash: string;
  facts: MailFacts | null;
  tooLarge: boolean;
  parseError: Error | null;
}

/** The header block only: what a too-large mail keeps. */
function headerBlock(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') + 4 : raw.indexOf('\n\n') >= 0 ? raw.indexOf('\n\n') + 2 : raw.length;
  return raw.subarray(0, Math.min(end, 256 * 1024));
}

async function prepare(raw: Buffer, options: PipelineOptions): Promise<Prepared> {
  const hash = createHash('sha256').update(raw).digest('hex');
  const tooLarge = raw.length > options.maxMessageBytes;
  try {
    // The one full parse (or, for a too-large mail, a parse of its headers alone).
    const facts = await parseMail(tooLarge ? headerBlock(raw) : raw);
    return { raw, hash, facts, tooLarge, parseError: null };
  } catch (err) {
    return { raw, hash, facts: null, tooLarge, parseError: new Error(`cannot parse the mail: ${(err as Error).message}`, { cause: err }) };
  }
}

const toEvent = (v: string | undefined): RemoteEvent | null => (v === 'new' || v === 'reply' || v === 'closed' ? v : null);

export function createPipeline(db: Database, options: PipelineOptions) {
  async function decideAndStore(trx: Knex, inboundId: number, p: Prepared, snapshot: RoutingSnapshot): Promise<InboundOutcome> {
    if (p.tooLarge) return { state: 'too_large', reason: `${p.raw.length} bytes, over the limit of ${options.maxMessageBytes}; headers kept, body not parsed` };
    if (!p.facts) throw p.parseError ?? new Error('mail was not parsed');
    const facts = p.facts;
    const charsetNote = facts.charsetProblems.length ? `; unknown charset ${facts.charsetProblems.join(', ')} kept raw` : '';
    const verdict = classify(facts, { systems: snapshot.systems, bridgeAddress: options.bridgeAddress });
    switch (verdict.kind) {
      case 'bounce': {
        let reason = verdict.reason;
        if (verdict.originalMessageId) {
          const marked = await trx('outbox')
            .where({ message_id: verdict.originalMessageId })
            .whereIn('state', ['queued', 'sent'])
            .update({ state: 'bounced', last_error: `bounced: see inbound #${inboundId}` });
          if (marked > 0) reason = `${reason}; outbox item bounced`;
        }
        return { state: 'bounce', reason };
      }
      case 'own_mail':
        return { state: 'own_mail', reason: verdict.reason };
      case 'auto_reply':
        return { state: 'auto_reply', reason: verdict.reason, systemId: verdict.system?.id ?? null };
      case 'staff_reply':
        return { state: 'rejected_staff', reason: `to ${verdict.tokenAddress}: staff replies are not relayed by this version` };
      case 'rejected_sender':
        return { state: 'rejected_sender', reason: verdict.reason };
      case 'notification':
        break;
    }
    const system = verdict.system;
    const profile = snapshot.profileOf(system);
    const fields = extract(profile, facts);
    const r = route(snapshot.correspondencesOf(system.id), {
      ticket: fields.ticket?.value,
      departmentId: fields.departmentId?.value,
      departmentName: fields.departmentName?.value,
    });
    if (r.kind !== 'mapped') return { state: r.kind, reason: `${r.reason}${charsetNote}`, systemId: system.id };
    const result = await applyRemoteMessage(trx, {
      systemId: system.id,
      remoteTicketId: fields.ticket!.value,
      departmentId: r.entry.departmentId,
      event: toEvent(fields.event?.value),
      subject: fields.subject?.value ?? cleanSubject(facts.subject, profile),
      customerEmail: fields.customerEmail?.value.toLowerCase() ?? null,
      customerName: fields.customerName?.value ?? null,
      inboundId,
      fromAddress: facts.fromAddress,
      fromName: facts.fromName,
      messageId: facts.messageId,
      text: facts.text,
      html: facts.html === null ? null : sanitizeMailHtml(facts.html),
      attachments: facts.attachments,
    });
    const how = `${system.slug} ticket ${fields.ticket!.value} → ${r.entry.department} (by ${r.by === 'id' ? 'department ID' : 'department name'})`;
    return { state: result.state, reason: `${how}${result.reopened ? ', reopened' : ''}${charsetNote}`, systemId: system.id, ticketId: result.ticketId };
  }

  /** Runs one mail under a savepoint; a throw becomes `failed` (or `parked_failed`) with the error. */
  async function processRow(trx: Knex, inboundId: number, p: Prepared, snapshot: RoutingSnapshot, attemptsBefore: number): Promise<InboundOutcome> {
    // A plain SAVEPOINT rather than a knex nested transaction: the same
    // guarantee, without building a transaction object per mail (profiled).
    await trx.raw('SAVEPOINT deskbridge_mail');
    try {
      const outcome = await decideAndStore(trx, inboundId, p, snapshot);
      await trx.raw('RELEASE SAVEPOINT deskbridge_mail');
      return { ...outcome, attempts: attemptsBefore };
    } catch (err) {
      await trx.raw('ROLLBACK TO SAVEPOINT deskbridge_mail');
      await trx.raw('RELEASE SAVEPOINT deskbridge_mail');
      const attempts = attemptsBefore + 1;
      const message = (err as Error)?.message ?? String(err);
      return {
        state: attempts >= MAX_ATTEMPTS ? 'parked_failed' : 'failed',
        reason: attempts >= MAX_ATTEMPTS ? `failed ${attempts} times, parked: ${message}` : `attempt ${attempts} of ${MAX_ATTEMPTS}: ${message}`,
        attempts,
      };
    }
  }

  async function record(trx: Knex, mail: IncomingMail, p: Prepared, snapshot: RoutingSnapshot): Promise<MailResult> {
    const row: ledger.NewInbound = {
      ...mail,
      contentHash: p.hash,
      size: p.raw.length,
      raw: p.tooLarge ? headerBlock(p.raw) : p.raw,
      messageId: p.facts?.messageId ?? null,
      from: p.facts?.fromAddress ?? null,
      subject: p.facts?.subject ?? null,
    };
    const original = await ledger.findOriginal(trx, row);
    if (original) {
      const reason = `duplicate of #${original.id} (${original.how})`;
      const id = await ledger.insertInbound(trx, row, { of: original.id, reason });
      return { label: mail.label, inboundId: id, state: 'duplicate', reason, ticketId: null, system: null };
    }
    const id = await ledger.insertInbound(trx, row);
    const outcome = await processRow(trx, id, p, snapshot, 0);
    await ledger.setOutcome(trx, id, outcome);
    return resultOf(mail.label, id, outcome, snapshot);
  }

  const resultOf = (label: string, id: number, o: InboundOutcome, snapshot: RoutingSnapshot): MailResult => ({
    label,
    inboundId: id,
    state: o.state,
    reason: o.reason ?? null,
    ticketId: o.ticketId ?? null,
    system: snapshot.systems.find((s) => s.id === o.systemId)?.slug ?? null,
  });

  return {
    /**
     * Records and processes a batch in one transaction. `inTransaction` runs
     * last inside it (the IMAP cursor is committed there), so the batch's
     * results and the caller's position are committed together or not at all.
     */
    async ingest(mails: IncomingMail[], inTransaction?: (trx: Knex, results: MailResult[]) => Promise<void>): Promise<MailResult[]> {
      const prepared: Prepared[] = [];
      for (const mail of mails) prepared.push(await prepare(mail.raw, options));
      return db.knex.transaction(async (trx) => {
        const snapshot = await loadSnapshot(trx);
        const results: MailResult[] = [];
        for (let i = 0; i < mails.length; i++) results.push(await record(trx, mails[i]!, prepared[i]!, snapshot));
        await inTransaction?.(trx, results);
        return results;
      });
    },

    /** Runs stored mails through the pipeline again: parked ones after an admin fix, failed ones on the next run. */
    async reprocess(ids: number[], options2: { resetAttempts: boolean }): Promise<MailResult[]> {
      const results: MailResult[] = [];
      const snapshot = await loadSnapshot(db.knex); // once for the whole replay, as a batch does
      for (const id of ids) {
        const raw = await ledger.getRaw(db.knex, id);
        if (!raw) throw new DeskbridgeError('ENOTFOUND', `inbound #${id} has no stored mail to process`);
        const p = await prepare(raw, options);
        results.push(
          await db.knex.transaction(async (trx) => {
            const row = await ledger.getInbound(trx, id);
            const outcome = await processRow(trx, id, p, snapshot, options2.resetAttempts ? 0 : (row?.attempts ?? 0));
            await ledger.setOutcome(trx, id, outcome);
            return resultOf(row?.sourceRef ?? `#${id}`, id, outcome, snapshot);
          }),
        );
      }
      return results;
    },

    /** Retries every `failed` mail once (called at the start of each run). */
    async retryFailed(): Promise<MailResult[]> {
      const failed = await ledger.listInbound(db.knex, { states: ['failed'] });
      return this.reprocess(failed.map((r) => r.id), { resetAttempts: false });
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
