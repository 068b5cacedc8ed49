// A staff member's e-mail reply (DESIGN.md flow step 8): accepted only when
// it names a ticket (a token that verifies for its sender, or a reference)
// AND auth/staff-gate.ts lets it through (staff of the ticket's department,
// authenticated or through their own token, by the department's policy); then stored on the ticket (quotes and
// signature stripped) and relayed to the system's relay address in the form
// that system files under its own ticket: its profile's relaySubject and
// relayHeaders, In-Reply-To/References of the last remote notification, the
// relay (or close) template, the staff's attachments, the loop header and no
// Auto-Submitted (a person's words); queued with its words rendered and
// composed by the worker that first sends it (relay-mail.ts). `#close` on the first line closes the
// ticket and relays the close template. More than RELAY_LIMIT relays for one
// ticket within an hour parks the rest as `loop_suspected`.
import type { Knex } from 'knex';
import { staffGate } from '../auth/staff-gate';
import type { SenderAuth } from '../auth/sender-auth';
import { DeskbridgeError } from '../errors';
import type { MailFacts } from '../mail/parse-mail';
import { closeCommand, ownWords } from '../mail/quote-strip';
import type { RoutingSnapshot } from '../route/snapshot';
import type { InboundOutcome } from '../store/inbound';
import { countRecentRelays, enqueue, notificationsByMessageId } from '../store/outbox';
import type { StaffRef } from '../decide';
import { appendMessage, getTicket, updateTicket, type Ticket } from '../store/tickets';
import { newMessageId } from './compose';
import { noticeStaff } from './staff-notice';
import { DEFAULT_DEADLINE_MS } from './delivery-error';
import type { Outbound } from './notify';
import type { TicketVars } from './render';
import { localCloseNotice } from './local-close-notice';
import { DEFAULT_RELAY_FROM, relayShape, withFirstLines } from './relay-form';
import type { RelayRendering } from './relay-mail';
import { tokenOf, verifyToken, withoutTokens } from './reply-token';

export const RELAY_LIMIT_PER_HOUR = 20; // a person does not answer one ticket 20 times an hour; two bridges in a loop do


export interface StaffReplyInput {
  tokenAddress: string | null;
  ref: StaffRef | null;
  facts: MailFacts;
  auth: SenderAuth | null;
}

/**
 * The ticket a staff reply names, and how: a token (which must verify for
 * this sender: a bad one is refused, never rescued by what follows), else our
 * notification in its references, else the [DB#id] tag.
 */
async function ticketNamed(trx: Knex, input: StaffReplyInput, outbound: Outbound): Promise<{ ticketId: number; via: string } | { error: string }> {
  if (input.tokenAddress) {
    const token = tokenOf(input.tokenAddress, outbound.address);
    const ticketId = token ? verifyToken(token, input.facts.fromAddress ?? '', outbound.secret) : null;
    return ticketId === null ? { error: `to ${input.tokenAddress}: the reply token does not verify for ${input.facts.fromAddress ?? 'a mail without From'}` } : { ticketId, via: 'token' };
  }
  const byReference = await notificationsByMessageId(trx, input.ref?.references ?? []);
  const referenced = [...byReference.values()][0];
  if (referenced !== undefined) return { ticketId: referenced, via: 'In-Reply-To/References' };
  if (input.ref?.tag != null) return { ticketId: input.ref.tag, via: `[DB#${input.ref.tag}] in the subject` };
  return { error: 'names no ticket' };
}

const rejected = (reason: string): InboundOutcome => ({ state: 'rejected_staff', reason });

function ticketVars(t: Ticket, snapshot: RoutingSnapshot): TicketVars {
  const system = snapshot.systems.find((s) => s.id === t.systemId);
  const department = snapshot.department(t.departmentId);
  return {
    id: t.id,
    remoteTicketId: t.remoteTicketId,
    subject: t.subject,
    status: t.status,
    department: t.department,
    departmentName: department?.name ?? t.department,
    system: t.system,
    systemName: system?.name ?? t.system,
    customerEmail: t.customerEmail ?? '',
    customerName: t.customerName ?? '',
  };
}

