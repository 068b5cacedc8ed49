// What one mail comes to, decided before anything is written: the hash and
// the one full parse (prepare), then classify → extract → route as pure steps
// over the parsed mail and the routing snapshot (decide). pipeline.ts writes
// the result; keeping the decision apart keeps it testable and the writer short.
import { createHash } from 'node:crypto';
import { classify } from './mail/classify';
import { cleanSubject, extract } from './mail/extract';
import { sanitizeMailHtml } from './mail/html-sanitize';
import { parseMail, type MailAttachment, type MailFacts } from './mail/parse-mail';
import { route } from './route/route';
import type { RoutingSnapshot } from './route/snapshot';
import type { InboundOutcome } from './store/inbound';
import type { System } from './store/systems';
import type { RemoteEvent, RemoteMessage } from './store/ticket-event';

export interface DecideOptions {
  bridgeAddress: string | null;
  maxMessageBytes: number;
  parse?: (raw: Buffer) => Promise<MailFacts>;
}

export interface Prepared {
  raw: Buffer;
  hash: string;
  size: number;
  facts: MailFacts | null;
  tooLarge: boolean;
  parseError: Error | null;
}

/** The header block only: what a too-large mail keeps. */
export function headerBlock(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') + 4 : raw.indexOf('\n\n') >= 0 ? raw.indexOf('\n\n') + 2 : raw.length;
  return raw.subarray(0, Math.min(end, 256 * 1024));
}

export async function prepare(raw: Buffer, options: DecideOptions, declaredSize?: number): Promise<Prepared> {
  const hash = createHash('sha256').update(raw).digest('hex');
  const size = Math.max(raw.length, declaredSize ?? 0);
  const tooLarge = size > options.maxMessageBytes;
  try {
    // The one full parse (or, for a too-large mail, a parse of its headers alone).
    const facts = await (options.parse ?? parseMail)(tooLarge ? headerBlock(raw) : raw);
    return { raw, hash, size, facts, tooLarge, parseError: null };
  } catch (err) {
    return { raw, hash, size, facts: null, tooLarge, parseError: new Error(`cannot parse the mail: ${(err as Error).message}`, { cause: err }) };
  }
}

const toEvent = (v: string | undefined): RemoteEvent | null => (v === 'new' || v === 'reply' || v === 'closed' ? v : null);

/** What one mail comes to, decided before anything is written. */
export type Decision =
  | { kind: 'outcome'; outcome: InboundOutcome }
  | { kind: 'bounce'; outcome: InboundOutcome; originalMessageId: string }
  | { kind: 'staff'; tokenAddress: string | null; ref: StaffRef | null; facts: MailFacts }
  | { kind: 'ticket'; message: RemoteMessage; how: string; note: string; system: System; attachments: MailAttachment[] };

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
  if (p.tooLarge) return done({ state: 'too_large', reason: `${p.size} bytes, over the limit of ${options.maxMessageBytes}; headers kept, body not parsed` });
  if (!p.facts) throw p.parseError ?? new Error('mail was not parsed');
  const facts = p.facts;
  const charsetNote = facts.charsetProblems.length ? `; unknown charset ${facts.charsetProblems.join(', ')} kept raw` : '';
  const verdict = classify(facts, { systems: snapshot.systems, bridgeAddress: options.bridgeAddress });
  switch (verdict.kind) {
    case 'bounce': {
      const outcome: InboundOutcome = { state: 'bounce', reason: verdict.reason };
      return verdict.originalMessageId ? { kind: 'bounce', outcome, originalMessageId: verdict.originalMessageId } : done(outcome);
    }
    case 'own_mail':
      return done({ state: 'own_mail', reason: verdict.reason });
    case 'auto_reply':
      return done({ state: 'auto_reply', reason: verdict.reason, systemId: verdict.system?.id ?? null });
    case 'staff_reply':
      return { kind: 'staff', tokenAddress: verdict.tokenAddress, ref: null, facts }; // verified against the ticket's staff when written
    case 'rejected_sender': {
      // not to a token address, but answering one of our notifications or carrying our [DB#id] tag
      const ref = staffRef(facts);
      return ref ? { kind: 'staff', tokenAddress: null, ref, facts } : done({ state: 'rejected_sender', reason: verdict.reason });
    }
    case 'notification':
      break;
  }
  const system = verdict.system;
  if (!system.enabled) return done({ state: 'parked_disabled', reason: `system ${system.slug} is disabled; \`deskbridge system edit ${system.slug} --enable\`, then \`deskbridge parked replay\``, systemId: system.id });
  const profile = snapshot.profileOf(system);
  const fields = extract(profile, facts);
  const r = route(snapshot.correspondencesOf(system.id), {
    ticket: fields.ticket?.value,
    departmentId: fields.departmentId?.value,
    departmentName: fields.departmentName?.value,
  });
  if (r.kind !== 'mapped') return done({ state: r.kind, reason: `${r.reason}${charsetNote}`, systemId: system.id });
  return {
    kind: 'ticket',
    how: `${system.slug} ticket ${fields.ticket!.value} → ${r.entry.department} (by ${r.by === 'id' ? 'department ID' : 'department name'})`,
    note: charsetNote,
    system,
    attachments: facts.attachments,
    message: {
      systemId: system.id,
      remoteTicketId: fields.ticket!.value,
      departmentId: r.entry.departmentId,
      event: toEvent(fields.event?.value),
      subject: fields.subject?.value ?? cleanSubject(facts.subject, profile),
      customerEmail: fields.customerEmail?.value.toLowerCase() ?? null,
      customerName: fields.customerName?.value ?? null,
      fromAddress: facts.fromAddress,
      fromName: facts.fromName,
      messageId: facts.messageId,
      text: facts.text,
      html: facts.html === null ? null : sanitizeMailHtml(facts.html),
      attachments: facts.attachments,
    },
  };
}
