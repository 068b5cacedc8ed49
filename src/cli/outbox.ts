// `deskbridge outbox list|retry|flush`: what the bridge will send, has sent,
// or gave up on; putting dead, bounced or parked rows back in the queue; and
// sending what is due once, without `run` (cron, demos).
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { parseId } from '../admin/correspondences';
import { DeskbridgeError } from '../errors';
import { DEFAULT_DEADLINE_MS } from '../outbound/delivery-error';
import { lazy } from './lazy';
import { listOutbox, OUTBOX_STATES, requeue, type OutboxItem } from '../store/outbox';
import type { CliContext } from './context';
import { checkChoice, printList, type Column } from './output';

const COLUMNS: Column<OutboxItem>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'STATE', value: (r) => r.state },
  { header: 'KIND', value: (r) => r.kind },
  { header: 'TICKET', value: (r) => r.ticketId },
  { header: 'ATTEMPTS', value: (r) => r.attempts },
  { header: 'TO', value: (r) => r.to.join(',') },
  { header: 'SUBJECT', value: (r) => r.subject.slice(0, 50) },
  { header: 'LAST ERROR', value: (r) => r.lastError },
];

const view = (r: OutboxItem) => ({
  id: r.id,
  state: r.state,
  kind: r.kind,
  to: r.to,
  subject: r.subject,
  attempts: r.attempts,
  nextAttemptAt: r.state === 'queued' ? r.nextAttemptAt : null,
  lastError: r.lastError,
  ticketId: r.ticketId,
  messageId: r.messageId,
  createdAt: r.createdAt,
  sentAt: r.sentAt,
});

export function registerOutbox(program: Command, ctx: CliContext): void {
  const outbox = program.command('outbox').description('mail the bridge sends: staff notifications and relays to the external systems');
  outbox
    .command('list')
    .description('list outbox rows')
    .option('--state <state>', `only this state (${OUTBOX_STATES.join(', ')})`)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge outbox list --state dead')
    .action(async (opts: { state?: string; json?: boolean }) => {
      if (opts.state !== undefined) checkChoice('--state', opts.state, OUTBOX_STATES);
      const { knex } = await ctx.database();
      printList(await listOutbox(knex, { states: opts.state ? [opts.state] : undefined }), opts, COLUMNS, view, 'the outbox is empty');
    });
  outbox
    .command('retry <id...>')
    .description('put dead, bounced or parked rows back in the queue, due now, with a fresh 24 h deadline')
    .addHelpText('after', '\nExample:\n  $ deskbridge outbox retry 12 13')
    .action(async (ids: string[]) => {
      const parsed = ids.map((i) => parseId(i, 'outbox id'));
      const db = await ctx.database();
      await db.knex.transaction(async (trx) => {
        const rows = await listOutbox(trx, { ids: parsed });
        const missing = parsed.find((id) => !rows.some((r) => r.id === id));
        if (missing !== undefined) throw new DeskbridgeError('ENOTFOUND', `outbox id ${missing}: no such row (see \`deskbridge outbox list\`)`);
        const wrong = rows.find((r) => r.state === 'queued' || r.state === 'sent');
        if (wrong) throw new DeskbridgeError('EINVALID', `outbox id ${wrong.id} is ${wrong.state}; only dead, bounced or parked rows are retried`);
        await requeue(trx, parsed, new Date(Date.now() + DEFAULT_DEADLINE_MS));
      });
      process.stdout.write(`queued ${parsed.map((i) => `#${i}`).join(', ')} again\n`);
    });
  outbox
    .command('flush')
    .description('send every row that is due now, once (what `run` does continuously)')
    .addHelpText('after', '\nNeeds DESKBRIDGE_SMTP (smtp://… or file:DIR) and DESKBRIDGE_ADDRESS.\n\nExample:\n  $ DESKBRIDGE_SMTP=file:./outbox npx deskbridge outbox flush')
    .action(async () => {
      const config = ctx.config;
      if (!config.smtp) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_SMTP is not set: give smtp://host:port or file:DIR');
      if (!config.address) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_ADDRESS is not set: the bridge needs its own address to send from');
      const db = await ctx.database();
      const { createOutboxWorker, openTransport } = lazy.outboxWorker();
      const transport = openTransport(config.smtp);
      try {
        const worker = createOutboxWorker({ db, transport, from: config.address, owner: `${config.instance}:${process.pid}:${randomUUID().slice(0, 8)}`, log: lazy.log().createLogger({ level: 'warn' }) });
        const counts = await worker.flushOnce();
        process.stdout.write(`sent ${counts.sent}, to retry ${counts.retry}, dead ${counts.dead}\n`);
      } finally {
        transport.close();
      }
    });
}
