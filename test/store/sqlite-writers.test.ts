// Two processes writing one SQLite file (`deskbridge run` and a CLI command,
// say): a transaction that reads, then writes, while the other process
// commits in between, must wait its turn — not fail with "database is
// locked" (knex's plain BEGIN did; db.ts makes it BEGIN IMMEDIATE).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db';

const dir = mkdtempSync(join(tmpdir(), 'deskbridge-writers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROOT = join(__dirname, '..', '..');

describe('SQLite with two writing processes', () => {
  it("waits up to db.ts's busy timeout (15 s) for the other process's lock, not better-sqlite3's default 5 s", async () => {
    const db = openDatabase(join(dir, 'timeout.sqlite'));
    try {
      expect(await db.knex.raw('pragma busy_timeout')).toEqual([{ timeout: 15_000 }]);
    } finally {
      await db.close();
    }
  });

  it('a read-then-write transaction waits for the other process instead of failing', async () => {
    const file = join(dir, 'shared.sqlite');
    const db = openDatabase(file);
    await db.knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.text('who');
    });
    await db.knex('notes').insert({ who: 'setup' });
    let other: Promise<number | null> | null = null;
    await db.knex.transaction(async (trx) => {
      expect(await trx('notes').count({ n: '*' })).toEqual([{ n: 1 }]);
      // the other process tries to write while this transaction is open
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', `require('./src/store/db').openDatabase(${JSON.stringify(file)}).knex('notes').insert({ who: 'other' }).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); })`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      other = new Promise((resolve) => child.on('exit', resolve));
      await new Promise((r) => setTimeout(r, 1500)); // long enough for the child to start and reach its insert
      await trx('notes').insert({ who: 'this' });
    });
    expect(await other).toBe(0);
    expect((await db.knex('notes').orderBy('id').pluck('who')).sort()).toEqual(['other', 'setup', 'this']);
    await db.close();
  });
});
