// Times for leases, claims and heartbeats from the database's clock, never a
// process's: several hosts share one PostgreSQL, and a host whose clock runs
// a minute fast would take every lease that looked lapsed to it. Each
// expression is written into the statement that compares or stores it, so
// no clock reading travels through the process. On SQLite (one host by
// nature) the database clock is that host's, written as the ISO text the
// rest of the code stores, so text comparison orders it.
import type { Knex } from 'knex';
import { dialectOf, type DialectName } from './dialect';

const CLOCK: Record<DialectName, { now: string; plusMs: string; ageMs: string }> = {
  // clock_timestamp(), not now(): now() stands still for a whole transaction
  postgres: { now: 'clock_timestamp()', plusMs: "clock_timestamp() + (?::double precision) * interval '1 millisecond'", ageMs: 'extract(epoch from clock_timestamp() - ??) * 1000' },
  sqlite: {
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    plusMs: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('%+.3f seconds', ? / 1000.0))",
    ageMs: "(julianday('now') - julianday(??)) * 86400000.0",
  },
};

/** SQLite's forms, for statements written out (store/direct.ts): its time now, and `?` milliseconds from now. */
export const SQLITE_CLOCK = { now: CLOCK.sqlite.now, plusMs: CLOCK.sqlite.plusMs } as const;

/** The database's time now. */
export const dbNow = (knex: Knex): Knex.Raw => knex.raw(CLOCK[dialectOf(knex)].now);

/** The database's time `ms` from now (negative: ago). */
export const dbIn = (knex: Knex, ms: number): Knex.Raw => knex.raw(CLOCK[dialectOf(knex)].plusMs, [ms]);

/** How many milliseconds ago `column` was, by the database's clock. */
export const dbAgeMs = (knex: Knex, column: string): Knex.Raw => knex.raw(CLOCK[dialectOf(knex)].ageMs, [column]);
