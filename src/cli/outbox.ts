// `deskbridge outbox list|show|retry|discard|flush`: what the bridge will send,
// has sent, or gave up on; putting dead, bounced or parked rows back in the
// queue (to a system's new relay address with --reroute), giving up on them; and
// sending what is due once, without `run` (cron, demos).
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { parseId } from '../admin/correspondences';
import { DeskbridgeError } from '../errors';
import { DEFAULT_DEADLINE_MS } from '../outbound/delivery-error';
import { lazy, outboundOf } from './lazy';
import { claimedNow, discardRows, listOutbox, outboxBytes, OUTBOX_STATES, requeue, type OutboxItem } from '../store/outbox';
import type { CliContext } from './context';
import { checkChoice, printList, printRecord, type Column } from './output';
import { replaceToHeader } from '../outbound/reroute';
import type { Knex } from 'knex';

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

async function requireRows(knex: Knex, ids: number[]): Promise<OutboxItem[]> {
  const rows = await listOutbox(knex, { ids });
  const missing = ids.find((id) => !rows.some((r) => r.id === id));
  if (missing !== undefined) throw new DeskbridgeError('ENOTFOUND', `outbox id ${missing}: no such row (see \`deskbridge outbox list\`)`);
  return ids.map((id) => rows.find((r) => r.id === id)!);
}

/** Refuses (exit 2, nothing changed) rows a worker is sending this moment: requeued or discarded under it, the mail went out all the same (twice, for a requeue). */
async function refuseInFlight(trx: Knex, ids: number[]): Promise<void> {
  const held = await claimedNow(trx, ids);
  if (held.length === 0) return;
  throw new DeskbridgeError('EINVALID', `outbox id ${held[0]!.id} is being sent now (by ${held[0]!.owner}); nothing was changed: try again once its send is done (\`outbox show ${held[0]!.id}\`)`);
}

