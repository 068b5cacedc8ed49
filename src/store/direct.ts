// The statements the bridge makes many times a second — a mail's ledger row,
// ticket, thread message and notifications; a staff reply's ticket and relay
// count; the outbox worker's claims and results — without knex's query
// builder on SQLite. Profiled on a CLI ingest (issue 15), knex's JavaScript
// around each statement (building, compiling to SQL, the runner, the
// transaction client's checks) took ~60 µs, where better-sqlite3 runs the
// prepared statement in ~8 µs: for four statements a mail, knex was a third
// of the main thread; on the relay bench it was ~30% of it. Here the SQL text
// is made once per call site, and run on the SQLite connection (a
// transaction's own, or the pool's for one statement) through db.ts's
// prepared-statement cache. On PostgreSQL (where the round trip dwarfs the
// builder, and a batch of rows goes in one statement) the same query goes
// through knex: the tests run every repository on both backends, so the two
// paths are held to the same results. (These statements raise no knex
// `query` events, so DEBUG=knex:query does not show them.)
import type { Knex } from 'knex';

interface Statement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface SqliteConnection {
  prepare(sql: string): Statement;
}
interface PooledClient {
  driverName?: string;
  acquireConnection(): Promise<SqliteConnection>;
  releaseConnection(conn: SqliteConnection): Promise<unknown>;
}

const connections = new WeakMap<Knex, SqliteConnection>();

/** A statement's runs on the SQLite connection a call holds (`onSqlite`): rows, the first row, or the rows changed. */
export interface Sqlite {
  all<T>(sql: string, params: readonly unknown[]): T[];
  get<T>(sql: string, params: readonly unknown[]): T | undefined;
  run(sql: string, params: readonly unknown[]): number;
}

/** What `onSqlite` returns on PostgreSQL: the caller runs its knex query. */
export const ON_POSTGRES = Symbol('on PostgreSQL');

/**
 * Runs `use`, synchronously, on the SQLite connection: a transaction's own,
 * or outside one the pool's one connection, held for the call as knex holds
 * it for one statement (no transaction is open on it meanwhile: a
 * transaction holds it from BEGIN to COMMIT). ON_POSTGRES on PostgreSQL.
 */
export async function onSqlite<R>(knex: Knex, use: (db: Sqlite) => R): Promise<R | typeof ON_POSTGRES> {
  const client = knex.client as PooledClient;
  if (client.driverName !== 'better-sqlite3') return ON_POSTGRES;
  if (knex.isTransaction) {
    let conn = connections.get(knex);
    if (!conn) {
      conn = await client.acquireConnection();
      connections.set(knex, conn);
    }
    const held = runner(knex, conn);
    try {
      return synchronously(use(held));
    } finally {
      held.done = true;
    }
  }
  const conn = await client.acquireConnection();
  const held = runner(null, conn);
  try {
    return synchronously(use(held));
  } finally {
    held.done = true;
    await client.releaseConnection(conn);
  }
}

/**
 * `use` must be done when it returns: an async one would run its later
 * statements on a connection given back to the pool, inside whatever
 * transaction took it next (and be rolled back with it).
 */
function synchronously<R>(result: R): R {
  if (typeof (result as { then?: unknown } | null)?.then === 'function') throw new Error('onSqlite: the statements must run synchronously; an async callback would outlive its hold on the connection');
  return result;
}

/**
 * The statements, each checked just before it runs: one after its onSqlite
 * call returned is refused (the connection is no longer held). knex refuses a statement
 * on a transaction that has ended, and so does this — on the bare connection
 * it would run outside any transaction and stay written. Checked here, after
 * every await, a write started before a rollback and run after it is
 * refused too.
 */
function runner(trx: Knex | null, conn: SqliteConnection): Sqlite & { done: boolean } {
  const statement = (sql: string) => {
    if (held.done) throw new Error('onSqlite: a statement after its call returned (the connection is no longer held)');
    if (trx && (trx as Knex.Transaction).isCompleted()) throw new Error('Transaction query already complete');
    return conn.prepare(sql);
  };
  // an undefined value is refused, as knex refuses it: bound as NULL it would match nothing (a claim's `owner`) or
  // make a claim end now (its `ttlMs`) without a word; a column to be left NULL is passed as null
  const values = (sql: string, params: readonly unknown[]) => {
    if (params.includes(undefined)) throw new Error(`Undefined binding(s) detected for the statement: ${sql.slice(0, 200)}`);
    return params.map(bind);
  };
  const held = {
    done: false,
    all: <T>(sql: string, params: readonly unknown[]) => statement(sql).all(values(sql, params)) as T[],
    get: <T>(sql: string, params: readonly unknown[]) => statement(sql).get(values(sql, params)) as T | undefined,
    run: (sql: string, params: readonly unknown[]) => statement(sql).run(values(sql, params)).changes,
  };
  return held;
}

