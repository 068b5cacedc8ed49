// What one mail comes to, decided before anything is written: the hash and
// the one full parse (prepare), then classify → extract → route as pure steps
// over the parsed mail and the routing snapshot (decide). pipeline.ts writes
// the result; keeping the decision apart keeps it testable and the writer short.
import { createHash } from 'node:crypto';
import { judgeSender } from './auth/policy';
import { defaultAuthenticate, type Authenticate, type SenderAuth } from './auth/sender-auth';
import { DeskbridgeError } from './errors';
import { classify } from './mail/classify';
import { relayReferences } from './mail/echo-detect';
import { cleanSubject, extract } from './mail/extract';
import { sanitizeMailHtml } from './mail/html-sanitize';
import type { ProfileCandidate } from './mail/mail-work';
import { systemProfile } from './mail/profiles';
import { oneLine, type MailAttachment, type MailFacts } from './mail/mail-facts';
import { MAX_HEADER_BYTES } from './mail/header-bound';
import { parseMail } from './mail/parse-mail';
import { route } from './route/route';
import type { RoutingSnapshot } from './route/snapshot';
import type { InboundOutcome } from './store/inbound';
import type { System } from './store/systems';
import type { RemoteEvent, RemoteMessage } from './store/ticket-event';

export interface DecideOptions {
  bridgeAddress: string | null;
  maxMessageBytes: number;
  /** A parse pool's parse: it also sanitises the HTML and applies the sender's profile among `candidates`, under a deadline. */
  parse?: (raw: Buffer, candidates?: readonly ProfileCandidate[]) => Promise<MailFacts>;
  /** Sender authentication (src/auth/); without it, DKIM/DMARC through the system resolver and no trusted receiver. */
  authenticate?: Authenticate;
}

/** The systems a mail may come from, with their profiles, for the parse pool's worker; a system whose stored profile is broken is left out (decide reports it). */
export function profileCandidates(systems: readonly System[]): ProfileCandidate[] {
  return systems.flatMap((s) => {
    try {
      if (!s.enabled) return [];
      const profile = systemProfile(s);
      return [{ id: s.id, slug: s.slug, from: s.from, enabled: s.enabled, profile, profileKey: JSON.stringify(profile) }];
    } catch {
      return [];
    }
  });
}

export interface Prepared {
  raw: Buffer;
  hash: string;
  size: number;
  facts: MailFacts | null;
  tooLarge: boolean;
  parseError: Error | null;
  /** The intake limit the mail is past (MIME parts, depth, header size, time), named; the mail is recorded too_large. */
  limit?: string | null;
  /** Who authenticated the mail; null for a too-large or unparsable mail. */
  auth: SenderAuth | null;
}

/** The header block only: what a too-large mail keeps. */
export function headerBlock(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') + 4 : raw.indexOf('\n\n') >= 0 ? raw.indexOf('\n\n') + 2 : raw.length;
  return raw.subarray(0, Math.min(end, MAX_HEADER_BYTES));
}

/**
 * Hashes, parses and authenticates one mail. `storedAuth` (a replay) is used
 * again unless it was a temporary error: a DKIM key rotated since the mail
 * came must not turn an authentic mail into a forgery.
 */
