// `deskbridge ticket list|show|close|reopen`: the local tickets, their threads,
// and closing one from the command line (the close mail goes to its system).
import type { Command } from 'commander';
import { parseId } from '../admin/correspondences';
import { requireDepartment } from '../admin/departments';
import { requireSystem } from '../admin/systems';
import { DeskbridgeError } from '../errors';
import { loadSnapshot } from '../route/snapshot';
import { lazy, outboundOf } from './lazy';
import { appendMessage, getThread, getTicket, listTickets, updateTicket, type Ticket, type TicketStatus } from '../store/tickets';
import { outboxForTicket } from '../store/mail-effects';
import type { CliContext } from './context';
import { printList, printRecord, terminalText, type Column } from './output';

const COLUMNS: Column<Ticket>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'SYSTEM', value: (t) => t.system },
  { header: 'REMOTE ID', value: (t) => t.remoteTicketId },
  { header: 'DEPARTMENT', value: (t) => t.department },
  { header: 'STATUS', value: (t) => t.status },
  { header: 'MSGS', value: (t) => t.messages },
  { header: 'CUSTOMER', value: (t) => t.customerEmail },
  { header: 'SUBJECT', value: (t) => t.subject.slice(0, 60) },
];

export const ticketView = (t: Ticket) => ({
  id: t.id,
  system: t.system,
  remoteTicketId: t.remoteTicketId,
  department: t.department,
  status: t.status,
  subject: t.subject,
  customerEmail: t.customerEmail,
  customerName: t.customerName,
  messages: t.messages,
  createdAt: t.createdAt,
  updatedAt: t.updatedAt,
  closedAt: t.closedAt,
});

