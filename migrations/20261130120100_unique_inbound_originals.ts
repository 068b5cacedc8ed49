// "The same mail twice" made impossible at the database, not by a read before
// the insert: two processes that ingest the same mail at once (Cc'd to two
// mailboxes, or an MTA pipe beside IMAP) both read "no such mail yet", and
// both wrote it as new. Among the rows that are not themselves duplicates
// (duplicate_of IS NULL), one per content hash and one per (Message-ID,
// sender); the second writer's insert conflicts and the pipeline records it
// as `duplicate`. A message of a ticket thread is also written at most once
// per ledger row and direction (a remote message, a staff reply), so a mail
// applied twice by any route cannot double the thread.
//
// Rows written before this migration may already hold such doubles (that was
// the defect): later ledger rows are pointed at the earliest as duplicate_of,
// their state and effects left as they are, and a doubled thread message
// loses its link to the ledger row (its text stays), so the indexes can be
// built and the history stays readable.
import type { Knex } from 'knex';

async function pointLaterAtEarliest(knex: Knex, keys: string[]): Promise<void> {
  const groups: Array<Record<string, unknown>> = await knex('inbound')
    .select(keys)
    .min({ first: 'id' })
    .whereNull('duplicate_of')
    .where((w) => keys.forEach((k) => w.whereNotNull(k)))
    .groupBy(keys)
    .havingRaw('count(*) > 1');
  for (const g of groups) {
    const where = Object.fromEntries(keys.map((k) => [k, g[k]]));
    await knex('inbound')
      .where(where)
      .whereNull('duplicate_of')
      .where('id', '>', Number(g.first))
      .update({ duplicate_of: Number(g.first) });
  }
}

/** A mail applied twice (two retries at once) left two thread messages on one ledger row: the later ones keep their text, not the link. */
async function unlinkDoubledMessages(knex: Knex): Promise<void> {
  const groups: Array<{ inbound_id: number; direction: string; first: number }> = await knex('messages')
    .select('inbound_id', 'direction')
    .min({ first: 'id' })
    .whereNotNull('inbound_id')
    .whereNot('direction', 'event')
    .groupBy('inbound_id', 'direction')
    .havingRaw('count(*) > 1');
  for (const g of groups) {
    await knex('messages').where({ inbound_id: g.inbound_id, direction: g.direction }).where('id', '>', Number(g.first)).update({ inbound_id: null });
  }
}

export async function up(knex: Knex): Promise<void> {
  await unlinkDoubledMessages(knex);
  await pointLaterAtEarliest(knex, ['content_hash']);
  await pointLaterAtEarliest(knex, ['message_id', 'from_address']);
  await knex.raw('CREATE UNIQUE INDEX inbound_original_content ON inbound (content_hash) WHERE duplicate_of IS NULL');
  await knex.raw('CREATE UNIQUE INDEX inbound_original_message_id ON inbound (message_id, from_address) WHERE duplicate_of IS NULL AND message_id IS NOT NULL AND from_address IS NOT NULL');
  await knex.raw("CREATE UNIQUE INDEX messages_once_per_inbound ON messages (inbound_id, direction) WHERE inbound_id IS NOT NULL AND direction <> 'event'");
}
