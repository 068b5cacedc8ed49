// `deskbridge profile list|test`: the parse profiles, and a dry run of one
// mail through a system's profile and routing that writes nothing.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { requireSystem } from '../admin/systems';
import type { SenderAuth } from '../auth/sender-auth';
import type { System } from '../store/systems';
import { DeskbridgeError } from '../errors';
import { PROFILE_FIELDS, type Profile } from '../mail/profile-schema';
import { presetProfiles, systemProfile } from '../mail/profiles';
import { describeRoute, route } from '../route/route';
import { findTicketByRemote } from '../store/tickets';
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

/** What the system's --auth policy would do with this mail: accept, park, or try again later. */
function policyPreview(system: System, auth: SenderAuth, fromAddress: string | null) {
  const policyName = system.auth ?? 'none';
  if (policyName === 'none') return { auth: policyName, verdict: 'accepted (From alone)', reason: null };
  const v = lazy.authPolicy().judgeSender(auth, fromAddress);
  return { auth: policyName, verdict: v.kind === 'pass' ? 'accepted' : v.kind === 'fail' ? 'parked_unauthenticated' : 'failed (tried again: DNS)', reason: v.kind === 'pass' ? null : v.reason };
}

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
    .description("dry run: what the system's profile extracts from a mail, from where, where it would route, its sender authentication and what the system's --auth policy would do; writes nothing")
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
      const { authenticatorFrom, authView, describeAuth } = lazy.auth();
      const auth = await authenticatorFrom(ctx.config)(raw);
      const policy = policyPreview(system, auth, facts.fromAddress);
      const { cleanSubject, extract, traceExtraction } = lazy.extract();
      const started = performance.now();
      const fields = extract(p, facts);
      const patternMs = Math.round((performance.now() - started) * 10) / 10; // the pipeline parks a mail whose parse and extraction pass DESKBRIDGE_MAIL_DEADLINE_SECONDS
      const tried = traceExtraction(p, facts);
      const subject = fields.subject ?? { value: cleanSubject(facts.subject, p), source: 'mail subject, tag and prefixes removed' };
      const maps = await listCorrespondences(knex, { systemId: system.id });
      const verdict = lazy.classify().classify(facts, { systems: [system], bridgeAddress: ctx.config.address ?? null });
      const r = route(maps, { ticket: fields.ticket?.value, departmentId: fields.departmentId?.value, departmentName: fields.departmentName?.value });
      const local = fields.ticket ? await findTicketByRemote(knex, system.id, fields.ticket.value) : undefined;
      const known = local ? { id: Number(local.id), department: (await knex('departments').where({ id: local.department_id }).first('slug')).slug as string } : undefined;
      const routeView =
        r.kind === 'mapped'
          ? { result: 'mapped', correspondence: r.entry.id, department: r.entry.department, by: r.by, ticket: known?.id ?? null }
          : r.kind === 'by_ticket' && known
            ? { result: 'by_ticket', department: known.department, ticket: known.id }
            : { result: r.kind === 'by_ticket' ? 'parked_unmapped' : r.kind, reason: r.reason };
      const out = {
        system: system.slug,
        profile: p.name,
        classification: verdict.kind,
        fields: Object.fromEntries(PROFILE_FIELDS.map((f) => [f, f === 'subject' ? subject : (fields[f] ?? null)])),
        tried,
        route: routeView,
        patternMs,
        auth: authView(auth),
        policy,
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
      process.stdout.write(`${'patterns took:'.padEnd(16)}${patternMs} ms (a mail is parked past ${ctx.config.mailDeadlineSeconds} s)\n`);
      process.stdout.write(`${'auth:'.padEnd(16)}${describeAuth(auth)}\n`);
      process.stdout.write(`${'policy:'.padEnd(16)}--auth ${policy.auth}: ${policy.verdict}${policy.reason ? ` (${policy.reason})` : ''}\n`);
      process.stdout.write(`${'route:'.padEnd(16)}${describeRoute(r, known)}\n`);
    });
}