export async function prepare(raw: Buffer, options: DecideOptions, declaredSize?: number, candidates?: readonly ProfileCandidate[], storedAuth?: SenderAuth | null): Promise<Prepared> {
  const size = Math.max(raw.length, declaredSize ?? 0);
  // A mail read in part (its head: it is past the size limit) is known by what was read and its full size: never
  // the same content as a whole mail of those bytes, nor as a large mail of another size that begins the same way.
  const digest = createHash('sha256');
  if (size > raw.length) digest.update(`deskbridge-partial:${size}\0`);
  const hash = digest.update(raw).digest('hex');
  // Held in part (a reader took its head only, or a replay of a row that kept its headers): too large whatever the
  // limit is now. Decided on the head, a mail over an earlier, lower limit became a ticket event with no body.
  const tooLarge = size > options.maxMessageBytes || size > raw.length;
  let facts: MailFacts;
  try {
    // The one full parse (or, for a too-large mail, a parse of its headers alone).
    const body = tooLarge ? headerBlock(raw) : raw;
    facts = await (options.parse ? options.parse(body, candidates) : parseMail(body));
  } catch (err) {
    if ((err as { code?: string }).code === 'ELIMIT') return { raw, hash, size, facts: null, tooLarge, parseError: null, limit: (err as Error).message, auth: null };
    // an overrun (final: parked as it is) or a stop (ESTOPPED: not the mail's fault, retried uncounted) keeps its own meaning
    if ((err as { final?: boolean }).final || (err as { code?: string }).code === 'ESTOPPED') return { raw, hash, size, facts: null, tooLarge, parseError: err as Error, auth: null };
    return { raw, hash, size, facts: null, tooLarge, parseError: new Error(`cannot parse the mail: ${(err as Error).message}`, { cause: err }), auth: null };
  }
  if (tooLarge) return { raw, hash, size, facts, tooLarge, parseError: null, auth: null };
  const reuse = storedAuth && judgeSender(storedAuth).kind !== 'temporary';
  const auth = reuse ? storedAuth : await (options.authenticate ?? defaultAuthenticate)(raw);
  return { raw, hash, size, facts, tooLarge, parseError: null, auth };
}

const toEvent = (v: string | undefined): RemoteEvent | null => (v === 'new' || v === 'reply' || v === 'closed' ? v : null);

/** What one mail comes to, decided before anything is written. */
export type Decision =
  | { kind: 'outcome'; outcome: InboundOutcome }
  | { kind: 'bounce'; outcome: InboundOutcome; originalMessageId: string; failedRecipients: string[] }
  | { kind: 'staff'; tokenAddress: string | null; ref: StaffRef | null; facts: MailFacts; auth: SenderAuth | null }
  | { kind: 'ticket'; message: RemoteMessage; how: string; note: string; system: System; attachments: MailAttachment[]; /** set when routed by ticket: the outcome if there is no local ticket to follow */ unmapped?: InboundOutcome; /** our relays it names: an echo if it also carries their text */ relayRefs: string[] };

/** How a mail not sent to a token address may still name a ticket: our notification's Message-ID in In-Reply-To/References, or the [DB#id] tag. */
export interface StaffRef {
  references: string[];
  tag: number | null;
}

