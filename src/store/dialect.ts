// The differences between SQLite and PostgreSQL that the rest of the code may
// ask about, as named flags in one table (pg-boss's habit), so no module
// scatters `if (client === 'pg')` checks.
import type { Knex } from 'knex';

export type DialectName = 'sqlite' | 'postgres';

export interface Dialect {
  readonly name: DialectName;
  /** `SELECT … FOR UPDATE SKIP LOCKED` for claiming outbox rows. */
  readonly skipLocked: boolean;
  /** Session advisory locks (pg_advisory_lock) to serialise migrations and leases. */
  readonly advisoryLocks: boolean;
  /** Several connections may write at once (SQLite has one writer). */
  readonly concurrentWriters: boolean;
}

/** Which database a knex instance (or transaction) talks to. */
export const dialectOf = (knex: Knex): DialectName => (String(knex.client.config.client) === 'pg' ? 'postgres' : 'sqlite');

export const DIALECTS: Record<DialectName, Dialect> = {
  sqlite: { name: 'sqlite', skipLocked: false, advisoryLocks: false, concurrentWriters: false },
  postgres: { name: 'postgres', skipLocked: true, advisoryLocks: true, concurrentWriters: true },
};