/** Verifies, stores and relays one staff reply; the ledger row is written through `writeLedger`. */
export async function handleStaffReply(
  trx: Knex,
  input: StaffReplyInput,
  writeLedger: (o: InboundOutcome) => Promise<number>,
  snapshot: RoutingSnapshot,
  outbound: Outbound | null | undefined,
): Promise<{ id: number; outcome: InboundOutcome }> {
  const write = async (o: InboundOutcome) => ({ id: await writeLedger(o), outcome: o });
  if (!outbound) return write(rejected(`${input.tokenAddress ? `to ${input.tokenAddress}: ` : ''}DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET are needed to accept staff replies`));
  // a refusal is told to the sender when it is authenticated staff (staff-notice.ts), never to a forged From
  const refuse = async (reason: string, ticketId: number | null) => {
    const f = input.facts;
    const note = await noticeStaff(trx, outbound, { to: f.fromAddress ?? '', name: f.fromName, auth: input.auth, subject: f.subject, inReplyTo: f.messageId, reason, ticketId });
    return write(rejected(`${reason}; ${note}`));
  };
  const named = await ticketNamed(trx, input, outbound);
  if ('error' in named) return refuse(named.error, null);
  const { ticketId } = named;
  const ticket = await getTicket(trx, ticketId, false);
  if (!ticket) return refuse(`ticket #${ticketId} (by ${named.via}) does not exist`, null);
  const department = snapshot.department(ticket.departmentId);
  const from = input.facts.fromAddress ?? '';
  const gate = staffGate({ via: named.via === 'token' ? 'token' : 'reference', from, onStaff: !!department?.staff.includes(from), auth: input.auth, policy: department?.staffAuth ?? null, department: ticket.department });
  if (gate.kind === 'temporary') throw new DeskbridgeError('EDNS', gate.reason); // `failed`, tried again
  if (gate.kind === 'fail') return refuse(`${gate.reason} (ticket #${ticketId})`, ticketId);
  const system = snapshot.systems.find((s) => s.id === ticket.systemId)!;

  // the staff member's own words, any reply-token address in them written as the bare bridge address
  const { close, text: own } = closeCommand(ownWords(input.facts.text));
  const text = withoutTokens(own, outbound.address);
  // a bare quote sent back (Send pressed on the notification): nothing of the member's to relay, and what a quote-keeping
  // strip kept was the notification itself
  if (!close && !text.trim() && input.facts.attachments.length === 0) return refuse(`no words of its own (only the quoted mail), nothing relayed (ticket #${ticketId})`, ticketId);
  const reopen = !close && ticket.status === 'closed';
  const localOnly = close && snapshot.profileOf(system).relayClose === false;
  const recent = await countRecentRelays(trx, ticketId, new Date(Date.now() - 60 * 60_000));
  const loop = recent >= RELAY_LIMIT_PER_HOUR;
  const relayed = localOnly && !text.trim() ? 'nothing relayed' : loop ? `relay parked: loop_suspected (${recent} relays in the last hour)` : `relayed to ${system.relayTo}`;
  const outcome: InboundOutcome = {
    state: 'staff_reply',
    reason: `${from} on ticket #${ticketId}${named.via === 'token' ? '' : ` (by ${named.via})`}${close ? (localOnly ? `, closes it here only (${system.slug} has no close by mail; staff told)` : ', closes it') : reopen ? ', reopens it' : ''}; ${relayed}`,
    systemId: system.id,
    ticketId,
  };
  const inboundId = await writeLedger(outcome);
  if (reopen) await appendMessage(trx, { ticketId, inboundId, direction: 'event', event: 'reopened', fromAddress: null, fromName: null, messageId: null, text: `reopened by ${from}'s reply`, html: null });
  const messageId = await appendMessage(trx, {
    ticketId,
    inboundId,
    direction: 'staff',
    event: close ? 'closed' : 'reply',
    fromAddress: from,
    fromName: input.facts.fromName,
    messageId: input.facts.messageId,
    text,
    html: null,
    attachments: input.facts.attachments,
  });
  if (close || reopen) await updateTicket(trx, ticketId, { status: close ? 'closed' : 'open' });

  const staff = { address: from, name: department?.staffNames?.[from] ?? input.facts.fromName ?? from };
  const relay = await queueRelay(trx, { ticket, snapshot, outbound, close, reopen, text, staff, attachments: input.facts.attachments.length, sourceMessageId: messageId, loop: loop ? recent : null });
  if (relay.closedLocallyOnly) await localCloseNotice(trx, outbound, { ticket: ticketVars(ticket, snapshot), to: from, relayed: relay.outboxId !== null });
  return { id: inboundId, outcome };
}

