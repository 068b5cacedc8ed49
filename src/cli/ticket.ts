// `deskbridge ticket list|show`: the local tickets and their threads.
import type { Command } from 'commander';
import { parseId } from '../admin/correspondences';
import { requireDepartment } from '../admin/departments';
import { requireSystem } from '../admin/systems';
import { DeskbridgeError } from '../errors';
import { getThread, getTicket, listTickets, type Ticket, type TicketStatus } from '../store/tickets';
import type { CliContext } from './context';
import { printList, printRecord, type Column } from './output';

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
      const thread = await getThread(knex, t.id);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...ticketView(t), thread }, null, 2)}\n`);
        return;
      }
      printRecord(ticketView(t), {});
      for (const m of thread) {
        process.stdout.write(`\n--- #${m.id} ${m.direction}${m.event ? ` (${m.event})` : ''} ${m.from ?? ''} ${m.createdAt}\n${m.text.trimEnd()}\n`);
        for (const a of m.attachments) process.stdout.write(`[attachment] ${a.name} ${a.type} ${a.size} bytes sha256:${a.sha256}\n`);
      }
    });
}
