// Gauges for what waits on an admin or on a peer, read from the database at
// each scrape (true after a restart, shared by every process on one
// database): parked mail, and outbox rows queued or dead, each with the age
// of its oldest. A count alone does not page anyone: one relay dead for a day
// does (deploy/deskbridge.rules.yml).
import type { Knex } from 'knex';
import { Gauge, type Registry } from 'prom-client';
import { PARKED_STATES } from '../store/inbound';
import { toIso } from '../store/values';

const ageSeconds = (value: unknown): number => (value === null || value === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(toIso(value))) / 1000));

export function registerBacklogGauges(registry: Registry, knex: Knex): void {
  new Gauge({
    name: 'deskbridge_parked_mails',
    help: 'Mails parked for an admin (parked_unmapped, parked_disabled, parked_unparsed, parked_failed)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows: Array<{ state: string; n: number | string }> = await knex('inbound').select('state').count({ n: '*' }).whereIn('state', PARKED_STATES as string[]).groupBy('state');
      this.reset();
      for (const state of PARKED_STATES) this.set({ state }, 0);
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  new Gauge({
    name: 'deskbridge_parked_oldest_seconds',
    help: 'Age of the oldest parked mail (0 when none)',
    registers: [registry],
    async collect() {
      const row = (await knex('inbound').whereIn('state', PARKED_STATES as string[]).min({ at: 'received_at' }).first()) as { at: unknown } | undefined;
      this.set(ageSeconds(row?.at));
    },
  });
  new Gauge({
    name: 'deskbridge_outbox_oldest_seconds',
    help: 'Age of the oldest outbox row in this state, since it was queued (0 when none)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows: Array<{ state: string; at: unknown }> = await knex('outbox').select('state').min({ at: 'created_at' }).whereIn('state', ['queued', 'dead']).groupBy('state');
      this.reset();
      for (const state of ['queued', 'dead']) this.set({ state }, ageSeconds(rows.find((r) => r.state === state)?.at));
    },
  });
}
