// `deskbridge doctor`: one line per check, what to fix after a failed one,
// exit 1 when any check fails (0 when all pass), so it can gate a deploy.
import type { Command } from 'commander';
import { lazy } from './lazy';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the configuration, the database and its migrations, the auth policies of systems and departments, each IMAP login and mailbox, SMTP, the templates, sender authentication (DNS) and whether the build\'s code cache fits this Node.js')
    .option('--json', 'print the checks as an array of objects')
    .addHelpText('after', '\nExit 0 when every check passes, 1 when any fails.\n\nExample:\n  $ npx deskbridge doctor')
    .action(async (opts: { json?: boolean }) => {
      const checks = await lazy.doctor().runDoctor();
      if (opts.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else {
        const width = Math.max(...checks.map((c) => c.name.length));
        for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}${!c.ok && c.fix ? ` — fix: ${c.fix}` : ''}\n`);
      }
      if (checks.some((c) => !c.ok)) process.exitCode = 1;
    });
}
