// Repository of the `processes` table: which `deskbridge run` processes are
// alive, by their heartbeat on the database clock. Nothing here guesses from
// PIDs or host names (two containers may share both); a process is alive
// while its heartbeat is younger than the lease TTL, and only then.
import type { Knex } from 'knex';
import { dbAgeMs, dbIn, dbNow } from './db-clock';
import { toIso } from './values';

export interface ProcessRow {
  owner: string;
  instance: string;
  host: string;
  pid: number;
  mailboxes: number;
  startedAt: string;
  heartbeatAt: string;
  /** Milliseconds since the last heartbeat, by the database clock. */
  heartbeatAgeMs: number;
}

export interface ProcessInfo {
  owner: string;
  instance: string;
  host: string;
  pid: number;
  mailboxes: number;
}

/** Registers the process, or renews its heartbeat; the row comes back if a pause had it pruned. */
export async function heartbeat(knex: Knex, p: ProcessInfo): Promise<void> {
  const renewed = await knex('processes').where({ owner: p.owner }).update({ heartbeat_at: dbNow(knex), mailboxes: p.mailboxes });
  if (renewed > 0) return;
  await knex('processes')
    .insert({ owner: p.owner, instance: p.instance, host: p.host, pid: p.pid, mailboxes: p.mailboxes, started_at: dbNow(knex), heartbeat_at: dbNow(knex) })
    .onConflict('owner')
    .merge(['heartbeat_at']);
}

/** How many processes have a heartbeat younger than `ttlMs` (this one included once it has beaten). */
export async function countLive(knex: Knex, ttlMs: number): Promise<number> {
  const row = (await knex('processes').where('heartbeat_at', '>', dbIn(knex, -ttlMs)).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

export async function listProcesses(knex: Knex): Promise<ProcessRow[]> {
  const rows: Array<Record<string, unknown>> = await knex('processes').select('*', dbAgeMs(knex, 'heartbeat_at').wrap('(', ') as age_ms')).orderBy('started_at');
  return rows.map((r) => ({
    owner: String(r.owner),
    instance: String(r.instance),
    host: String(r.host),
    pid: Number(r.pid),
    mailboxes: Number(r.mailboxes),
    startedAt: toIso(r.started_at),
    heartbeatAt: toIso(r.heartbeat_at),
    heartbeatAgeMs: Math.max(0, Math.round(Number(r.age_ms))),
  }));
}

/** A clean stop: the row goes, so the others count one process fewer at once. */
export async function deregister(knex: Knex, owner: string): Promise<void> {
  await knex('processes').where({ owner }).delete();
}

/** Rows of processes dead for a long while (housekeeping: `status` would list them for ever). */
export async function pruneDead(knex: Knex, olderThanMs: number): Promise<number> {
  return knex('processes').where('heartbeat_at', '<', dbIn(knex, -olderThanMs)).delete();
}
