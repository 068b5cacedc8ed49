// The bridge's Prometheus metrics (prom-client), on a registry of its own so
// tests and several bridges in one process never share counters. Counters
// move as mails are committed; the outbox depth is read from the database
// when Prometheus scrapes, so it is true even after a restart.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Knex } from 'knex';
import type { MailboxProgress } from '../ingest/health';
import { registerBacklogGauges } from './backlog-metrics';
import { OUTBOX_STATES } from '../store/outbox';

export interface BridgeMetrics {
  registry: Registry;
  mails: Counter<'state' | 'mailbox'>;
  ingestLag: Gauge<'mailbox'>;
  connected: Gauge<'mailbox'>;
  reconnects: Counter<'mailbox' | 'reason'>;
  /** Mails handed over on the ingest socket, by outcome: served, refused (busy or too large: the client ingests them), failed. */
  socketRequests: Counter<'outcome'>;
  /** Each mailbox reader's backlog (health.ts), read when Prometheus scrapes. */
  progress?: Map<string, MailboxProgress>;
}

export function createMetrics(knex: Knex): BridgeMetrics {
  const registry = new Registry();
  const mails = new Counter({ name: 'deskbridge_mails_total', help: 'Mails committed to the ledger, by outcome state', labelNames: ['state', 'mailbox'], registers: [registry] });
  const ingestLag = new Gauge({
    name: 'deskbridge_ingest_lag_seconds',
    help: 'Seconds from the newest committed mail reaching the mailbox (INTERNALDATE) to its commit',
    labelNames: ['mailbox'],
    registers: [registry],
  });
  const connected = new Gauge({ name: 'deskbridge_mailbox_connected', help: '1 while the mailbox session is logged in and reading', labelNames: ['mailbox'], registers: [registry] });
  const reconnects = new Counter({ name: 'deskbridge_mailbox_reconnects_total', help: 'Mailbox connections lost or refused, by reason', labelNames: ['mailbox', 'reason'], registers: [registry] });
  const socketRequests = new Counter({ name: 'deskbridge_ingest_socket_requests_total', help: 'Mails handed over by `deskbridge ingest` on DESKBRIDGE_INGEST_SOCKET, by outcome (served; refused or failed: the client ingested them itself)', labelNames: ['outcome'], registers: [registry] });
  new Gauge({
    name: 'deskbridge_outbox_items',
    help: 'Outbox rows by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows: Array<{ state: string; n: number | string }> = await knex('outbox').select('state').count({ n: '*' }).groupBy('state');
      this.reset();
      for (const state of OUTBOX_STATES) this.set({ state }, 0);
      for (const r of rows) this.set({ state: r.state }, Number(r.n));
    },
  });
  const progress = new Map<string, MailboxProgress>();
  new Gauge({
    name: 'deskbridge_oldest_unprocessed_mail_seconds',
    help: 'Age of the oldest mail after the cursor (INTERNALDATE), per mailbox; 0 when none waits',
    labelNames: ['mailbox'],
    registers: [registry],
    collect() {
      const now = Date.now();
      for (const [mailbox, p] of progress) this.set({ mailbox }, p.waiting > 0 && p.oldestWaitingAt !== null ? Math.max(0, (now - p.oldestWaitingAt) / 1000) : 0);
    },
  });
  registerBacklogGauges(registry, knex);
  return { registry, mails, ingestLag, connected, reconnects, socketRequests, progress };
}
