// `deskbridge department …`: our support departments and their staff.
import type { Command } from 'commander';
import { addDepartment, departmentView, editDepartment, removeDepartment, requireDepartment } from '../admin/departments';
import { listDepartments, type Department } from '../store/departments';
import type { CliContext } from './context';
import { printList, printRecord, type Column } from './output';

const COLUMNS: Column<Department>[] = [
  { header: 'SLUG', value: (d) => d.slug },
  { header: 'NAME', value: (d) => d.name },
  { header: 'STAFF', value: (d) => d.staff.map((a) => (d.staffNames[a] ? `${d.staffNames[a]} <${a}>` : a)).join(', ') },
  { header: 'STAFF AUTH', value: (d) => d.staffAuth ?? 'token (not chosen)' },
];

export function registerDepartment(program: Command, ctx: CliContext): void {
  const department = program
    .command('department')
    .description('our support departments: who is notified and who may reply')
    .addHelpText('after', '\nExample:\n  $ deskbridge department add hosting --name "Hosting support" --staff anna@support.example,bob@support.example');

  department
    .command('add <slug>')
    .description('add a department')
    .option('--name <name>', 'display name (required)')
    .option('--staff <list>', 'staff, comma-separated: "Anna Staff <anna@example.com>" or a bare address (required); the name signs their relays')
    .option('--staff-auth <policy>', 'how staff replies are trusted: dmarc (staff mail authenticated, DKIM/SPF aligned; default) or token (only through the reply address issued to that staff member)')
    .option('--json', 'print the new department as JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge department add hosting --name "Hosting support" --staff "Anna Staff <anna@support.example>"')
    .action(async (slug: string, opts: { name?: string; staff?: string; staffAuth?: string; json?: boolean }) => {
      const created = await addDepartment(await ctx.database(), ctx.actor, slug, opts);
      if (opts.json) printRecord(departmentView(created), opts);
      else process.stdout.write(`added department ${created.slug}\n`);
    });

  department
    .command('list')
    .description('list departments')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const rows = await listDepartments((await ctx.database()).knex);
      printList(rows, opts, COLUMNS, departmentView, 'no departments (add one with `deskbridge department add`)');
    });

  department
    .command('show <slug>')
    .description('show one department')
    .option('--json', 'print JSON')
    .action(async (slug: string, opts: { json?: boolean }) => {
      printRecord(departmentView(await requireDepartment((await ctx.database()).knex, slug)), opts);
    });

  department
    .command('edit <slug>')
    .description('change a department')
    .option('--name <name>', 'display name')
    .option('--staff <list>', 'staff, "Name <address>" or address, comma-separated (replaces the old list)')
    .option('--staff-auth <policy>', 'dmarc or token (see `department add --help`)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge department edit hosting --staff anna@support.example,carol@support.example')
    .action(async (slug: string, opts: { name?: string; staff?: string; staffAuth?: string; json?: boolean }) => {
      printRecord(departmentView(await editDepartment(await ctx.database(), ctx.actor, slug, opts)), opts);
    });

  department
    .command('remove <slug>')
    .description('remove a department (refused while correspondences or tickets point to it)')
    .action(async (slug: string) => {
      await removeDepartment(await ctx.database(), ctx.actor, slug);
      process.stdout.write(`removed department ${slug}\n`);
    });
}