/** `?, ?, ?` for n values. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** A value as knex hands it to better-sqlite3: booleans as 0/1, dates as epoch milliseconds. */
function bind(value: unknown): unknown {
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
  const ignore = options.ignoreConflicts;
  const columns = Object.keys(row);
  const direct = await onSqlite(knex, (db) => {
    const conflict = ignore === undefined ? '' : ignore === true ? ' on conflict do nothing' : ` on conflict (${ignore.map(quote).join(', ')}) do nothing`;
    const sql = sqlFor(`insert|${table}|${columns.join(',')}|${conflict}`, () => `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${placeholders(columns.length)})${conflict} returning "id"`);
    return db.get<{ id: number }>(sql, columns.map((c) => row[c] ?? null)); // an undefined column NULL, as knex inserts it (useNullAsDefault)
  });
  if (direct !== ON_POSTGRES) return direct ? Number(direct.id) : null;
  const q = knex(table).insert(row);
  const rows = (await (ignore === undefined ? q : ignore === true ? q.onConflict().ignore() : q.onConflict(ignore).ignore()).returning('id')) as Array<{ id: number | string }>;
  return rows.length > 0 ? Number(rows[0]!.id) : null;
}

const ROWS_PER_INSERT = 500; // knex's path: a few hundred rows a statement, well inside both databases' bound-parameter limits

/** Inserts rows (all with the same columns) and returns their ids in order. */
export async function insertRows(knex: Knex, table: string, rows: ReadonlyArray<Record<string, unknown>>): Promise<number[]> {
  const ids: number[] = [];
  if (rows.length === 0) return ids;
  // row by row only inside a SQLite transaction; outside one, a multi-row statement is atomic by itself
  if (knex.isTransaction && (knex.client as PooledClient).driverName === 'better-sqlite3') {
    for (const row of rows) ids.push((await insertRow(knex, table, row))!);
    return ids;
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const returned = (await knex(table).insert(rows.slice(i, i + ROWS_PER_INSERT)).returning('id')) as Array<{ id: number | string }>;
    ids.push(...returned.map((r) => Number(r.id)).sort((a, b) => a - b)); // ids grow in insertion order; RETURNING does not promise its row order
  }
  return ids;
}

/** Updates the row with this id; a field that is undefined is left as it is (as knex does). */
export async function updateById(knex: Knex, table: string, id: number, fields: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(fields).filter((c) => fields[c] !== undefined);
  if (columns.length === 0) return; // nothing to change (knex would refuse an empty update)
  const direct = await onSqlite(knex, (db) => {
    const sql = sqlFor(`update|${table}|${columns.join(',')}`, () => `update ${quote(table)} set ${columns.map((c) => `${quote(c)} = ?`).join(', ')} where "id" = ?`);
    db.run(sql, [...columns.map((c) => fields[c]), id]);
  });
  if (direct === ON_POSTGRES) await knex(table).where({ id }).update(fields);
}

/** The first row (by no particular order: the caller's equalities name one) with these columns. */
export async function firstWhere<T>(knex: Knex, table: string, columns: string[], where: Record<string, unknown>): Promise<T | undefined> {
  const keys = Object.keys(where);
  const knexQuery = async () => (await knex(table).select(columns).where(where).first()) as T | undefined;
  // knex writes `IS NULL` for a null; `= ?` would match nothing
  if (keys.some((k) => where[k] === null || where[k] === undefined)) return knexQuery();
  const direct = await onSqlite(knex, (db) => {
    const sql = sqlFor(`first|${table}|${columns.join(',')}|${keys.join(',')}`, () => `select ${columns.map(quote).join(', ')} from ${quote(table)} where ${keys.map((k) => `${quote(k)} = ?`).join(' and ')} limit 1`);
    return db.get<T>(sql, keys.map((k) => where[k]));
  });
  return direct === ON_POSTGRES ? knexQuery() : direct;
}