export interface RelayInput {
  ticket: Ticket;
  snapshot: RoutingSnapshot;
  outbound: Outbound;
  close: boolean;
  /** The ticket was closed here and this relay reopens it (said in the profile's relayReopen form, if it has one). */
  reopen?: boolean;
  text: string;
  staff: { address: string; name: string };
  /** The staff message the relay carries (messages.id), with its attachments; null: none (no words stored, no attachments). */
  sourceMessageId: number | null;
  /** How many attachments that message has (they go with the relay). */
  attachments: number;
  /** The relay count of the last hour when it is over the limit: the row is parked as loop_suspected. */
  loop: number | null;
}

/** What queueRelay did: the outbox row (none for a close the system cannot take by mail and no words), and whether the close stays local. */
export interface RelayResult {
  outboxId: number | null;
  closedLocallyOnly: boolean;
}

/** Queues the relay (or close, or reopen) mail for a ticket to its system, in that system's form (relay-form.ts). */
export async function queueRelay(trx: Knex, r: RelayInput): Promise<RelayResult> {
  const { ticket, snapshot, outbound } = r;
  const system = snapshot.systems.find((s) => s.id === ticket.systemId)!;
  const profile = snapshot.profileOf(system);
  const intent = r.close ? 'close' : r.reopen ? 'reopen' : 'reply';
  const shape = relayShape(profile, intent);
  // a system with no close by mail: the close is local; words written with it still go, in the close template, as correspondence
  const form = shape ?? { ...relayShape(profile, 'reply')!, kind: 'close' as const, template: 'close' as const };
  if (!shape && !r.text.trim()) return { outboxId: null, closedLocallyOnly: true };
  const tv = ticketVars(ticket, snapshot);
  const vars = { ticket: { ...tv, status: r.close ? 'closed' : ticket.status }, reply: { text: r.text }, staff: r.staff };
  const subjectVars = { remoteTicketId: ticket.remoteTicketId, subject: ticket.subject, ticketId: ticket.id };
  const line = (template: string) => outbound.templates.subject(template, subjectVars);
  const subject = line(form.subject);
  const extraHeaders = Object.fromEntries(Object.entries(form.headers).map(([k, v]) => [k, line(v)]));
  const body = withFirstLines(outbound.templates.render(form.template, vars), form.firstLines.map(line));
  const fromName = outbound.templates.subject(profile.relayFrom ?? DEFAULT_RELAY_FROM, { staff: r.staff, department: { name: tv.departmentName, slug: tv.department }, system: { name: tv.systemName, slug: tv.system } });
  const relayId = newMessageId(form.kind === 'close' ? 'c' : 'r', ticket.id, outbound.address);
  if (r.attachments > 0 && r.sourceMessageId === null) throw new Error('a relay with attachments needs the staff message that carries them');
  const renderInput: RelayRendering = {
    relay: { from: { name: fromName, address: outbound.address }, inReplyTo: ticket.lastRemoteMessageId, headers: extraHeaders, text: body.text, html: body.html, instance: outbound.instance, attachments: r.attachments },
  };
  const outboxId = await enqueue(trx, {
    kind: form.kind,
    ticketId: ticket.id,
    sourceMessageId: r.sourceMessageId,
    to: [system.relayTo],
    subject,
    messageId: relayId,
    raw: null,
    renderInput,
    deadlineAt: new Date(Date.now() + DEFAULT_DEADLINE_MS),
    ...(r.loop !== null && { state: 'parked' as const, lastError: `loop_suspected: ${r.loop} relays for ticket #${ticket.id} in the last hour (limit ${RELAY_LIMIT_PER_HOUR})` }),
  });
  return { outboxId, closedLocallyOnly: !shape };
}
