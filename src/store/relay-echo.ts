// Looks a system's mail up against the relays it names (mail/echo-detect.ts
// says why): the relay rows by Message-ID, with the text each one carried —
// the staff member's words, or for a close relay without words the relay's
// own text body. Asked only for a mail that names one of our relays.
import type { Knex } from 'knex';
import { carriesRelayedText } from '../mail/echo-detect';
import { parseMail } from '../mail/parse-mail';

/** The relay (or close) a mail echoes, if it does. */
export async function echoedRelay(knex: Knex, relayIds: string[], mailText: string): Promise<{ outboxId: number; ticketId: number | null } | null> {
  if (relayIds.length === 0) return null;
  const rows: Array<{ id: number; ticket_id: number | null; raw: Buffer | Uint8Array; text: string | null }> = await knex('outbox as o')
    .leftJoin('messages as m', 'm.id', 'o.source_message_id')
    .whereIn('o.message_id', relayIds)
    .whereIn('o.kind', ['relay', 'close'])
    .select('o.id', 'o.ticket_id', 'o.raw', 'm.text');
  for (const r of rows) {
    const relayed = r.text?.trim() ? r.text : (await parseMail(Buffer.from(r.raw))).text;
    if (carriesRelayedText(mailText, relayed)) return { outboxId: Number(r.id), ticketId: r.ticket_id === null ? null : Number(r.ticket_id) };
  }
  return null;
}
