// A fresh database per test file, on the backend the vitest project names:
// a temp SQLite file, or a schema of its own in PostgreSQL's `test` database
// (search_path in the URL), so files run in parallel without meeting.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { openDatabase, type Database } from '../../src/store/db';
import { migrateLatest } from '../../src/store/migrate';

export type Backend = 'sqlite' | 'postgres';
export const BACKEND: Backend = process.env.DESKBRIDGE_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';
export const PG_URL = process.env.DESKBRIDGE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  /** What DESKBRIDGE_DATABASE would be set to. */
  url: string;
  /** Removes the file or schema. */
  drop(): Promise<void>;
}

export async function createTestDatabase(label = 'db'): Promise<TestDatabase> {
  if (BACKEND === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `deskbridge-${label}-`));
    return { url: join(dir, 'test.sqlite'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `t_${label.replace(/\W/g, '_')}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
  const admin = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
  await admin.raw('create schema ??', [schema]);
  await admin.destroy();
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    url,
    drop: async () => {
      const k = knexFactory({ client: 'pg', connection: PG_URL, pool: { min: 0, max: 1 } });
      await k.raw('drop schema if exists ?? cascade', [schema]);
      await k.destroy();
    },
  };
}

/** A migrated database opened in this process, and its URL for child processes. */
export async function openTestDatabase(label?: string): Promise<Database & { url: string; drop(): Promise<void> }> {
  const target = await createTestDatabase(label);
  const db = openDatabase(target.url);
  await migrateLatest(db);
  return {
    ...db,
    url: target.url,
    drop: async () => {
      await db.close();
      await target.drop();
    },
  };
}

/** Everything the admin commands can change, read straight from the tables: "changed nothing" means this is equal before and after. */
export async function adminState(knex: Database['knex']) {
  const all = (table: string, order: string[]) => knex(table).select('*').orderBy(order);
  return {
    systems: await all('systems', ['id']),
    departments: await all('departments', ['id']),
    staff: await all('department_staff', ['department_id', 'position']),
    correspondences: await all('correspondences', ['id']),
    audit: await all('audit_log', ['id']),
  };
}
