// How a CLI call ends (DESIGN.md exit codes): 0 success, 1 runtime failure,
// 2 bad usage or bad input, with one line on stderr naming the bad value
// (passwords masked; the stack only at DESKBRIDGE_LOG_LEVEL=debug). Shared by
// the commander program (main.ts) and the MTA pipe's path (ingest-pipe.ts),
// which runs `ingest` without loading the rest of the command line.
import { isDeskbridgeError } from '../errors';
import { redactCredentials } from '../url-secrets';
import { CliContext } from './context';
import { terminalText } from './output';

/** `deskbridge inbox list | head` closes the pipe early: that is the reader's choice, not an error worth a stack trace. */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

/** Prints a failure as its one line (and the stack at debug level); returns the exit code it means. */
/** The message's first line, a line break inside a "quoted value" kept as part of it. */
function firstLine(message: string): string {
  let quoted = false;
  for (let i = 0; i < message.length; i++) {
    const c = message[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) return message.slice(0, i);
  }
  return message;
}

export function reportFailure(err: unknown): number {
  const message = redactCredentials((err as Error)?.message ?? String(err));
  // one line, and no control character of a value from outside (a file name, a mail's header) reaches the terminal raw
  // (a line break inside a quoted value is shown as \x0a, not taken for the end of the message: the reason after it stays)
  process.stderr.write(`deskbridge: ${terminalText(firstLine(message))}\n`);
  if (['debug', 'trace'].includes(process.env.DESKBRIDGE_LOG_LEVEL ?? '')) process.stderr.write(`${redactCredentials((err as Error)?.stack ?? '')}\n`);
  return isDeskbridgeError(err) ? err.exitCode : 1;
}

/**
 * Runs one command with its context and sets the exit code; `onError` may
 * claim an error (commander's own, which it has printed already) and say its
 * code, else reportFailure() tells it.
 */
export async function runCommand(command: (ctx: CliContext) => Promise<unknown>, onError?: (err: unknown) => number | undefined): Promise<void> {
  exitQuietlyOnClosedPipe();
  const ctx = new CliContext();
  let code = 0;
  try {
    await command(ctx);
  } catch (err) {
    code = onError?.(err) ?? reportFailure(err);
  } finally {
    await ctx.close().catch(() => undefined);
  }
  process.exitCode = code !== 0 ? code : (process.exitCode ?? 0); // a command may have set its own (doctor: 1 when a check failed)
}
