// The setup traps a new admin fell into (issue 13), through the real command:
// a database that depends on the working directory, a read-only command that
// creates one, passwords in error messages, stack traces, empty-list wording,
// tickets stored with nobody told.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { FIXTURES } from '../helpers/mail';

const dir = (label: string) => mkdtempSync(join(tmpdir(), `deskbridge-${label}-`));
const clean = { DESKBRIDGE_DATABASE: undefined, DESKBRIDGE_CONFIG: undefined, DESKBRIDGE_ADDRESS: undefined, DESKBRIDGE_SECRET: undefined };

describe('setup traps', () => {
  it('a read-only command in the wrong folder creates no database and names the path it looked at', async () => {
    const cwd = dir('nodb');
    for (const args of [['map', 'list'], ['inbox', 'list']]) {
      const r = await runCli(args, { cwd, env: clean });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`no database at ${join(cwd, 'deskbridge.sqlite')}`)]);
      expect(r.stderr).toContain('deskbridge init');
    }
    expect(existsSync(join(cwd, 'deskbridge.sqlite'))).toBe(false);
  });

  it('the database named in the config file is next to that file, whatever folder a command runs in', async () => {
    const etc = dir('etc');
    const config = join(etc, 'deskbridge.config.json');
    const init = await runCli(['init'], { cwd: etc, env: clean });
    expect(init.code, init.stderr).toBe(0);
    expect(existsSync(join(etc, 'deskbridge.sqlite'))).toBe(true);
    const elsewhere = dir('elsewhere');
    const r = await runCli(['map', 'list'], { cwd: elsewhere, env: { ...clean, DESKBRIDGE_CONFIG: config } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/no correspondences|^ID/m);
    expect(existsSync(join(elsewhere, 'deskbridge.sqlite'))).toBe(false);
  });

  it('a config syntax error names the line and column', async () => {
    const cwd = dir('badjson');
    writeFileSync(join(cwd, 'deskbridge.config.json'), '{\n  "database": "x.sqlite"\n  "processed": "seen"\n}\n');
    const r = await runCli(['map', 'list'], { cwd, env: clean });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/deskbridge\.config\.json:3:3: CommaExpected/);
  });

  it('a database that does not answer: one line naming the setting, no password, no stack (the stack at DESKBRIDGE_LOG_LEVEL=debug)', async () => {
    const env = { ...clean, DESKBRIDGE_DATABASE: 'postgres://desk:hun#ter/2?x@127.0.0.1:9/db' };
    const r = await runCli(['map', 'list'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^deskbridge: cannot open the database postgres:\/\/desk:\*\*\*\*@127\.0\.0\.1:9\/db \(DESKBRIDGE_DATABASE\): .*ECONNREFUSED/);
    const debug = await runCli(['map', 'list'], { env: { ...env, DESKBRIDGE_LOG_LEVEL: 'debug' } });
    expect(debug.stderr).toMatch(/\n\s+at /);
    for (const out of [r.stderr, debug.stderr]) expect(out).not.toMatch(/hun.?ter|hun%23ter/);
  });

  it('doctor never prints an IMAP or SMTP password holding # / ?', async () => {
    const r = await runCli(['doctor'], {
      env: { ...clean, DESKBRIDGE_DATABASE: join(dir('doc'), 'x.sqlite'), DESKBRIDGE_IMAP: 'imap://u:hun#ter/2?@127.0.0.1:9/INBOX', DESKBRIDGE_SMTP: 'smtp://u:hun?ter#2@127.0.0.1:9' },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+imap u@127\.0\.0\.1:9\/INBOX/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/hun.?ter/);
  });

  it('inbox list --state says there is no mail in that state, and ingest warns when nobody can be notified', async () => {
    const cwd = dir('ledger');
    const env = { ...clean, DESKBRIDGE_DATABASE: join(cwd, 'db.sqlite') };
    expect((await runCli(['init'], { cwd, env })).code).toBe(0);
    const ingest = await runCli(['ingest', join(FIXTURES, 'own-mail.eml')], { cwd, env });
    expect(ingest.code, ingest.stderr).toBe(0);
    expect(ingest.stderr).toMatch(/warning: DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET not set: tickets are stored, but no staff notification/);
    const r = await runCli(['inbox', 'list', '--state', 'parked_unparsed'], { cwd, env });
    expect(r.stdout.trim()).toBe('no mail in state parked_unparsed');
  });
});
