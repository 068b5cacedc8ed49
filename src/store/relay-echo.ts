// Looks a system's mail up against the relays it names (mail/echo-detect.ts
// says why): the relay rows by Message-ID, with the text each one carried —
// the staff member's words, or for a close relay without words the relay's
// own text body. Asked only for a mail that names one of our relays.
import type { Knex } from 'knex';
import { carriesRelayedText } from '../mail/echo-detect';
import { parseMail } from '../mail/parse-mail';
import { relayTextOf } from '../outbound/relay-mail';

/** The relay (or close) a mail echoes, if it does. */
export async function echoedRelay(knex: Knex, relayIds: string[], mailText: string): Promise<{ outboxId: number; ticketId: number | null } | null> {
  if (relayIds.length === 0) return null;
  const rows: Array<{ id: number; ticket_id: number | null; raw: Buffer | Uint8Array | null | 0; render_input: string | null; text: string | null }> = await knex('outbox as o')
    .leftJoin('messages as m', 'm.id', 'o.source_message_id')
    .whereIn('o.message_id', relayIds)
    .whereIn('o.kind', ['relay', 'close'])
    .select('o.id', 'o.ticket_id', 'o.raw', 'o.render_input', 'm.text');
  for (const r of rows) {
    // a relay not composed yet (outbound/relay-mail.ts) holds its text body in its render input, and no bytes
    const relayed = r.text?.trim() ? r.text : r.render_input !== null ? relayTextOf(r.render_input) : (await parseMail(Buffer.from(r.raw as Uint8Array))).text;
    if (carriesRelayedText(mailText, relayed)) return { outboxId: Number(r.id), ticketId: r.ticket_id === null ? null : Number(r.ticket_id) };
  }
  return null;
}
