// The `deskbridge` command line: one commander program, one file per noun.
// Exit codes (DESIGN.md): 0 success, 1 runtime failure, 2 bad usage or bad
// input, with one line on stderr naming the bad value.
import { Command, CommanderError } from 'commander';
import { isDeskbridgeError } from '../errors';
import { packageVersion } from '../package-root';
import { redactCredentials } from '../url-secrets';
import { registerAudit } from './audit';
import { CliContext } from './context';
import { lazy } from './lazy';
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

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    return ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? 0 : 2;
  }
  if (isDeskbridgeError(err)) return err.exitCode;
  return 1;
}

/** `deskbridge inbox list | head` closes the pipe early: that is the reader's choice, not an error worth a stack trace. */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  if (argv[2] === 'ingest') lazy.parsePool().startWorkerEarly(); // an MTA pipe's one mail (bin/deskbridge.js may have started it already)
  const ctx = new CliContext();
  let code = 0;
  try {
    await buildProgram(ctx).parseAsync(argv);
  } catch (err) {
    code = exitCodeOf(err);
    // commander has printed its own usage errors already
    if (!(err instanceof CommanderError)) {
      const message = redactCredentials((err as Error)?.message ?? String(err));
      process.stderr.write(`deskbridge: ${message.split('\n')[0]}\n`);
      if (['debug', 'trace'].includes(process.env.DESKBRIDGE_LOG_LEVEL ?? '')) process.stderr.write(`${redactCredentials((err as Error)?.stack ?? '')}\n`);
    }
  } finally {
    await ctx.close().catch(() => undefined);
  }
  process.exitCode = code !== 0 ? code : (process.exitCode ?? 0); // a command may have set its own (doctor: 1 when a check failed)
}