/** An update that changed fewer rows than it was given: one was taken by a worker, or sent, since they were read; all of it is rolled back. */
async function refuseChanged(trx: Knex, ids: number[], what: string): Promise<never> {
  await refuseInFlight(trx, ids);
  throw new DeskbridgeError('EINVALID', `outbox ids ${ids.map((i) => `#${i}`).join(', ')}: one changed while this ran (sent, or taken by a worker); nothing was ${what}: look at \`outbox list\` and try again`);
}

/** Relays and close mails whose system's relay address changed get the new one (recipients and To: header); says what moved. */
async function rerouteRelays(trx: Knex, rows: OutboxItem[]): Promise<string[]> {
  const notes: string[] = [];
  for (const r of rows) {
    // only what goes to the system: staff notifications and notices keep their (staff) recipients; a notice
    // rerouted carried a staff member's words and the SMTP errors of a dead relay into the customer's ticket
    if ((r.kind !== 'relay' && r.kind !== 'close') || r.ticketId === null) continue;
    const target = (await trx('tickets as t').join('systems as s', 's.id', 't.system_id').where('t.id', r.ticketId).first('s.relay_to', 's.slug')) as { relay_to: string; slug: string } | undefined;
    if (!target || (r.to.length === 1 && r.to[0] === target.relay_to)) continue;
    const stored = (await trx('outbox').select('raw', 'render_input').where({ id: r.id }).first()) as { raw: Uint8Array | null; render_input: string | null };
    // one not composed yet is composed for its recipients (outbound/relay-mail.ts): its bytes are made later
    const raw = stored.render_input === null ? { raw: replaceToHeader(Buffer.from(stored.raw!), target.relay_to) } : {};
    await trx('outbox').where({ id: r.id }).update({ to_addresses: JSON.stringify([target.relay_to]), ...raw });
    notes.push(`#${r.id}: ${r.to.join(', ')} → ${target.relay_to} (system ${target.slug})`);
  }
  return notes;
}

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
    .command('show <id>')
    .description('one outbox row: recipients, state, attempts, the last error, and its ticket')
    .option('--json', 'print JSON')
    .option('--raw', 'print the stored mail as it will be (or was) sent (a notification or relay not sent yet: a preview made now)')
    .addHelpText('after', '\nExample:\n  $ deskbridge outbox show 12')
    .action(async (id: string, opts: { json?: boolean; raw?: boolean }) => {
      const { knex } = await ctx.database();
      const [row] = await requireRows(knex, [parseId(id, 'outbox id')]);
      if (opts.raw) {
        const outbound = outboundOf(ctx.config);
        const render = lazy.outboxRender().outboxRenderer(outbound, `outbox id ${row!.id} is a staff notification not sent yet (it is rendered as it is sent); a preview needs DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET`);
        const bytes = (await outboxBytes(knex, row!.id, render))!;
        // a preview's own words on stderr: stdout stays the mail alone (piped into a file or a parser)
        if (bytes.preview)
          process.stderr.write(
            row!.kind === 'notification'
              ? `deskbridge: outbox id ${row!.id} was never rendered (a notification is rendered as it is sent): this is a preview with this shell's templates and settings; a worker that sends it renders it with its own, and keeps those bytes\n`
              : `deskbridge: outbox id ${row!.id} was never composed (a ${row!.kind} is composed as it is sent, from the words and headers fixed when it was queued): this is a preview; the mail sent differs only in its Date and MIME boundaries\n`,
          );
        process.stdout.write(bytes.raw);
        return;
      }
      printRecord(view(row!), opts);
    });
  outbox
    .command('retry <id...>')
    .description('put dead, bounced or parked rows back in the queue, due now, with a fresh 24 h deadline')
    .option('--reroute', "send relays to their system's relay address as it is now (after `system edit --relay-to`); also for queued rows")
    .addHelpText('after', '\nExamples:\n  $ deskbridge outbox retry 12 13\n  $ deskbridge system edit acme --relay-to desk@billing.acme.example && deskbridge outbox retry 12 --reroute')
    .action(async (ids: string[], opts: { reroute?: boolean }) => {
      const parsed = [...new Set(ids.map((i) => parseId(i, 'outbox id')))]; // an id named twice is one row
      const db = await ctx.database();
      const notes = await db.knex.transaction(async (trx) => {
        const rows = await requireRows(trx, parsed);
        const wrong = rows.find((r) => r.state === 'sent' || (r.state === 'queued' && !opts.reroute));
        if (wrong) throw new DeskbridgeError('EINVALID', `outbox id ${wrong.id} is ${wrong.state}; only dead, bounced, parked or discarded rows are retried (queued ones with --reroute)`);
        await refuseInFlight(trx, parsed);
        const rerouted = opts.reroute ? await rerouteRelays(trx, rows) : [];
        if ((await requeue(trx, parsed, new Date(Date.now() + DEFAULT_DEADLINE_MS))) !== parsed.length) await refuseChanged(trx, parsed, 'queued again');
        return rerouted;
      });
      for (const note of notes) process.stdout.write(`${note}\n`);
      process.stdout.write(`queued ${parsed.map((i) => `#${i}`).join(', ')} again\n`);
    });
  outbox
    .command('discard <id...>')
    .description('give up on rows that are not sent: they stay listed as `discarded` and are never sent')
    .addHelpText('after', '\nExample:\n  $ deskbridge outbox discard 12')
    .action(async (ids: string[]) => {
      const parsed = [...new Set(ids.map((i) => parseId(i, 'outbox id')))]; // an id named twice is one row
      const db = await ctx.database();
      await db.knex.transaction(async (trx) => {
        const rows = await requireRows(trx, parsed);
        const wrong = rows.find((r) => r.state === 'sent' || r.state === 'discarded');
        if (wrong) throw new DeskbridgeError('EINVALID', `outbox id ${wrong.id} is ${wrong.state}; nothing to discard`);
        await refuseInFlight(trx, parsed);
        // each only while still in the state read and held by no worker: a worker that sent it meanwhile wins
        const discarded = await discardRows(trx, rows, (r) => `discarded by ${ctx.actor} (was ${r.state}${r.lastError ? `: ${r.lastError}` : ''})`);
        if (discarded !== rows.length) await refuseChanged(trx, parsed, 'discarded');
      });
      process.stdout.write(`discarded ${parsed.map((i) => `#${i}`).join(', ')}\n`);
    });
  outbox
    .command('flush')
    .description('send every row that is due now, once (what `run` does continuously)')
    .addHelpText('after', '\nNeeds DESKBRIDGE_SMTP (smtp://… or file:DIR), DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET (staff notifications are rendered as they are sent, with their reply tokens), and the same DESKBRIDGE_TEMPLATES as `run`.\n\nExample:\n  $ DESKBRIDGE_SMTP=file:./outbox npx deskbridge outbox flush')
    .action(async () => {
      const config = ctx.config;
      if (!config.smtp) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_SMTP is not set: give smtp://host:port or file:DIR');
      if (!config.address) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_ADDRESS is not set: the bridge needs its own address to send from');
      if (!config.secret) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_SECRET is not set: staff notifications are rendered as they are sent, with reply tokens signed by it');
      const db = await ctx.database();
      const { createOutboxWorker, openTransport } = lazy.outboxWorker();
      const transport = openTransport(config.smtp);
      try {
        const worker = createOutboxWorker({ db, transport, from: config.address, owner: `${config.instance}:${process.pid}:${randomUUID().slice(0, 8)}`, outbound: outboundOf(config), log: lazy.log().createLogger({ level: 'warn' }) });
        const counts = await worker.flushOnce();
        process.stdout.write(`sent ${counts.sent}, to retry ${counts.retry}, dead ${counts.dead}\n`);
      } finally {
        transport.close();
      }
    });
}
