// Migration 20261130120100 on a ledger written before it, when two processes
// could still record the same mail twice as new (that was the defect): the
// later copy is pointed at the earliest as duplicate_of (its state and effects
// kept) and the unique indexes are built, so the database refuses the next
// such double.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/store/db';
import { MIGRATIONS, migrationSource, migrationSourceOf } from '../../src/store/migration-source';
import { BACKEND, createTestDatabase, type TestDatabase } from '../helpers/database';

let target: TestDatabase | undefined;
let db: Database | undefined;
afterEach(async () => {
  await db?.close();
  await target?.drop();
});

describe(`upgrading a ledger with doubles on ${BACKEND}`, () => {
  it('points later copies at the earliest, then refuses new doubles', async () => {
    target = await createTestDatabase('upgrade');
    db = openDatabase(target.url);
    const before = MIGRATIONS.findIndex(([name]) => name === '20261130120100_unique_inbound_originals');
    const config = { migrationSource: migrationSourceOf(MIGRATIONS.slice(0, before)) };
    await db.knex.migrate.latest(config);
    const now = new Date().toISOString();
    const row = (id: number, mailbox: string) => ({ id, source: 'imap', mailbox, uidvalidity: 1, uid: id, message_id: '<m@x.example>', from_address: 'a@x.example', content_hash: 'h'.repeat(64), size: 10, raw: Buffer.from('x'), state: 'ticket_created', attempts: 0, received_at: now });
    await db.knex('inbound').insert([row(1, 'a/INBOX'), row(2, 'b/INBOX'), { ...row(3, 'c/INBOX'), content_hash: 'k'.repeat(64) }]);
    await db.knex.migrate.latest({ migrationSource });
    const rows = await db.knex('inbound').select('id', 'duplicate_of', 'state').orderBy('id');
    expect(rows.map((r: { id: number; duplicate_of: number | null; state: string }) => [Number(r.id), r.duplicate_of === null ? null : Number(r.duplicate_of), r.state])).toEqual([
      [1, null, 'ticket_created'],
      [2, 1, 'ticket_created'], // same bytes
      [3, 1, 'ticket_created'], // other bytes, same Message-ID from the same sender
    ]);
    await expect(db.knex('inbound').insert({ ...row(4, 'd/INBOX') })).rejects.toThrow(/unique|UNIQUE/);
  });
});
