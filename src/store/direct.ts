// The statements a mail's write makes many times a second — its ledger row,
// ticket, thread message and notifications — without knex's query builder
// when they run inside a transaction on SQLite. Profiled on a CLI ingest
// (issue 15), knex's JavaScript around each statement (building, compiling
// to SQL, the runner, the transaction client's checks) took ~60 µs, where
// better-sqlite3 runs the prepared statement in ~8 µs: for four statements
// a mail, knex was a third of the main thread. Here the SQL text is made once
// per table and column list, and run on the transaction's own connection
// through db.ts's prepared-statement cache. Outside a transaction, and on
// PostgreSQL (where the round trip dwarfs the builder, and a batch of rows
// goes in one statement), the same write goes through knex as before: the
// tests run every repository on both backends, so the two paths are held to
// the same results. (These statements raise no knex `query` events, so
// DEBUG=knex:query does not show them.)
import type { Knex } from 'knex';

interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
}
interface SqliteConnection {
  prepare(sql: string): Statement;
}

const connections = new WeakMap<Knex, SqliteConnection>();

/** The connection of a SQLite transaction, or null (PostgreSQL, or not in a transaction: knex runs the statement). */
async function sqliteTransaction(knex: Knex): Promise<SqliteConnection | null> {
  if (!knex.isTransaction || (knex.client as { driverName?: string }).driverName !== 'better-sqlite3') return null;
  let conn = connections.get(knex);
  if (!conn) {
    conn = (await (knex.client as { acquireConnection(): Promise<SqliteConnection> }).acquireConnection()) as SqliteConnection;
    connections.set(knex, conn);
  }
  return conn;
}

/**
 * The prepared statement, to be run in the same synchronous step: knex
 * refuses a statement on a transaction that has ended, and so does this — on
 * the bare connection it would run outside any transaction and stay written.
 * Checked here, after every await, a write started before a rollback and run
 * after it is refused too.
 */
function statement(knex: Knex, conn: SqliteConnection, sql: string): Statement {
  if ((knex as Knex.Transaction).isCompleted()) throw new Error('Transaction query already complete');
  return conn.prepare(sql);
}

/** A value as knex hands it to better-sqlite3: undefined as NULL, booleans as 0/1, dates as epoch milliseconds. */
function bind(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return Number(value);
  if (value instanceof Date) return value.valueOf();
  return value;
}

const quote = (name: string) => `"${name}"`;
const sqlCache = new Map<string, string>();
function sqlFor(key: string, make: () => string): string {
  let sql = sqlCache.get(key);
  if (sql === undefined) {
    sql = make();
    if (sqlCache.size < 200) sqlCache.set(key, sql); // a handful of call sites; the bound is a guard
  }
  return sql;
}

/**
 * Inserts one row and returns its id. With `ignoreConflicts` (true: any
 * unique index; or the columns of one), a row a unique index refuses is not
 * written and the result is null (ON CONFLICT DO NOTHING).
 */
export async function insertRow(knex: Knex, table: string, row: Record<string, unknown>, options: { ignoreConflicts?: true | string[] } = {}): Promise<number | null> {
  const conn = await sqliteTransaction(knex);
  const ignore = options.ignoreConflicts;
  if (!conn) {
    const q = knex(table).insert(row);
    const rows = (await (ignore === undefined ? q : ignore === true ? q.onConflict().ignore() : q.onConflict(ignore).ignore()).returning('id')) as Array<{ id: number | string }>;
    return rows.length > 0 ? Number(rows[0]!.id) : null;
  }
  const columns = Object.keys(row);
  const conflict = ignore === undefined ? '' : ignore === true ? ' on conflict do nothing' : ` on conflict (${ignore.map(quote).join(', ')}) do nothing`;
  const sql = sqlFor(`insert|${table}|${columns.join(',')}|${conflict}`, () => `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${columns.map(() => '?').join(', ')})${conflict} returning "id"`);
  const inserted = statement(knex, conn, sql).get(columns.map((c) => bind(row[c]))) as { id: number } | undefined;
  return inserted ? Number(inserted.id) : null;
}

const ROWS_PER_INSERT = 500; // knex's path: a few hundred rows a statement, well inside both databases' bound-parameter limits

/** Inserts rows (all with the same columns) and returns their ids in order. */
export async function insertRows(knex: Knex, table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<number[]> {
  const ids: number[] = [];
  if (rows.length === 0) return ids;
  if (!(await sqliteTransaction(knex))) {
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const returned = (await knex(table).insert(rows.slice(i, i + ROWS_PER_INSERT)).returning('id')) as Array<{ id: number | string }>;
      ids.push(...returned.map((r) => Number(r.id)).sort((a, b) => a - b)); // ids grow in insertion order; RETURNING does not promise its row order
    }
    return ids;
  }
  for (const row of rows) ids.push((await insertRow(knex, table, row))!);
  return ids;
}

/** Updates the row with this id; a field that is undefined is left as it is (as knex does). */
export async function updateById(knex: Knex, table: string, id: number, fields: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(fields).filter((c) => fields[c] !== undefined);
  if (columns.length === 0) return; // nothing to change (knex would refuse an empty update)
  const conn = await sqliteTransaction(knex);
  if (!conn) {
    await knex(table).where({ id }).update(fields);
    return;
  }
  const sql = sqlFor(`update|${table}|${columns.join(',')}`, () => `update ${quote(table)} set ${columns.map((c) => `${quote(c)} = ?`).join(', ')} where "id" = ?`);
  statement(knex, conn, sql).run([...columns.map((c) => bind(fields[c])), id]);
}

/** The first row (by no particular order: the caller's equalities name one) with these columns. */
export async function firstWhere<T>(knex: Knex, table: string, columns: string[], where: Record<string, unknown>): Promise<T | undefined> {
  const keys = Object.keys(where);
  // knex writes `IS NULL` for a null; `= ?` would match nothing
  const conn = keys.some((k) => where[k] === null || where[k] === undefined) ? null : await sqliteTransaction(knex);
  if (!conn) return (await knex(table).select(columns).where(where).first()) as T | undefined;
  const sql = sqlFor(`first|${table}|${columns.join(',')}|${keys.join(',')}`, () => `select ${columns.map(quote).join(', ')} from ${quote(table)} where ${keys.map((k) => `${quote(k)} = ?`).join(' and ')} limit 1`);
  return statement(knex, conn, sql).get(keys.map((k) => bind(where[k]))) as T | undefined;
}