export function registerTicket(program: Command, ctx: CliContext): void {
  const ticket = program.command('ticket').description('local tickets, one per remote ticket');
  ticket
    .command('list')
    .description('list tickets')
    .option('--status <status>', 'open or closed')
    .option('--department <slug>', 'only this department')
    .option('--system <slug>', 'only this system')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge ticket list --status open --department hosting')
    .action(async (opts: { status?: string; department?: string; system?: string; json?: boolean }) => {
      if (opts.status !== undefined && opts.status !== 'open' && opts.status !== 'closed') {
        throw new DeskbridgeError('EINVALID', `--status: "${opts.status}" is not open or closed`);
      }
      const { knex } = await ctx.database();
      const rows = await listTickets(knex, {
        status: opts.status as TicketStatus | undefined,
        departmentId: opts.department === undefined ? undefined : (await requireDepartment(knex, opts.department)).id,
        systemId: opts.system === undefined ? undefined : (await requireSystem(knex, opts.system)).id,
      });
      printList(rows, opts, COLUMNS, ticketView, 'no tickets');
    });
  ticket
    .command('show <id>')
    .description('show a ticket with its thread')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const { knex } = await ctx.database();
      const t = await getTicket(knex, parseId(id, 'ticket id'));
      if (!t) throw new DeskbridgeError('ENOTFOUND', `unknown ticket #${id} (see \`deskbridge ticket list\`)`);
      const outbox = await outboxForTicket(knex, t.id);
      // each message with the mail it caused: a relay shows whether it was delivered (queued, sent, dead, bounced)
      const thread = (await getThread(knex, t.id)).map((m) => ({ ...m, outbox: outbox.filter((o) => o.sourceMessageId === m.id).map((o) => ({ id: o.id, kind: o.kind, state: o.state, to: o.to, lastError: o.lastError })) }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...ticketView(t), thread }, null, 2)}\n`);
        return;
      }
      printRecord(ticketView(t), {});
      for (const m of thread) {
        process.stdout.write(`\n--- #${m.id} ${m.direction}${m.event ? ` (${m.event})` : ''} ${terminalText(m.from ?? '')} ${m.createdAt}\n${terminalText(m.text.trimEnd(), true)}\n`);
        for (const a of m.attachments) process.stdout.write(`[attachment] ${terminalText(a.name)} ${terminalText(a.type)} ${a.size} bytes sha256:${a.sha256}\n`);
        for (const o of m.outbox) process.stdout.write(`[${o.kind} #${o.id} ${o.state.toUpperCase()}] to ${terminalText(o.to.join(', '))}${o.lastError && o.state !== 'sent' ? `: ${terminalText(o.lastError)}` : ''}\n`);
      }
    });
  ticket
    .command('close <id>')
    .description('close a ticket and send the close mail to its system (what a staff reply starting with #close does)')
    .option('--message <text>', 'words to put above the close template')
    .option('--as <name>', "the name the close mail is signed with (default: the ticket's department, never the Unix user)")
    .addHelpText('after', '\nNeeds DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET (the close mail is queued in the outbox).\n\nExample:\n  $ deskbridge ticket close 42 --message "Solved by the kernel update." --as "Anna, Hosting support"')
    .action(async (id: string, opts: { message?: string; as?: string }) => {
      if (opts.as !== undefined && opts.as.trim() === '') throw new DeskbridgeError('EINVALID', '--as: give the name to sign with');
      const ticketId = parseId(id, 'ticket id');
      const outbound = outboundOf(ctx.config);
      if (!outbound) throw new DeskbridgeError('ECONFIG', 'ticket close: DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET are needed to send the close mail');
      const db = await ctx.database();
      const relay = await db.knex.transaction(async (trx) => {
        const t = await getTicket(trx, ticketId);
        if (!t) throw new DeskbridgeError('ENOTFOUND', `unknown ticket #${id} (see \`deskbridge ticket list\`)`);
        if (t.status === 'closed') throw new DeskbridgeError('EINVALID', `ticket #${t.id} is already closed`);
        await updateTicket(trx, t.id, { status: 'closed' });
        const messageId = await appendMessage(trx, { ticketId: t.id, inboundId: null, direction: 'event', event: 'closed', fromAddress: null, fromName: null, messageId: null, text: `closed by ${ctx.actor}${opts.message ? `: ${opts.message}` : ''}`, html: null });
        const snapshot = await loadSnapshot(trx);
        // the customer reads this signature: the department speaks, not the shell account that ran the command
        const signature = opts.as?.trim() ?? snapshot.department(t.departmentId)?.name ?? t.department;
        return lazy.relay().queueRelay(trx, { ticket: t, snapshot, outbound, close: true, text: opts.message ?? '', staff: { address: outbound.address, name: signature }, attachments: 0, sourceMessageId: messageId, loop: null });
      });
      process.stdout.write(
        relay.closedLocallyOnly
          ? `closed ticket #${ticketId} here only: its system has no close by mail; close it there too${relay.outboxId !== null ? ` (the message is outbox #${relay.outboxId})` : ''}\n`
          : `closed ticket #${ticketId}; the close mail is outbox #${relay.outboxId}\n`,
      );
    });
  ticket
    .command('reopen <id>')
    .description("reopen a closed ticket; where the system's profile says how (relayReopen), the reopen mail is queued to it, else the remote side reopens its own by writing again")
    .option('--message <text>', 'words for the reopen mail')
    .addHelpText('after', '\nExample:\n  $ deskbridge ticket reopen 42')
    .action(async (id: string, opts: { message?: string }) => {
      const ticketId = parseId(id, 'ticket id');
      const db = await ctx.database();
      const outbound = outboundOf(ctx.config);
      const note = await db.knex.transaction(async (trx) => {
        const t = await getTicket(trx, ticketId);
        if (!t) throw new DeskbridgeError('ENOTFOUND', `unknown ticket #${id} (see \`deskbridge ticket list\`)`);
        if (t.status === 'open') throw new DeskbridgeError('EINVALID', `ticket #${t.id} is already open`);
        await updateTicket(trx, t.id, { status: 'open' });
        const messageId = await appendMessage(trx, { ticketId: t.id, inboundId: null, direction: 'event', event: 'reopened', fromAddress: null, fromName: null, messageId: null, text: `reopened by ${ctx.actor}${opts.message ? `: ${opts.message}` : ''}`, html: null });
        const snapshot = await loadSnapshot(trx);
        const system = snapshot.systems.find((s) => s.id === t.systemId);
        if (!system || !snapshot.profileOf(system).relayReopen) return '';
        if (!outbound) return ` (no reopen mail to ${system.slug}: DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET are not set)`;
        // the remote side reads this signature: the department speaks, not the shell account that ran the command
        const signature = snapshot.department(t.departmentId)?.name ?? t.department;
        const relay = await lazy.relay().queueRelay(trx, { ticket: t, snapshot, outbound, close: false, reopen: true, text: opts.message ?? '', staff: { address: outbound.address, name: signature }, attachments: 0, sourceMessageId: messageId, loop: null });
        return `; the reopen mail is outbox #${relay.outboxId}`;
      });
      process.stdout.write(`reopened ticket #${ticketId}${note}\n`);
    });
}
