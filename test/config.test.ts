import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { parseMailboxUrl } from '../src/ingest/mailbox-spec';

const dir = () => mkdtempSync(join(tmpdir(), 'deskbridge-config-'));

describe('loadConfig', () => {
  it('falls back to the documented defaults', () => {
    const cwd = dir();
    const config = loadConfig({ env: {}, cwd });
    expect(config.database).toBe(join(cwd, 'deskbridge.sqlite'));
    expect(config.processed).toBe('seen');
    expect(config.imap).toEqual([]);
    expect(config.maxMessageBytes).toBe(25 * 1024 * 1024);
    expect(config.configFile).toBeNull();
  });

  it('reads deskbridge.config.json with comments, and the environment wins over it', () => {
    const cwd = dir();
    writeFileSync(
      join(cwd, 'deskbridge.config.json'),
      '// sample\n{ "database": "from-file.sqlite", /* inline */ "processed": "Done", "address": "bridge@support.example", }\n',
    );
    const config = loadConfig({ env: { DESKBRIDGE_PROCESSED: 'Archive' }, cwd });
    expect(config.database).toBe(join(cwd, 'from-file.sqlite'));
    expect(config.processed).toBe('Archive');
    expect(config.address).toBe('bridge@support.example');
  });

  it('splits DESKBRIDGE_IMAP on white space', () => {
    const config = loadConfig({ env: { DESKBRIDGE_IMAP: 'imap://a:b@127.0.0.1:143/INBOX  imaps://c:d@127.0.0.1:993/Support' }, cwd: dir() });
    expect(config.imap).toEqual(['imap://a:b@127.0.0.1:143/INBOX', 'imaps://c:d@127.0.0.1:993/Support']);
  });

  it('splits DESKBRIDGE_AUTHSERV_ID and DESKBRIDGE_DNS on commas; the file may give lists', () => {
    const config = loadConfig({ env: { DESKBRIDGE_AUTHSERV_ID: 'mx.google.com, mx.support.example', DESKBRIDGE_DNS: '127.0.0.1:5353,[::1]:53,9.9.9.9' }, cwd: dir() });
    expect(config.authservId).toEqual(['mx.google.com', 'mx.support.example']);
    expect(config.dns).toEqual(['127.0.0.1:5353', '[::1]:53', '9.9.9.9']);
  });

  it('reads a secret from NAME_FILE', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'secret'), 'a-very-long-secret-value\n');
    expect(loadConfig({ env: { DESKBRIDGE_SECRET_FILE: join(cwd, 'secret') }, cwd }).secret).toBe('a-very-long-secret-value');
  });

  it('refuses NAME and NAME_FILE together', () => {
    expect(() => loadConfig({ env: { DESKBRIDGE_SECRET: 'x'.repeat(20), DESKBRIDGE_SECRET_FILE: '/nope' }, cwd: dir() })).toThrow(
      /DESKBRIDGE_SECRET and DESKBRIDGE_SECRET_FILE are both set/,
    );
  });

  it.each([
    [{ DESKBRIDGE_SMTP: 'ftp://user:hunter2@mail.example' }, /DESKBRIDGE_SMTP: "ftp:\/\/user:\*\*\*\*@mail.example\/?" is not valid/],
    [{ DESKBRIDGE_IMAP: 'pop3://u:hunter2@h/INBOX' }, /DESKBRIDGE_IMAP: .*u:\*\*\*\*@h.* is not valid: expected a URL starting with imap:\/\/ or imaps:\/\//],
    [{ DESKBRIDGE_ADDRESS: 'not-an-address' }, /DESKBRIDGE_ADDRESS: "not-an-address" is not valid/],
    [{ DESKBRIDGE_HTTP: 'localhost' }, /DESKBRIDGE_HTTP: "localhost" is not valid: expected host:port/],
    [{ DESKBRIDGE_SECRET: 'short' }, /DESKBRIDGE_SECRET: \(hidden\) is not valid: expected one or more keys of at least 16 characters each/],
    [{ DESKBRIDGE_SECRET: 'a-long-enough-new-key short' }, /DESKBRIDGE_SECRET: \(hidden\) is not valid: expected one or more keys of at least 16 characters each/],
    [{ DESKBRIDGE_DNS: '127.0.0.1:53,not a host' }, /DESKBRIDGE_DNS: .*"not a host".* is not valid: expected host or host:port/],
    [{ DESKBRIDGE_DATABASE: 'mysql://root@localhost/db' }, /DESKBRIDGE_DATABASE: .* expected a SQLite file path or a postgres:\/\/ URL/],
    [{ DESKBRIDGE_ADDRESS: 'support@localhost' }, /DESKBRIDGE_ADDRESS: "support@localhost" is not valid: expected an e-mail address/],
    [{ DESKBRIDGE_POLL_SECONDS: '0' }, /DESKBRIDGE_POLL_SECONDS: "0" is not valid: expected at least 1/],
    [{ DESKBRIDGE_POLL_SECONDS: '1.5' }, /DESKBRIDGE_POLL_SECONDS: "1.5" is not valid: expected a whole number/],
    [{ DESKBRIDGE_MAX_MESSAGE_BYTES: 'lots' }, /DESKBRIDGE_MAX_MESSAGE_BYTES: "lots" is not valid: expected a number/],
    [{ DESKBRIDGE_MAX_MESSAGE_BYTES: String(2 * 1024 ** 3) }, /DESKBRIDGE_MAX_MESSAGE_BYTES: "2147483648" is not valid: expected at most 1073741824/],
    [{ DESKBRIDGE_MAX_MESSAGE_BYTES: '0x10' }, /DESKBRIDGE_MAX_MESSAGE_BYTES: "0x10" is not valid: expected a number in decimal digits/], // Number() read it as 16
    [{ DESKBRIDGE_MAX_MESSAGE_BYTES: '1e6' }, /DESKBRIDGE_MAX_MESSAGE_BYTES: "1e6" is not valid: expected a number in decimal digits/],
    [{ DESKBRIDGE_MAIL_DEADLINE_SECONDS: '0' }, /DESKBRIDGE_MAIL_DEADLINE_SECONDS: "0" is not valid: expected a number above 0/],
    [{ DESKBRIDGE_LEASE_SECONDS: '61' }, /DESKBRIDGE_LEASE_SECONDS: "61" is not valid: expected at most 60/],
    [{ DESKBRIDGE_LOG_LEVEL: 'loud' }, /DESKBRIDGE_LOG_LEVEL: "loud" is not valid: expected one of fatal, error, warn, info, debug, trace, silent/],
  ])('names the bad value of %o and never shows the password', (env, message) => {
    let error: Error | undefined;
    try {
      loadConfig({ env, cwd: dir() });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('hunter2');
    expect((error as { code?: string }).code).toBe('ECONFIG');
  });

  it('reads numbers from the environment and the file, and takes ordinary addresses', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'deskbridge.config.json'), '{ "leaseSeconds": 0.6, "stallMinutes": 30, "authservId": ["mx.support.example"] }');
    const config = loadConfig({ env: { DESKBRIDGE_POLL_SECONDS: '120', DESKBRIDGE_ADDRESS: 'first.last+desk@mail.support.example.co.uk', DESKBRIDGE_LOG_LEVEL: 'debug' }, cwd });
    expect([config.pollSeconds, config.leaseSeconds, config.stallMinutes, config.authservId, config.address, config.logLevel]).toEqual([120, 0.6, 30, ['mx.support.example'], 'first.last+desk@mail.support.example.co.uk', 'debug']);
  });

  it('names an unknown key in the file', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'deskbridge.config.json'), '{ "databse": "x" }');
    expect(() => loadConfig({ env: {}, cwd })).toThrow(/unknown key "databse"/);
  });

  it('names a file that is not JSON, with the line and column of the mistake', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'deskbridge.config.json'), '// settings\n{\n  "database": "x.sqlite"\n  "processed": "seen"\n}\n');
    expect(() => loadConfig({ env: {}, cwd })).toThrow(/deskbridge\.config\.json:4:3: CommaExpected; the file must be JSON/);
  });

  it('takes a database path in the config file as relative to that file, not to the working directory', () => {
    const etc = dir();
    writeFileSync(join(etc, 'bridge.json'), '{ "database": "data/db.sqlite" }');
    const config = loadConfig({ env: { DESKBRIDGE_CONFIG: join(etc, 'bridge.json') }, cwd: dir() });
    expect(config.database).toBe(join(etc, 'data', 'db.sqlite'));
    const cwd = dir(); // from the environment: the working directory, as any path given on a command line
    expect(loadConfig({ env: { DESKBRIDGE_CONFIG: join(etc, 'bridge.json'), DESKBRIDGE_DATABASE: 'here.sqlite' }, cwd }).database).toBe(join(cwd, 'here.sqlite'));
  });

  it('takes passwords with #, /, ? and @ as typed in IMAP, SMTP and PostgreSQL URLs', () => {
    const config = loadConfig({
      env: {
        DESKBRIDGE_IMAP: 'imaps://bridge%40acme.example:p#ss/w?rd@imap.acme.example:993/Support',
        DESKBRIDGE_SMTP: 'smtp://relay:se#cr?et/1@smtp.acme.example:587',
        DESKBRIDGE_DATABASE: 'postgres://desk:pw#1/2?3@db.internal:5432/deskbridge',
      },
      cwd: dir(),
    });
    const spec = parseMailboxUrl(config.imap[0]!);
    expect(spec).toMatchObject({ user: 'bridge@acme.example', password: 'p#ss/w?rd', host: 'imap.acme.example', port: 993, mailbox: 'Support' });
    expect(decodeURIComponent(new URL(config.smtp!).password)).toBe('se#cr?et/1');
    expect(new URL(config.smtp!).hostname).toBe('smtp.acme.example');
    expect(decodeURIComponent(new URL(config.database).password)).toBe('pw#1/2?3');
  });

  it.each([
    [{ DESKBRIDGE_IMAP: 'pop3://u:hun#ter2@h/INBOX' }, /DESKBRIDGE_IMAP: .*u:\*\*\*\*@h.* is not valid/],
    [{ DESKBRIDGE_SMTP: 'smpt://u:hun/ter2?x@mail.example' }, /DESKBRIDGE_SMTP: "smpt:\/\/u:\*\*\*\*@mail.example" is not valid/],
    [{ DESKBRIDGE_DATABASE: 'mysql://root:hun?ter2@localhost/db' }, /DESKBRIDGE_DATABASE: .*root:\*\*\*\*@localhost/],
  ])('never shows a password holding URL characters in an error (%o)', (env, message) => {
    expect(() => loadConfig({ env, cwd: dir() })).toThrow(message);
    try {
      loadConfig({ env, cwd: dir() });
    } catch (err) {
      expect((err as Error).message).not.toMatch(/hun.?ter2/);
    }
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({ env: {}, cwd: dir() }))).toBe(true);
  });
});
