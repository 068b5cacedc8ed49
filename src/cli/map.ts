// `deskbridge map …`: the correspondence table (BILLmanager's "Remote support
// departments"): list, add, edit, delete with confirmation, enable, disable.
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import {
  addMap,
  correspondenceView,
  deleteMaps,
  editMap,
  listMaps,
  parseId,
  requireCorrespondences,
  setMapsEnabled,
} from '../admin/correspondences';
import { DeskbridgeError } from '../errors';
import type { Correspondence } from '../store/correspondences';
import type { CliContext } from './context';
import { printList, printRecord, type Column } from './output';

const COLUMNS: Column<Correspondence>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'SYSTEM', value: (c) => c.system },
  { header: 'REMOTE DEPARTMENT', value: (c) => c.name },
  { header: 'REMOTE ID', value: (c) => c.remoteId },
  { header: 'DEPARTMENT', value: (c) => c.department },
  { header: 'STATUS', value: (c) => c.enabled },
];

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerMap(program: Command, ctx: CliContext): void {
  const map = program
    .command('map')
    .description('the correspondence table: remote department (system, remote ID, name) → our department, on/off')
    .addHelpText('after', '\nExample:\n  $ deskbridge map add --system whmcs --remote-id support@billing.example.com --name "Technical support" --department hosting');

  map
    .command('list')
    .description('list correspondences')
    .option('--system <slug>', 'only those of this system')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge map list --system whmcs --json')
    .action(async (opts: { system?: string; json?: boolean }) => {
      const rows = await listMaps(await ctx.database(), opts);
      printList(rows, opts, COLUMNS, correspondenceView, 'no correspondences (add one with `deskbridge map add`)');
    });

  map
    .command('show <id>')
    .description('show one correspondence')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const db = await ctx.database();
      const [c] = await requireCorrespondences(db.knex, [parseId(id)]);
      printRecord(correspondenceView(c!), opts);
    });

  map
    .command('add')
    .description('map a remote department to one of ours; prints the new id')
    .requiredOption('--system <slug>', 'the external system')
    .requiredOption('--remote-id <id>', "the remote department's ID as the system's mails carry it")
    .requiredOption('--name <name>', "the remote department's name")
    .requiredOption('--department <slug>', 'our department that takes these tickets')
    .option('--disabled', 'add it switched off (mails for it are parked as parked_disabled)')
    .option('--json', 'print the new correspondence as JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge map add --system billmgr --remote-id 7 --name "Technical support" --department hosting')
    .action(async (opts: { system: string; remoteId: string; name: string; department: string; disabled?: boolean; json?: boolean }) => {
      const created = await addMap(await ctx.database(), ctx.actor, { ...opts, enabled: !opts.disabled });
      if (opts.json) printRecord(correspondenceView(created), opts);
      else process.stdout.write(`${created.id}\n`);
    });

  map
    .command('edit <id>')
    .description('change the remote name, the remote ID or our department of a correspondence')
    .option('--name <name>', "the remote department's name")
    .option('--remote-id <id>', "the remote department's ID")
    .option('--department <slug>', 'our department')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge map edit 3 --department billing')
    .action(async (id: string, opts: { name?: string; remoteId?: string; department?: string; json?: boolean }) => {
      const updated = await editMap(await ctx.database(), ctx.actor, parseId(id), opts);
      printRecord(correspondenceView(updated), opts);
    });

  map
    .command('delete <id...>')
    .description('delete correspondences (asks on a terminal; --yes in scripts)')
    .option('-y, --yes', 'do not ask')
    .addHelpText('after', '\nExample:\n  $ deskbridge map delete 3 4 --yes')
    .action(async (ids: string[], opts: { yes?: boolean }) => {
      const parsed = ids.map((id) => parseId(id));
      const db = await ctx.database();
      if (!opts.yes) {
        if (!process.stdin.isTTY) {
          throw new DeskbridgeError('ECONFIRM', 'map delete: no terminal to confirm on; pass --yes to delete without asking');
        }
          const found = await requireCorrespondences(db.knex, parsed);
        const list = found.map((c) => `#${c.id} ${c.system} "${c.name}" (${c.remoteId}) → ${c.department}`).join('\n  ');
        if (!(await confirm(`Delete these correspondences?\n  ${list}\n[y/N] `))) {
          process.stderr.write('nothing deleted\n');
          return;
        }
      }
      const deleted = await deleteMaps(db, ctx.actor, parsed);
      process.stdout.write(`deleted ${deleted.map((c) => `#${c.id}`).join(', ')}\n`);
    });

  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    map
      .command(`${verb} <id...>`)
      .description(enabled ? 'switch correspondences on' : 'switch correspondences off (their mails are parked as parked_disabled)')
      .addHelpText('after', `\nExample:\n  $ deskbridge map ${verb} 3 4`)
      .action(async (ids: string[]) => {
        const changed = await setMapsEnabled(await ctx.database(), ctx.actor, ids.map((id) => parseId(id)), enabled);
        const state = enabled ? 'on' : 'off';
        process.stdout.write(changed.length ? `${changed.map((c) => `#${c.id}`).join(', ')} now ${state}\n` : `already ${state}\n`);
      });
  }
}
