// `deskbridge inbox list | show | replay` (the ledger: any mail that made no
// ticket event can be decided again) and `deskbridge parked …` (the mails
// that wait for an admin: unmapped, disabled, unparsed, failed too often).
import type { Command } from 'commander';
import { lazy, outboundOf } from './lazy';
import { DeskbridgeError } from '../errors';
import { parseId } from '../admin/correspondences';
import { getInbound, getRaw, LEDGER_STATES, listInbound, PARKED_STATES, setOutcome, type InboundRow, type LedgerState } from '../store/inbound';
import { keepOutcome } from '../store/inbound-history';
import { isReplayable } from '../store/replayable';
import { formatDetails, inboundDetails, requireInbound } from './inbox-show';
import type { CliContext } from './context';
import { printResults } from './ingest-results';
import { checkChoice, printList, printRecord, type Column } from './output';

const COLUMNS: Column<InboundRow>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'STATE', value: (r) => r.state ?? 'unprocessed' },
  { header: 'RECEIVED', value: (r) => r.receivedAt },
  { header: 'FROM', value: (r) => r.from },
  { header: 'SYSTEM', value: (r) => r.system },
  { header: 'TICKET', value: (r) => (r.ticketId ? `#${r.ticketId}` : null) },
  { header: 'SUBJECT', value: (r) => (r.subject ?? '').slice(0, 60) },
  { header: 'REASON', value: (r) => r.reason },
];

export const inboundView = (r: InboundRow) => ({
  id: r.id,
  state: r.state,
  reason: r.reason,
  messageId: r.messageId,
  from: r.from,
  subject: r.subject,
  system: r.system,
  ticketId: r.ticketId,
  receivedAt: r.receivedAt,
  processedAt: r.processedAt,
  source: r.source,
  sourceRef: r.sourceRef,
  mailbox: r.mailbox,
  uidvalidity: r.uidvalidity,
  uid: r.uid,
  size: r.size,
  attempts: r.attempts,
  duplicateOf: r.duplicateOf,
  auth: lazy.auth().authView(r.auth),
});

type ReplayOptions = Parameters<import('../pipeline').Pipeline['reprocess']>[1];

/**
 * Decides stored mails again as intake does: on the parse pool (each mail held
 * to the per-mail deadline, so a hostile mail cannot freeze a replay) and with
 * the configured sender authentication (trusted authserv-ids, resolvers).
 */
async function replay(ctx: CliContext, db: Awaited<ReturnType<CliContext['database']>>, ids: number[], options: ReplayOptions) {
  const pool = lazy.parsePool().createParsePool({ deadlineMs: ctx.config.mailDeadlineSeconds * 1000 });
  const pipeline = lazy.pipeline().createPipeline(db, { bridgeAddress: ctx.config.address ?? null, maxMessageBytes: ctx.config.maxMessageBytes, parse: pool.parse, outbound: outboundOf(ctx.config), authenticate: lazy.auth().authenticatorFrom(ctx.config) });
  try {
    return await pipeline.reprocess(ids, options);
  } finally {
    await pool.close();
  }
}

/** Every id exists and may be replayed, checked before anything changes. */
async function requireReplayable(knex: Parameters<typeof getInbound>[0], ids: number[]): Promise<InboundRow[]> {
  const rows = await listInbound(knex, { ids });
  for (const id of ids) {
    const row = rows.find((r) => r.id === id);
    if (!row) throw new DeskbridgeError('ENOTFOUND', `unknown inbound mail #${id} (see \`deskbridge inbox list\`)`);
    if (row.state === 'duplicate') throw new DeskbridgeError('EINVALID', `inbound mail #${id} is a duplicate of #${row.duplicateOf}; replay #${row.duplicateOf}`);
    if (!isReplayable(row.state)) throw new DeskbridgeError('EINVALID', `inbound mail #${id} is ${row.state}: its ticket event is done, nothing to replay (see \`deskbridge inbox show ${id}\`)`);
  }
  return rows;
}

async function requireParked(knex: Parameters<typeof getInbound>[0], ids: number[]): Promise<InboundRow[]> {
  const rows = await listInbound(knex, { ids });
  for (const id of ids) {
    const row = rows.find((r) => r.id === id);
    if (!row) throw new DeskbridgeError('ENOTFOUND', `unknown inbound mail #${id} (see \`deskbridge parked list\`)`);
    if (!PARKED_STATES.includes(row.state!) && row.state !== 'failed') {
      throw new DeskbridgeError('EINVALID', `inbound mail #${id} is ${row.state}, not parked`);
    }
  }
  return rows;
}

