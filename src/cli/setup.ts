// `deskbridge init` and `deskbridge migrate`: a sample configuration and the schema.
import type { Command } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { configFilePath, DEFAULT_CONFIG_FILE } from '../config-file';
import { redactUrl } from '../url-secrets';
import type { CliContext } from './context';
import { lazy } from './lazy';

export const SAMPLE_CONFIG = `// deskbridge configuration (JSON with comments). Every key can also be set by
// an environment variable, which wins (DESKBRIDGE_DATABASE, DESKBRIDGE_IMAP, …;
// the README lists them), and NAME_FILE reads the value from a file (secrets).
{
  // SQLite file, or postgres://user:pass@host:5432/db for several instances.
  "database": "./deskbridge.sqlite",

  // Mailboxes to read: imap[s]://user:pass@host:port/MAILBOX (default INBOX).
  // "imap": ["imaps://bridge%40support.example:app-password@imap.example.com:993/INBOX"],

  // Where mail goes out: smtp[s]://user:pass@host:port, or file:DIR for demos.
  // "smtp": "smtp://127.0.0.1:25",

  // The bridge's own address; reply tokens are local+token@domain.
  // "address": "bridge@support.example",

  // Key for reply tokens: a long random string. Better in DESKBRIDGE_SECRET_FILE.
  // "secret": "change-me-to-a-long-random-string",

  // host:port for /healthz and /metrics; off when absent.
  // "http": "127.0.0.1:9464",

  // After processing: "seen" flags the mail \\Seen; any other value is a folder to move it to.
  "processed": "seen"
}
`;

export function registerSetup(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description(`write a commented ${DEFAULT_CONFIG_FILE} if there is none, then migrate the database`)
    .addHelpText('after', '\nExample:\n  $ npx deskbridge init')
    .action(async () => {
      const path = configFilePath(process.env, process.cwd());
      if (existsSync(path)) {
        process.stdout.write(`keeping existing ${path}\n`);
      } else {
        writeFileSync(path, SAMPLE_CONFIG, { flag: 'wx' });
        process.stdout.write(`wrote ${path}\n`);
      }
      const { applied } = await lazy.migrate().migrateLatest(ctx.rawDatabase());
      process.stdout.write(`database ${redactUrl(ctx.config.database)}: ${applied.length ? `applied ${applied.length} migration(s)` : 'up to date'}\n`);
    });

  program
    .command('migrate')
    .description('bring the database schema up to date (safe to run twice, or from two processes at once)')
    .addHelpText('after', '\nExample:\n  $ DESKBRIDGE_DATABASE=postgres://deskbridge@db.internal/deskbridge npx deskbridge migrate')
    .action(async () => {
      const { applied } = await lazy.migrate().migrateLatest(ctx.rawDatabase());
      if (applied.length === 0) process.stdout.write('already up to date\n');
      for (const name of applied) process.stdout.write(`applied ${name}\n`);
    });
}
