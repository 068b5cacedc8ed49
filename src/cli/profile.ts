// `deskbridge profile list|test`: the parse profiles, and a dry run of one
// mail through a system's profile and routing that writes nothing.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { requireSystem } from '../admin/systems';
import { DeskbridgeError } from '../errors';
import { PROFILE_FIELDS, type Profile } from '../mail/profile-schema';
import { presetProfiles, systemProfile } from '../mail/profiles';
import { route } from '../route/route';
import { listCorrespondences } from '../store/correspondences';
import { findSystem } from '../store/systems';
import { lazy } from './lazy';
import type { CliContext } from './context';
import { printList, type Column } from './output';

const COLUMNS: Column<Profile>[] = [
  { header: 'NAME', value: (p) => p.name },
  { header: 'FIELDS', value: (p) => Object.keys(p.fields).join(',') },
  { header: 'DESCRIPTION', value: (p) => p.description ?? '' },
];

export function registerProfile(program: Command, ctx: CliContext): void {
  const profile = program.command('profile').description("parse profiles: how a system's mails are read");
  profile
    .command('list')
    .description('list the preset profiles')
    .option('--json', 'print JSON (the whole profiles)')
    .action((opts: { json?: boolean }) => {
      printList([...presetProfiles().values()], opts, COLUMNS, (p) => p, 'no profiles');
    });
  profile
    .command('show <system>')
    .description("print a system's profile as stored (its custom profile, or the preset it names); a preset's name works too")
    .addHelpText('after', '\nExample:\n  $ deskbridge profile show acme > acme-profile.json   # edit, then: deskbridge system edit acme --profile-file acme-profile.json')
    .action(async (name: string) => {
      const { knex } = await ctx.database();
      const system = await findSystem(knex, name);
      if (!system && !presetProfiles().has(name)) await requireSystem(knex, name); // the error lists the known systems
      process.stdout.write(`${JSON.stringify(system ? systemProfile(system) : presetProfiles().get(name), null, 2)}\n`);
    });
  profile
    .command('test <file>')
    .description("dry run: what the system's profile extracts from a mail, from where, and where it would route; writes nothing")
    .requiredOption('--system <slug>', 'the system whose profile to use')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample (after the demo\'s `system add acme … --profile whmcs`; the file is in the package\'s examples/):\n  $ deskbridge profile test --system acme examples/1-whmcs-new-ticket.eml')
    .action(async (file: string, opts: { system: string; json?: boolean }) => {
      let raw: Buffer;
      try {
        raw = readFileSync(file);
      } catch (err) {
        throw new DeskbridgeError('EINVALID', `profile test: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const { knex } = await ctx.database();
      const system = await requireSystem(knex, opts.system);
      const p = systemProfile(system);
      const facts = await lazy.parseMail().parseMail(raw);
      const { cleanSubject, extract, traceExtraction } = lazy.extract();
      const fields = extract(p, facts);
      const tried = traceExtraction(p, facts);
      const subject = fields.subject ?? { value: cleanSubject(facts.subject, p), source: 'mail subject, tag and prefixes removed' };
      const maps = await listCorrespondences(knex, { systemId: system.id });
      const verdict = lazy.classify().classify(facts, { systems: [system], bridgeAddress: ctx.config.address ?? null });
      const r = route(maps, { ticket: fields.ticket?.value, departmentId: fields.departmentId?.value, departmentName: fields.departmentName?.value });
      const routeView =
        r.kind === 'mapped'
          ? { result: 'mapped', correspondence: r.entry.id, department: r.entry.department, by: r.by }
          : { result: r.kind, reason: r.reason };
      const out = {
        system: system.slug,
        profile: p.name,
        classification: verdict.kind,
        fields: Object.fromEntries(PROFILE_FIELDS.map((f) => [f, f === 'subject' ? subject : (fields[f] ?? null)])),
        tried,
        route: routeView,
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      process.stdout.write(`system ${system.slug}, profile ${p.name}; the mail classifies as ${verdict.kind}\n`);
      for (const f of PROFILE_FIELDS) {
        const v = out.fields[f] as { value: string; source: string } | null;
        process.stdout.write(`${`${f}:`.padEnd(16)}${v ? `${JSON.stringify(v.value)}  (from ${v.source})` : '-'}\n`);
        tried[f].forEach((t, i) => process.stdout.write(`${''.padEnd(16)}${i + 1}. ${t.extractor} → ${t.matched === null ? 'no match' : JSON.stringify(t.matched)}\n`));
      }
      process.stdout.write(`${'route:'.padEnd(16)}${r.kind === 'mapped' ? `correspondence #${r.entry.id} → ${r.entry.department} (by ${r.by})` : `${r.kind}: ${r.reason}`}\n`);
    });
}