const TAG_RE = /\[DB#(\d{1,12})\]/;
const OUR_NOTIFICATION_RE = /^<deskbridge\.n\.\d+\./; // newMessageId('n', …) in outbound/compose.ts

function staffRef(facts: MailFacts): StaffRef | null {
  const references = [facts.inReplyTo, ...facts.references].filter((id): id is string => !!id && OUR_NOTIFICATION_RE.test(id));
  const tag = TAG_RE.exec(facts.subject);
  return references.length || tag ? { references: [...new Set(references)], tag: tag ? Number(tag[1]) : null } : null;
}

export function decide(p: Prepared, snapshot: RoutingSnapshot, options: DecideOptions): Decision {
  const done = (outcome: InboundOutcome): Decision => ({ kind: 'outcome', outcome });
  if (p.tooLarge && p.size > options.maxMessageBytes) return done({ state: 'too_large', reason: `${p.size} bytes, over the limit of ${options.maxMessageBytes}; headers kept, body not parsed` });
  // within today's limit, but only its headers were kept when it came: the whole mail, ingested again, takes its place
  if (p.tooLarge) return done({ state: 'too_large', reason: `${p.size} bytes, over the limit when it came; only its headers were kept: ingest the whole mail again to process it` });
  if (p.limit) return done({ state: 'too_large', reason: `${p.limit}; kept whole, not processed` });
  if (!p.facts) throw p.parseError ?? new Error('mail was not parsed');
  const facts = p.facts;
  const charsetNote = facts.charsetProblems.length ? `; unknown charset ${facts.charsetProblems.join(', ')} kept raw` : '';
  const verdict = classify(facts, { systems: snapshot.systems, bridgeAddress: options.bridgeAddress });
  switch (verdict.kind) {
    case 'bounce': {
      const outcome: InboundOutcome = { state: 'bounce', reason: verdict.reason };
      // a delay warning marks nothing: the mail may still arrive
      return verdict.originalMessageId && !verdict.delayed ? { kind: 'bounce', outcome, originalMessageId: verdict.originalMessageId, failedRecipients: verdict.failedRecipients } : done(outcome);
    }
    case 'own_mail':
      return done({ state: 'own_mail', reason: verdict.reason });
    case 'auto_reply':
      return done({ state: 'auto_reply', reason: verdict.reason, systemId: verdict.system?.id ?? null });
    case 'staff_reply':
      return { kind: 'staff', tokenAddress: verdict.tokenAddress, ref: null, facts, auth: p.auth }; // verified against the ticket's staff when written
    case 'rejected_sender': {
      // not to a token address, but answering one of our notifications or carrying our [DB#id] tag
      const ref = staffRef(facts);
      return ref ? { kind: 'staff', tokenAddress: null, ref, facts, auth: p.auth } : done({ state: 'rejected_sender', reason: verdict.reason });
    }
    case 'notification':
      break;
  }
  const system = verdict.system;
  if (!system.enabled) return done({ state: 'parked_disabled', reason: `system ${system.slug} is disabled; \`deskbridge system edit ${system.slug} --enable\`, then \`deskbridge parked replay\``, systemId: system.id });
  if (system.auth === 'dmarc') {
    // the allowlist named a system by its From; only an authenticated From may speak for it
    const v = judgeSender(p.auth, facts.fromAddress);
    if (v.kind === 'temporary') throw new DeskbridgeError('EDNS', v.reason);
    if (v.kind === 'fail') return done({ state: 'parked_unauthenticated', reason: `${system.slug} requires --auth dmarc; ${v.reason}`, systemId: system.id });
  }
  const profile = snapshot.profileOf(system);
  const worked = facts.work?.extraction;
  const fields = worked && worked.systemId === system.id && worked.profileKey === JSON.stringify(profile) ? worked.fields : extract(profile, facts);
  const r = route(snapshot.correspondencesOf(system.id), {
    ticket: fields.ticket?.value,
    departmentId: fields.departmentId?.value,
    departmentName: fields.departmentName?.value,
  });
  if (r.kind !== 'mapped' && r.kind !== 'by_ticket') return done({ state: r.kind, reason: `${r.reason}${charsetNote}`, systemId: system.id });
  return {
    kind: 'ticket',
    how: r.kind === 'mapped' ? `${system.slug} ticket ${fields.ticket!.value} → ${r.entry.department} (by ${r.by === 'id' ? 'department ID' : 'department name'})` : `${system.slug} ticket ${fields.ticket!.value}`,
    ...(r.kind === 'by_ticket' && { unmapped: { state: 'parked_unmapped', reason: `${r.reason}${charsetNote}`, systemId: system.id } }),
    note: charsetNote,
    relayRefs: relayReferences(facts),
    system,
    attachments: facts.attachments,
    message: {
      systemId: system.id,
      remoteTicketId: fields.ticket!.value,
      departmentId: r.kind === 'mapped' ? r.entry.departmentId : null,
      event: toEvent(fields.event?.value),
      subject: oneLine(fields.subject?.value ?? cleanSubject(facts.subject, profile)),
      customerEmail: fields.customerEmail ? oneLine(fields.customerEmail.value).toLowerCase() : null,
      customerName: fields.customerName ? oneLine(fields.customerName.value) : null,
      fromAddress: facts.fromAddress,
      fromName: facts.fromName,
      messageId: facts.messageId,
      text: facts.text,
      html: facts.work ? facts.work.safeHtml : facts.html === null ? null : sanitizeMailHtml(facts.html),
      attachments: facts.attachments,
    },
  };
}
