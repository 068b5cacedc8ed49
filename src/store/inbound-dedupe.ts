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
import { toNumberOrNull as num } from './values';

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
}

interface Candidate extends DedupeKeys {
  id: number;
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
      { c: this.byUid.get(uidKey(mail) ?? ''), how: `same mailbox UID ${mail.uid}` },
      { c: this.byHash.get(mail.contentHash), how: 'same content' },
      { c: this.byMessageId.get(idKey(mail) ?? ''), how: `same Message-ID ${mail.messageId}` },
    ].filter((h): h is { c: Candidate; how: string } => h.c !== undefined);
    if (hits.length === 0) return undefined;
    const earliest = Math.min(...hits.map((h) => h.c.id));
    // the first listed reason that points at the earliest row names how it matched
    return { id: earliest, how: hits.find((h) => h.c.id === earliest)!.how };
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
    .select('id', 'content_hash', 'message_id', 'from_address', 'mailbox', 'uidvalidity', 'uid')
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
