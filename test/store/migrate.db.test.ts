import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db';
import { migrateLatest } from '../../src/store/migrate';
import { pendingMigrations } from '../../src/store/schema-check';
import { MIGRATIONS } from '../../src/store/migration-source';
import { runCli } from '../helpers/cli';
import { BACKEND, createTestDatabase, type TestDatabase } from '../helpers/database';

const ROOT = join(__dirname, '..', '..');
let target: TestDatabase | undefined;

afterEach(async () => {
  await target?.drop();
  target = undefined;
});

const recorded = async (url: string) => {
  const db = openDatabase(url);
  try {
    return (await db.knex('knex_migrations').select('name').orderBy('id')).map((r: { name: string }) => r.name);
  } finally {
    await db.close();
  }
};

describe(`migrations on ${BACKEND}`, () => {
  it('apply once; a second run is harmless and applies nothing', async () => {
    target = await createTestDatabase('migrate');
    const db = openDatabase(target.url);
    try {
      expect((await migrateLatest(db)).applied).toHaveLength(MIGRATIONS.length);
      expect((await migrateLatest(db)).applied).toEqual([]);
      expect(await pendingMigrations(db)).toEqual([]);
      for (const table of ['systems', 'departments', 'department_staff', 'correspondences', 'tickets', 'messages', 'attachments', 'inbound', 'outbox', 'mailbox_cursors', 'audit_log']) {
        expect(await db.knex.schema.hasTable(table), table).toBe(true);
      }
    } finally {
      await db.close();
    }
    expect(await recorded(target.url)).toEqual(MIGRATIONS.map(([n]) => n));
  });

  it('two `deskbridge migrate` processes at once both succeed and apply each migration once', async () => {
    target = await createTestDatabase('migrate2');
    const env = { DESKBRIDGE_DATABASE: target.url };
    const [a, b] = await Promise.all([runCli(['migrate'], { env }), runCli(['migrate'], { env })]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    expect(await recorded(target.url)).toEqual(MIGRATIONS.map(([n]) => n));
  });

  // knex inserts its lock row outside a transaction: two processes starting on a new SQLite database could each insert
  // one, and its lock (an UPDATE that must change one row) then failed for both, for good. The state that race leaves:
  it.runIf(BACKEND === 'sqlite')('a database left with two migration lock rows is brought back to one and migrated', async () => {
    target = await createTestDatabase('twolocks');
    const db = openDatabase(target.url);
    try {
      await db.knex.schema.createTable('knex_migrations_lock', (t) => {
        t.increments('index').primary();
        t.integer('is_locked');
      });
      await db.knex('knex_migrations_lock').insert([{ is_locked: 0 }, { is_locked: 0 }]);
    } finally {
      await db.close();
    }
    const run = await runCli(['migrate'], { env: { DESKBRIDGE_DATABASE: target.url } });
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(await recorded(target.url)).toEqual(MIGRATIONS.map(([n]) => n));
    const after = openDatabase(target.url);
    try {
      expect(await after.knex('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
    } finally {
      await after.close();
    }
  });

  it('`npx knex migrate:latest` reads the same configuration and the same migration names', async () => {
    target = await createTestDatabase('knexcli');
    const knexCli = (command: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(join(ROOT, 'node_modules', '.bin', 'knex'), [command], {
          cwd: ROOT,
          env: { ...process.env, DESKBRIDGE_DATABASE: target!.url, DESKBRIDGE_CONFIG: join(ROOT, 'test', 'fixtures', 'empty.config.json') },
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => resolve({ code, out }));
      });
    const list = await knexCli('migrate:list');
    expect(list.code, list.out).toBe(0);
    expect(list.out).toContain(`Found ${MIGRATIONS.length} Pending Migration file/files.\n${MIGRATIONS.map(([n]) => n).join('\n')}\n`); // by name (it printed "undefined" once)
    const result = await knexCli('migrate:latest');
    expect(result.code, result.out).toBe(0);
    expect(result.out).toContain(`Batch 1 run: ${MIGRATIONS.length} migrations`);
    const again = await runCli(['migrate'], { env: { DESKBRIDGE_DATABASE: target.url } });
    expect(again.stdout).toBe('already up to date\n');
  });

  it('asking what is pending changes nothing: an empty database gets no migration tables from it', async () => {
    target = await createTestDatabase('pending');
    const db = openDatabase(target.url);
    try {
      expect(await pendingMigrations(db)).toEqual(MIGRATIONS.map(([n]) => n));
      expect(await db.knex.schema.hasTable('knex_migrations')).toBe(false);
      expect(await db.knex.schema.hasTable('knex_migrations_lock')).toBe(false);
      // knex's own migrator on a database opened for work is refused in words, not pointed at a ./migrations folder.
      // (Checked after the tables: knex lists the completed migrations beside the refused source, making its own
      // tables as it does, and that goes on after the refusal — on PostgreSQL the lock table appeared under the check.)
      await expect(db.knex.migrate.list()).rejects.toThrow(/the migrations run through migrateLatest/);
    } finally {
      await db.close();
    }
  });

  it('a database migrated by a newer deskbridge is refused, naming what this version does not know', async () => {
    target = await createTestDatabase('ahead');
    const db = openDatabase(target.url);
    try {
      await migrateLatest(db);
      await db.knex('knex_migrations').insert({ name: '20991231000000_from_the_future', batch: 2, migration_time: new Date() });
    } finally {
      await db.close();
    }
    const result = await runCli(['map', 'list'], { env: { DESKBRIDGE_DATABASE: target.url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/20991231000000_from_the_future/);
  });

  it('commands other than init/migrate refuse a database that is behind, and say what to run', async () => {
    target = await createTestDatabase('behind');
    if (BACKEND === 'sqlite') writeFileSync(target.url, ''); // an existing, empty SQLite file (a missing one is refused before: test/cli/setup-traps.test.ts)
    const result = await runCli(['map', 'list'], { env: { DESKBRIDGE_DATABASE: target.url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/needs \d+ migration\(s\); run `deskbridge migrate`/);
  });
});