export function registerInbox(program: Command, ctx: CliContext): void {
  const inbox = program.command('inbox').description('the inbound ledger: every mail received, with its outcome');
  inbox
    .command('list')
    .description('list ledger entries, oldest first')
    .option('--state <state>', `only this state (${LEDGER_STATES.join(', ')})`)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge inbox list --state rejected_sender --json')
    .action(async (opts: { state?: string; json?: boolean }) => {
      if (opts.state) checkChoice('--state', opts.state, LEDGER_STATES, 'a ledger state');
      const rows = await listInbound((await ctx.database()).knex, opts.state ? { states: [opts.state] } : {});
      printList(rows, opts, COLUMNS, inboundView, opts.state ? `no mail in state ${opts.state}` : 'the ledger is empty');
    });
  inbox
    .command('show <id>')
    .description('one ledger entry: its outcome and reason, earlier outcomes, authentication, ticket and the outbox items it caused')
    .option('--json', 'print one object (the ledger fields at the top level)')
    .option('--raw', 'print the stored mail as it arrived')
    .addHelpText('after', '\nExample:\n  $ deskbridge inbox show 42 --json')
    .action(async (id: string, opts: { json?: boolean; raw?: boolean }) => {
      const knex = (await ctx.database()).knex;
      const row = await requireInbound(knex, parseId(id, 'inbound id'));
      if (opts.raw) {
        const raw = await getRaw(knex, row.id);
        if (!raw) throw new DeskbridgeError('ENOTFOUND', `inbound mail #${row.id} keeps no bytes of its own${row.duplicateOf ? `: it is a duplicate of #${row.duplicateOf}` : ''}`);
        process.stdout.write(raw);
        return;
      }
      const details = await inboundDetails(knex, row, inboundView);
      if (opts.json) process.stdout.write(`${JSON.stringify(details, null, 2)}\n`);
      else process.stdout.write(formatDetails(details));
    });
  inbox
    .command('replay [id...]')
    .description('decide mails again with today\'s configuration (systems, staff, maps, secret): any mail that made no ticket event; its earlier outcome is kept in its history')
    .option('--state <state>', 'every mail in this state')
    .option('--json', 'print one object per mail')
    .addHelpText('after', '\nExamples:\n  $ deskbridge system add acme …            # the mail came before its system\n  $ deskbridge inbox replay --state rejected_sender\n  $ deskbridge inbox replay 17 18')
    .action(async (ids: string[], opts: { state?: string; json?: boolean }) => {
      if (!opts.state && ids.length === 0) throw new DeskbridgeError('EUSAGE', 'inbox replay: name ids or give --state');
      if (opts.state && ids.length > 0) throw new DeskbridgeError('EUSAGE', 'inbox replay: give ids or --state, not both');
      if (opts.state) {
        checkChoice('--state', opts.state, LEDGER_STATES, 'a ledger state');
        if (!isReplayable(opts.state as LedgerState)) throw new DeskbridgeError('EINVALID', `--state: ${opts.state} mails are not replayed (${opts.state === 'duplicate' ? 'replay their originals' : 'their ticket event is done'})`);
      }
      const db = await ctx.database();
      const rows = opts.state ? await listInbound(db.knex, { states: [opts.state] }) : await requireReplayable(db.knex, ids.map((i) => parseId(i, 'inbound id')));
      printResults(await replay(ctx, db, rows.map((r) => r.id), { resetAttempts: true, replayBy: `${ctx.actor}: inbox replay` }), opts.json);
    });

  const parked = program.command('parked').description('mails waiting for an admin: parked_unmapped, parked_disabled, parked_unparsed, parked_failed, parked_unauthenticated');
  parked
    .command('list')
    .description('list parked mails')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const rows = await listInbound((await ctx.database()).knex, { states: PARKED_STATES });
      printList(rows, opts, COLUMNS, inboundView, 'nothing is parked');
    });
  parked
    .command('show <id>')
    .description('show a parked mail: its ledger entry and headers')
    .option('--json', 'print JSON')
    .option('--raw', 'print the stored mail as it arrived')
    .action(async (id: string, opts: { json?: boolean; raw?: boolean }) => {
      const db = await ctx.database();
      const [row] = await requireParked(db.knex, [parseId(id, 'inbound id')]);
      const raw = await getRaw(db.knex, row!.id);
      if (opts.raw) {
        process.stdout.write(raw ?? Buffer.alloc(0));
        return;
      }
      printRecord(inboundView(row!), opts);
    });
  parked
    .command('replay [id...]')
    .description('run parked mails through the pipeline again (after adding or enabling a mapping)')
    .option('--all', 'every parked mail')
    .option('--json', 'print one object per mail')
    .addHelpText('after', '\nExample:\n  $ deskbridge map add --system whmcs --remote-id 7 --name Support --department hosting\n  $ deskbridge parked replay --all')
    .action(async (ids: string[], opts: { all?: boolean; json?: boolean }) => {
      if (!opts.all && ids.length === 0) throw new DeskbridgeError('EUSAGE', 'parked replay: name ids or give --all');
      if (opts.all && ids.length > 0) throw new DeskbridgeError('EUSAGE', 'parked replay: give ids or --all, not both');
      const db = await ctx.database();
      const rows = opts.all ? await listInbound(db.knex, { states: PARKED_STATES }) : await requireParked(db.knex, ids.map((i) => parseId(i, 'inbound id')));
      printResults(await replay(ctx, db, rows.map((r) => r.id), { resetAttempts: true, states: [...PARKED_STATES, 'failed'], replayBy: `${ctx.actor}: parked replay` }), opts.json);
    });
  parked
    .command('discard <id...>')
    .description('give up on parked mails: they stay in the ledger as `discarded`')
    .action(async (ids: string[]) => {
      const db = await ctx.database();
      const parsedIds = ids.map((i) => parseId(i, 'inbound id'));
      await db.knex.transaction(async (trx) => {
        const rows = await requireParked(trx, parsedIds);
        for (const row of rows) {
          await keepOutcome(trx, row, `${ctx.actor}: parked discard`);
          await setOutcome(trx, row.id, { state: 'discarded', reason: `discarded by ${ctx.actor} (was ${row.state}: ${row.reason ?? ''})`, systemId: row.systemId });
        }
      });
      process.stdout.write(`discarded ${parsedIds.map((i) => `#${i}`).join(', ')}\n`);
    });
}
