// Duplicate detection for a batch of mails with one query instead of one per
// mail (the ingest profile showed the per-mail lookup as the costliest
// statement). A mail repeats an earlier ledger row when it has the same
// mailbox UID, the same Message-ID from the same sender, or the same bytes;
// the earliest such row is the original. Rows recorded earlier in the same
// batch count as well: `add` puts them in the index as they are written.
// This lookup is the fast path, not the guarantee: another process may write
// the same mail after the lookup. Unique indexes over the originals
// (migration 20261130120100) refuse that second write, and
// `originalAfterConflict` then finds the row that won, so the mail is
// recorded as `duplicate` of it.
import type { Knex } from 'knex';
import { DeskbridgeError, isDeskbridgeError } from '../errors';
import { COLUMN_LIMITS as MAX, fitText } from './column-limits';
import { getInbound } from './inbound';
import { keepOutcome } from './inbound-history';
import { nowIso, toNumberOrNull as num } from './values';

export interface DedupeKeys {
  contentHash: string;
  messageId: string | null;
  from: string | null;
  mailbox?: string | null;
  uidvalidity?: number | null;
  uid?: number | null;
}

export interface Original {
  id: number;
  how: string;
  /** Which key matched the original (the first of UID, content, Message-ID that points at it). */
  by: 'uid' | 'content' | 'messageId';
  /** The original is a too_large row that kept only its headers: the whole mail, come again, takes its place. */
  partial: boolean;
}

interface Candidate extends DedupeKeys {
  id: number;
  partial?: boolean;
}

// keys as the columns store them: an over-long Message-ID or address is kept cut (column-limits.ts), so it is compared cut
const storedId = (messageId: string) => fitText(messageId, MAX.messageId);
const storedFrom = (from: string) => fitText(from, MAX.address);
const idKey = (k: DedupeKeys) => (k.messageId && k.from ? `${storedId(k.messageId)}\u0001${storedFrom(k.from)}` : null);
const uidKey = (k: DedupeKeys) => (k.mailbox && k.uid != null ? `${k.mailbox}\u0001${k.uidvalidity ?? ''}\u0001${k.uid}` : null);

/** In-memory index over the candidate originals; pure, so it is tested without a database. */
export class DuplicateIndex {
  private readonly byHash = new Map<string, Candidate>();
  private readonly byMessageId = new Map<string, Candidate>();
  private readonly byUid = new Map<string, Candidate>();

  /** Adds a ledger row that is not itself a duplicate; the earliest row per key wins. */
  add(c: Candidate): void {
    const keep = (map: Map<string, Candidate>, key: string | null) => {
      if (key === null) return;
      const there = map.get(key);
      if (!there || there.id > c.id) map.set(key, c);
    };
    keep(this.byHash, c.contentHash);
    keep(this.byMessageId, idKey(c));
    keep(this.byUid, uidKey(c));
  }

  find(mail: DedupeKeys): Original | undefined {
    const hits = [
      { c: this.byUid.get(uidKey(mail) ?? ''), how: `same mailbox UID ${mail.uid}`, by: 'uid' as const },
      { c: this.byHash.get(mail.contentHash), how: 'same content', by: 'content' as const },
      { c: this.byMessageId.get(idKey(mail) ?? ''), how: `same Message-ID ${mail.messageId}`, by: 'messageId' as const },
    ].filter((h): h is { c: Candidate; how: string; by: Original['by'] } => h.c !== undefined);
    if (hits.length === 0) return undefined;
    const earliest = Math.min(...hits.map((h) => h.c.id));
    // the first listed reason that points at the earliest row names how it matched
    const hit = hits.find((h) => h.c.id === earliest)!;
    return { id: earliest, how: hit.how, by: hit.by, partial: hit.c.partial === true };
  }
}

/** One query for the ledger rows any of these mails could repeat. */
export async function loadDuplicateIndex(knex: Knex, mails: readonly DedupeKeys[]): Promise<DuplicateIndex> {
  const index = new DuplicateIndex();
  if (mails.length === 0) return index;
  const hashes = [...new Set(mails.map((m) => m.contentHash))];
  const messageIds = [...new Set(mails.filter((m) => m.messageId && m.from).map((m) => storedId(m.messageId!)))];
  const uidsByMailbox = new Map<string, number[]>();
  for (const m of mails) if (m.mailbox && m.uid != null) uidsByMailbox.set(m.mailbox, [...(uidsByMailbox.get(m.mailbox) ?? []), m.uid]);
  const rows: Array<Record<string, unknown>> = await knex('inbound')
    .select('id', 'content_hash', 'message_id', 'from_address', 'mailbox', 'uidvalidity', 'uid', 'state', 'size', knex.raw('length(??) as raw_length', ['raw']))
    .whereNull('duplicate_of')
    .where((w) => {
      w.whereIn('content_hash', hashes);
      if (messageIds.length) w.orWhereIn('message_id', messageIds);
      for (const [mailbox, uids] of uidsByMailbox) w.orWhere((u) => u.where('mailbox', mailbox).whereIn('uid', uids));
    });
  for (const r of rows) {
    index.add({
      id: Number(r.id),
      contentHash: String(r.content_hash),
      messageId: (r.message_id as string) ?? null,
      from: (r.from_address as string) ?? null,
      mailbox: (r.mailbox as string) ?? null,
      uidvalidity: num(r.uidvalidity),
      uid: num(r.uid),
      // kept as headers only (stored bytes shorter than the mail): recorded too_large, never processed
      partial: r.state === 'too_large' && Number(r.size) > Number(r.raw_length ?? 0),
    });
  }
  return index;
}

/**
 * The original behind a ledger insert that a unique index refused
 * (EDUPLICATE from insertInbound): committed by another writer after this
 * batch's lookup, so a fresh statement sees it. Any other error is rethrown.
 */
export async function originalAfterConflict(knex: Knex, mail: DedupeKeys, err: unknown): Promise<Original> {
  if (!isDeskbridgeError(err) || err.code !== 'EDUPLICATE') throw err;
  const found = (await loadDuplicateIndex(knex, [mail])).find(mail);
  if (!found) throw new DeskbridgeError('EINTERNAL', `a unique index refused ${mail.messageId ?? mail.contentHash}, but no original is visible`, { cause: err });
  return found;
}

/**
 * Writes the whole mail (`insert`) in the place of an earlier row that kept
 * only its headers (too_large, over the limit when it came; `partial` above):
 * that row is made a duplicate of the new one, its too_large outcome kept in
 * its history, so the mail is one original again and a third copy is the new
 * row's duplicate. The row is first taken out of the originals (pointed at
 * itself) so the unique indexes let the new row in; taken by another writer
 * meanwhile (or no longer too_large), it is left alone, and the insert meets
 * whatever original now holds the key (EDUPLICATE, as any conflict). Run
 * inside the mail's transaction or savepoint: all of it, or none.
 */
export async function supersedePartial(knex: Knex, partialId: number, insert: () => Promise<number>): Promise<number> {
  const taken = await knex('inbound').where({ id: partialId, state: 'too_large' }).whereNull('duplicate_of').update({ duplicate_of: partialId });
  const id = await insert();
  if (taken === 0) return id;
  const row = await getInbound(knex, partialId);
  if (row) await keepOutcome(knex, row, `the whole mail, ingested again as #${id}`);
  await knex('inbound')
    .where({ id: partialId })
    .update({ state: 'duplicate', reason: `superseded by #${id}: the whole mail, ingested again (only its headers were kept here)`, duplicate_of: id, processed_at: nowIso() });
  return id;
}
