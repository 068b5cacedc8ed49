// Runs the real `deskbridge` binary as a child process, as an admin would:
// in an empty working directory (so no stray deskbridge.config.json is read),
// with stdin a pipe (not a terminal) unless told otherwise.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The command: under `npm test`, a build of the sources made fresh for this
 * run (scripts/test.mjs sets DESKBRIDGE_TEST_BIN); under vitest alone, the
 * sources through tsx. Tests never depend on a build in dist/ being current.
 */
export const BIN = process.env.DESKBRIDGE_TEST_BIN || join(__dirname, '..', '..', 'scripts', 'deskbridge-dev.cjs');
const EMPTY_DIR = mkdtempSync(join(tmpdir(), 'deskbridge-cwd-'));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: options.cwd ?? EMPTY_DIR, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A CLI bound to one database. */
export function cliFor(database: string, extraEnv: Record<string, string> = {}) {
  return (args: string[], options: CliOptions = {}) =>
    runCli(args, { ...options, env: { DESKBRIDGE_DATABASE: database, DESKBRIDGE_CONFIG: undefined, ...extraEnv, ...options.env } });
}
