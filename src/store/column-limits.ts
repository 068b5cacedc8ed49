// The length limits of the text columns mail data lands in, as the
// migrations declare them. PostgreSQL refuses a longer value (and with it the
// whole statement, which used to abort a batch), SQLite keeps it whole; the
// repositories cut every value to its column here, so both backends store the
// same text and a long header costs nothing but its tail. Limits count
// characters (code points), as PostgreSQL's varchar(n) does.
import { dbText } from './values';

export const COLUMN_LIMITS = {
  messageId: 998, // inbound/messages.message_id, tickets.last_remote_message_id, attachments.content_id (RFC 5322 line limit)
  address: 320, // inbound/messages.from_address, tickets.customer_email (RFC 5321: 64 + 1 + 255)
  name: 200, // messages.from_name, tickets.customer_name
  remoteTicketId: 200, // tickets.remote_ticket_id
  filename: 500, // attachments.filename
  contentType: 200, // attachments.content_type
} as const;

/** The first `max` code points of `value` (never half a surrogate pair). */
export function cutToLength(value: string, max: number): string {
  if (value.length <= max) return value; // UTF-16 units ≥ code points: nothing to count
  let points = 0;
  let end = 0;
  for (const ch of value) {
    if (points === max) break;
    points++;
    end += ch.length;
  }
  return value.slice(0, end);
}

/** Text for a limited column: NUL dropped (dbText), then cut to the column. */
export function fitText(value: string, max: number): string;
export function fitText(value: string | null | undefined, max: number): string | null;
export function fitText(value: string | null | undefined, max: number): string | null {
  const text = dbText(value);
  return text === null ? null : cutToLength(text, max);
}
