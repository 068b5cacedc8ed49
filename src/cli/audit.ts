// `deskbridge audit list`: every change to systems, departments and correspondences.
import type { Command } from 'commander';
import { listAudit, type AuditEntity, type AuditEntry } from '../store/audit';
import type { CliContext } from './context';
import { checkChoice, printList, type Column } from './output';

const ENTITIES = ['system', 'department', 'map'] as const;

const IGNORED = new Set(['id', 'createdAt', 'updatedAt']);

/** The change in one line: changed keys for an edit, the whole record for an add or remove. */
export function describeChange(before: unknown, after: unknown): string {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !IGNORED.has(k));
  const show = (v: unknown) => JSON.stringify(v);
  if (before == null) return keys.map((k) => `${k}=${show(a[k])}`).join(' ');
  if (after == null) return keys.map((k) => `${k}=${show(b[k])}`).join(' ');
  return keys
    .filter((k) => show(b[k]) !== show(a[k]))
    .map((k) => `${k}: ${show(b[k])} → ${show(a[k])}`)
    .join(', ');
}

const COLUMNS: Column<AuditEntry>[] = [
  { header: 'ID', value: (a) => a.id },
  { header: 'AT', value: (a) => a.at },
  { header: 'ACTOR', value: (a) => a.actor },
  { header: 'WHAT', value: (a) => `${a.entity} ${a.key} ${a.action}` },
  { header: 'CHANGE', value: (a) => describeChange(a.before, a.after) },
];

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('the audit log of changes to systems, departments and correspondences');
  audit
    .command('list')
    .description('list audit entries, oldest first')
    .option('--entity <entity>', `only this kind: ${ENTITIES.join(', ')}`)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ deskbridge audit list --entity map --json')
    .action(async (opts: { entity?: string; json?: boolean }) => {
      const entity = opts.entity === undefined ? undefined : checkChoice<AuditEntity>('--entity', opts.entity, ENTITIES);
      const rows = await listAudit((await ctx.database()).knex, { entity });
      printList(rows, opts, COLUMNS, (a) => a, 'no changes recorded yet');
    });
}
