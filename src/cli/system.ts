// `deskbridge system …`: the external billing/helpdesk systems.
import type { Command } from 'commander';
import { addSystem, editSystem, removeSystem, requireSystem, systemView, type SystemInput } from '../admin/systems';
import { DeskbridgeError } from '../errors';
import { listSystems, type System } from '../store/systems';
import { allowlistOverlaps } from '../mail/sender-match';
import type { Knex } from 'knex';
import type { CliContext } from './context';
import { printList, printRecord, type Column } from './output';

const COLUMNS: Column<System>[] = [
  { header: 'SLUG', value: (s) => s.slug },
  { header: 'NAME', value: (s) => s.name },
  { header: 'FROM', value: (s) => s.from.join(',') },
  { header: 'RELAY TO', value: (s) => s.relayTo },
  { header: 'PROFILE', value: (s) => (s.profileJson ? `${s.profile} (custom)` : s.profile) },
  { header: 'STATUS', value: (s) => s.enabled },
  { header: 'AUTH', value: (s) => s.auth ?? 'none (not chosen)' },
];

type Opts = SystemInput & { json?: boolean; enable?: boolean; disable?: boolean };

/** One line on stderr per allowlist entry another system also covers: the most specific entry wins, and the admin should know which. */
async function reportOverlaps(knex: Knex, system: System): Promise<void> {
  const others = (await listSystems(knex)).filter((s) => s.id !== system.id);
  for (const note of allowlistOverlaps(system.from, others)) process.stderr.write(`deskbridge: note: ${note}\n`);
}

export function registerSystem(program: Command, ctx: CliContext): void {
  const system = program
    .command('system')
    .description('external billing/helpdesk systems whose notifications deskbridge accepts')
    .addHelpText('after', '\nExample:\n  $ deskbridge system add whmcs --name "Acme WHMCS" --from @billing.acme.example --relay-to support@billing.acme.example --profile whmcs');

  system
    .command('add <slug>')
    .description('add a system')
    .option('--name <name>', 'display name (required)')
    .option('--from <list>', 'sender allowlist: addresses and @domain entries, comma-separated (required)')
    .option('--relay-to <address>', 'where staff replies to this system are sent (required)')
    .option('--profile <preset>', 'parse profile preset: headers, whmcs, otrs, blesta (see `deskbridge profile list`)')
    .option('--profile-file <file.json>', 'a custom parse profile (JSON)')
    .option('--auth <policy>', 'sender authentication its notifications need: dmarc (DKIM/SPF aligned with From; default) or none (From alone)')
    .option('--json', 'print the new system as JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge system add billmgr --name "BILLmanager" --from noreply@bill.example --relay-to tickets@bill.example --profile headers')
    .action(async (slug: string, opts: Opts) => {
      const db = await ctx.database();
      const created = await addSystem(db, ctx.actor, slug, opts);
      if (opts.json) printRecord(systemView(created), opts);
      else process.stdout.write(`added system ${created.slug}\n`);
      await reportOverlaps(db.knex, created);
    });

  system
    .command('list')
    .description('list systems')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const rows = await listSystems((await ctx.database()).knex);
      printList(rows, opts, COLUMNS, systemView, 'no systems (add one with `deskbridge system add`)');
    });

  system
    .command('show <slug>')
    .description('show one system')
    .option('--json', 'print JSON')
    .action(async (slug: string, opts: { json?: boolean }) => {
      printRecord(systemView(await requireSystem((await ctx.database()).knex, slug)), opts);
    });

  system
    .command('edit <slug>')
    .description('change a system')
    .option('--name <name>', 'display name')
    .option('--from <list>', 'sender allowlist (replaces the old one)')
    .option('--relay-to <address>', 'relay address')
    .option('--profile <preset>', 'parse profile preset')
    .option('--profile-file <file.json>', 'a custom parse profile (JSON)')
    .option('--auth <policy>', 'dmarc or none (see `system add --help`)')
    .option('--enable', 'accept its mail')
    .option('--disable', 'stop taking its mail in: it is parked as parked_disabled (`parked replay` after --enable)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge system edit whmcs --from @billing.acme.example,noreply@acme.example')
    .action(async (slug: string, opts: Opts) => {
      if (opts.enable && opts.disable) {
        throw new DeskbridgeError('EUSAGE', 'system edit: --enable and --disable exclude each other');
      }
      const enabled = opts.enable ? true : opts.disable ? false : undefined;
      const db = await ctx.database();
      const updated = await editSystem(db, ctx.actor, slug, { ...opts, enabled });
      printRecord(systemView(updated), opts);
      if (opts.from !== undefined) await reportOverlaps(db.knex, updated);
    });

  system
    .command('remove <slug>')
    .description('remove a system (refused while correspondences or tickets point to it)')
    .action(async (slug: string) => {
      await removeSystem(await ctx.database(), ctx.actor, slug);
      process.stdout.write(`removed system ${slug}\n`);
    });
}
