// `deskbridge run`: the long-running bridge. SIGTERM or SIGINT stops it the
// clean way (the batch in hand is committed and marked, sessions log out,
// leases are released) and it exits 0; a second signal exits at once, with
// nothing lost: what was not committed is read again on the next start.
import type { Command } from 'commander';
import { lazy } from './lazy';
import type { CliContext } from './context';

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('read the mailboxes in DESKBRIDGE_IMAP (IMAP IDLE, fallback poll) and process every mail through the pipeline until stopped')
    .addHelpText(
      'after',
      `
Needs DESKBRIDGE_IMAP and DESKBRIDGE_SECRET; DESKBRIDGE_HTTP=host:port serves /healthz and /metrics.
DESKBRIDGE_INGEST_SOCKET=PATH takes the mail of \`deskbridge ingest\` calls (an MTA pipe) on a Unix socket;
with it, DESKBRIDGE_IMAP may be left unset (a desk whose mail comes through the pipe only).
Logs are JSON lines on stdout (pretty on a terminal); DESKBRIDGE_LOG_LEVEL sets the level.

Example:
  $ DESKBRIDGE_IMAP='imaps://support%40example.com:app-password@imap.example.com/INBOX' \\
    DESKBRIDGE_SECRET="$(cat /etc/deskbridge/secret)" DESKBRIDGE_HTTP=127.0.0.1:9464 npx deskbridge run`,
    )
    .action(async () => {
      const { requireRunSettings, startBridge } = lazy.bridge();
      requireRunSettings(ctx.config); // before the database: a missing setting is the first thing to say
      const db = await ctx.database();
      const log = lazy.log().createLogger({ level: ctx.config.logLevel });
      const stop = new AbortController();
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          log.warn({ signal }, 'second signal: exiting now; uncommitted mail is read again on the next start');
          process.exit(1);
        }
        log.info({ signal }, 'stopping: finishing the batch in hand');
        stop.abort();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        const bridge = await startBridge(ctx.config, db, log, stop.signal);
        await bridge.done;
        log.info('stopped');
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
