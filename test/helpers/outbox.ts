// The mail an outbox row sends, as a test reads it: its stored bytes, or for a
// relay or close not composed yet (that happens as it is sent,
// outbound/relay-mail.ts) the bytes a worker would compose now.
import type { Knex } from 'knex';
import { outboxRenderer } from '../../src/outbound/outbox-render';
import { outboxBytes } from '../../src/store/outbox';

export async function outboxMail(knex: Knex, id: number): Promise<Buffer> {
  const bytes = await outboxBytes(knex, id, outboxRenderer(null));
  if (!bytes) throw new Error(`no outbox row #${id}`);
  return bytes.raw;
}
