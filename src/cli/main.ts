// The `deskbridge` command line: one commander program, one file per noun.
// Exit codes (DESIGN.md): 0 success, 1 runtime failure, 2 bad usage or bad
// input, with one line on stderr naming the bad value.
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../package-root';
import { registerAudit } from './audit';
import type { CliContext } from './context';
import { lazy } from './lazy';
import { runCommand } from './run-command';
import { registerDepartment } from './department';
import { registerInbox } from './inbox';
import { registerIngest } from './ingest';
import { registerMap } from './map';
import { registerProfile } from './profile';
import { registerRun } from './run';
import { registerDoctor } from './doctor';
import { registerOutbox } from './outbox';
import { registerSetup } from './setup';
import { registerStatus } from './status';
import { registerSystem } from './system';
import { registerTicket } from './ticket';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('deskbridge')
    .description('deskbridge: the e-mail bridge between external billing/helpdesk systems and your support team')
    .version(packageVersion())
    .exitOverride()
    .configureHelp({ showGlobalOptions: true });
  registerSetup(program, ctx);
  registerSystem(program, ctx);
  registerDepartment(program, ctx);
  registerMap(program, ctx);
  registerProfile(program, ctx);
  registerRun(program, ctx);
  registerDoctor(program);
  registerIngest(program, ctx);
  registerInbox(program, ctx);
  registerTicket(program, ctx);
  registerOutbox(program, ctx);
  registerAudit(program, ctx);
  registerStatus(program, ctx);
  program.addHelpText('after', '\nConfiguration: DESKBRIDGE_* environment variables over deskbridge.config.json (see README).\nExample:\n  $ npx deskbridge map list');
  return program;
}

/** Commander's own errors (usage, --help, --version): it has printed them already. */
function commanderExit(err: unknown): number | undefined {
  if (!(err instanceof CommanderError)) return undefined;
  return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? 0 : 2;
}

export async function main(argv: string[]): Promise<void> {
  if (argv[2] === 'ingest') lazy.parsePool().startWorkerEarly(); // a form of `ingest` the ingest bundle left to the command line
  await runCommand((ctx) => buildProgram(ctx).parseAsync(argv), commanderExit);
}
