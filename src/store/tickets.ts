// Repository of tickets, their thread messages and attachments.
import type { Knex } from 'knex';
import type { MailAttachment } from '../mail/mail-facts';
import { COLUMN_LIMITS as MAX, fitText } from './column-limits';
import { firstWhere, insertRow, ON_POSTGRES, onSqlite, updateById } from './direct';
import { dbText, nowIso, toIso } from './values';

export type TicketStatus = 'open' | 'closed';
export type Direction = 'remote' | 'staff' | 'event';

export interface Ticket {
  id: number;
  systemId: number;
  system: string;
  remoteTicketId: string;
  departmentId: number;
  department: string;
  status: TicketStatus;
  subject: string;
  customerEmail: string | null;
  customerName: string | null;
  lastRemoteMessageId: string | null;
  messages: number;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

/** An attachment as the mail parser hands it over. */
export type NewAttachment = MailAttachment;

export interface NewMessage {
  ticketId: number;
  inboundId: number | null;
  direction: Direction;
  event: string | null;
  fromAddress: string | null;
  fromName: string | null;
  messageId: string | null;
  text: string;
  html: string | null;
  attachments?: NewAttachment[];
}

export async function countTickets(knex: Knex, where: { system_id?: number; department_id?: number }): Promise<number> {
  const row = (await knex('tickets').where(where).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

const select = (knex: Knex, withCount = true) => {
  const q = knex('tickets as t').join('systems as s', 's.id', 't.system_id').join('departments as d', 'd.id', 't.department_id').select('t.*', 's.slug as system_slug', 'd.slug as department_slug');
  return withCount ? q.select(knex('messages as m').count('*').where('m.ticket_id', knex.ref('t.id')).as('message_count')) : q;
};

const fromRow = (r: Record<string, unknown>): Ticket => ({
  id: Number(r.id),
  systemId: Number(r.system_id),
  system: String(r.system_slug),
  remoteTicketId: String(r.remote_ticket_id),
  departmentId: Number(r.department_id),
  department: String(r.department_slug),
  status: r.status as TicketStatus,
  subject: String(r.subject ?? ''),
  customerEmail: (r.customer_email as string) ?? null,
  customerName: (r.customer_name as string) ?? null,
  lastRemoteMessageId: (r.last_remote_message_id as string) ?? null,
  messages: Number(r.message_count ?? 0),
  createdAt: toIso(r.created_at),
  updatedAt: toIso(r.updated_at),
  closedAt: toIso(r.closed_at, true),
});

export async function findTicketByRemote(knex: Knex, systemId: number, remoteTicketId: string) {
  return firstWhere<{ id: number; status: TicketStatus; department_id: number; customer_email: string | null; customer_name: string | null }>(knex, 'tickets', ['id', 'status', 'department_id', 'customer_email', 'customer_name'], {
    system_id: systemId,
    remote_ticket_id: fitText(remoteTicketId, MAX.remoteTicketId),
  });
}

export interface NewTicket {
  systemId: number;
  remoteTicketId: string;
  departmentId: number;
  subject: string;
  customerEmail: string | null;
  customerName: string | null;
  status: TicketStatus;
  lastRemoteMessageId: string | null;
}

/** Inserts the ticket unless one with its remote ID exists (or another process inserted it first); returns the new id, or null. */
export async function tryInsertTicket(knex: Knex, t: NewTicket): Promise<number | null> {
  const now = nowIso();
  return insertRow(
    knex,
    'tickets',
    {
      system_id: t.systemId,
      remote_ticket_id: fitText(t.remoteTicketId, MAX.remoteTicketId),
      department_id: t.departmentId,
      subject: dbText(t.subject),
      customer_email: fitText(t.customerEmail, MAX.address),
      customer_name: fitText(t.customerName, MAX.name),
      status: t.status,
      last_remote_message_id: fitText(t.lastRemoteMessageId, MAX.messageId),
      created_at: now,
      updated_at: now,
      closed_at: t.status === 'closed' ? now : null,
    },
    { ignoreConflicts: ['system_id', 'remote_ticket_id'] },
  );
}

/** Inserts the ticket unless another process did first; returns its id and whether this call created it. */
export async function insertTicket(knex: Knex, t: NewTicket): Promise<{ id: number; created: boolean }> {
  const id = await tryInsertTicket(knex, t);
  if (id !== null) return { id, created: true };
  const existing = await findTicketByRemote(knex, t.systemId, t.remoteTicketId);
  return { id: Number(existing!.id), created: false };
}

export async function updateTicket(
  knex: Knex,
  id: number,
  fields: { departmentId?: number; status?: TicketStatus; customerEmail?: string | null; customerName?: string | null; lastRemoteMessageId?: string | null },
): Promise<void> {
  await updateById(knex, 'tickets', id, {
    ...(fields.departmentId !== undefined && { department_id: fields.departmentId }),
    ...(fields.status !== undefined && { status: fields.status, closed_at: fields.status === 'closed' ? nowIso() : null }),
    ...(fields.customerEmail !== undefined && { customer_email: fitText(fields.customerEmail, MAX.address) }),
    ...(fields.customerName !== undefined && { customer_name: fitText(fields.customerName, MAX.name) }),
    ...(fields.lastRemoteMessageId !== undefined && { last_remote_message_id: fitText(fields.lastRemoteMessageId, MAX.messageId) }),
    updated_at: nowIso(),
  });
}

export async function appendMessage(knex: Knex, m: NewMessage): Promise<number> {
  const id = (await insertRow(knex, 'messages', {
    ticket_id: m.ticketId,
    inbound_id: m.inboundId,
    direction: m.direction,
    event: m.event,
    from_address: fitText(m.fromAddress, MAX.address),
    from_name: fitText(m.fromName, MAX.name),
    message_id: fitText(m.messageId, MAX.messageId),
    text: dbText(m.text),
    html: dbText(m.html),
    created_at: nowIso(),
  }))!;
  if (m.attachments?.length) {
    await knex('attachments').insert(
      m.attachments.map((a) => ({ message_id: id, filename: fitText(a.filename, MAX.filename), content_type: fitText(a.contentType, MAX.contentType), size: a.size, sha256: a.sha256, content_id: fitText(a.contentId, MAX.messageId), content: a.content })),
    );
  }
  return id;
}

export async function listTickets(knex: Knex, filter: { status?: TicketStatus; departmentId?: number; systemId?: number } = {}): Promise<Ticket[]> {
  const q = select(knex).orderBy('t.id');
  if (filter.status) q.where('t.status', filter.status);
  if (filter.departmentId !== undefined) q.where('t.department_id', filter.departmentId);
  if (filter.systemId !== undefined) q.where('t.system_id', filter.systemId);
  return (await q).map(fromRow);
}

/** The SQL of getTicket's SQLite path (the knex path: `select`). */
const TICKET_BY_ID = (withCount: boolean) =>
  `select t.*, s.slug as system_slug, d.slug as department_slug${withCount ? ', (select count(*) from messages m where m.ticket_id = t.id) as message_count' : ''} ` +
  'from tickets t join systems s on s.id = t.system_id join departments d on d.id = t.department_id where t.id = ?';
const ticketById = [TICKET_BY_ID(false), TICKET_BY_ID(true)] as const;

/** One ticket; `messages` is counted unless `withCount` is false (the relay path does not need it). */
export async function getTicket(knex: Knex, id: number, withCount = true): Promise<Ticket | undefined> {
  const direct = await onSqlite(knex, (db) => db.get<Record<string, unknown>>(ticketById[withCount ? 1 : 0], [id]));
  const row = direct === ON_POSTGRES ? await select(knex, withCount).where('t.id', id).first() : direct;
  return row ? fromRow(row) : undefined;
}

/** A thread message as a notification of it is rendered from (store/outbox.ts), its attachments with their content. */
export interface StoredMessage {
  event: string | null;
  fromAddress: string | null;
  fromName: string | null;
  text: string;
  html: string | null;
  attachments: Array<{ filename: string; contentType: string; content: Buffer; contentId: string | null }>;
}

/** These thread messages (by id; one that is gone is left out), each with its attachments: two statements in all. */
export async function storedMessages(knex: Knex, ids: readonly number[]): Promise<Map<number, StoredMessage>> {
  const found = new Map<number, StoredMessage>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return found;
  const messages: Array<Record<string, unknown>> = await knex('messages').select('id', 'event', 'from_address', 'from_name', 'text', 'html').whereIn('id', unique);
  for (const m of messages) found.set(Number(m.id), { event: (m.event as string) ?? null, fromAddress: (m.from_address as string) ?? null, fromName: (m.from_name as string) ?? null, text: String(m.text ?? ''), html: (m.html as string) ?? null, attachments: [] });
  const attachments: Array<Record<string, unknown>> = await knex('attachments').select('message_id', 'filename', 'content_type', 'content', 'content_id').whereIn('message_id', unique).orderBy('id');
  for (const a of attachments) found.get(Number(a.message_id))?.attachments.push({ filename: String(a.filename), contentType: String(a.content_type), content: Buffer.from(a.content as Uint8Array), contentId: (a.content_id as string) ?? null });
  return found;
}

export interface ThreadMessage {
  id: number;
  direction: Direction;
  event: string | null;
  from: string | null;
  fromName: string | null;
  messageId: string | null;
  text: string;
  html: string | null;
  createdAt: string;
  attachments: Array<{ name: string; type: string; size: number; sha256: string }>;
}

export async function getThread(knex: Knex, ticketId: number): Promise<ThreadMessage[]> {
  const messages: Array<Record<string, unknown>> = await knex('messages').where({ ticket_id: ticketId }).orderBy('id');
  const attachments: Array<Record<string, unknown>> = await knex('attachments')
    .select('message_id', 'filename', 'content_type', 'size', 'sha256')
    .whereIn('message_id', messages.map((m) => Number(m.id)))
    .orderBy('id');
  return messages.map((m) => ({
    id: Number(m.id),
    direction: m.direction as Direction,
    event: (m.event as string) ?? null,
    from: (m.from_address as string) ?? null,
    fromName: (m.from_name as string) ?? null,
    messageId: (m.message_id as string) ?? null,
    text: String(m.text ?? ''),
    html: (m.html as string) ?? null,
    createdAt: toIso(m.created_at),
    attachments: attachments
      .filter((a) => Number(a.message_id) === Number(m.id))
      .map((a) => ({ name: String(a.filename), type: String(a.content_type), size: Number(a.size), sha256: String(a.sha256) })),
  }));
}
