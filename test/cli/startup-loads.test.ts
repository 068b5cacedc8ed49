// What a command loads before it does its work (issue 15: start-up is most
// of a short call): `--help` loads no bundle and no migration, `map list`
// only the knex bundle and the migrations' names, not their modules, which
// only `migrate` and `init` run. Read off the built program (DESKBRIDGE_TEST_BIN)
// by a module preloaded into the call, which writes down at exit what the
// process loaded.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli';

const built = Boolean(process.env.DESKBRIDGE_TEST_BIN);
if (!built) console.warn('!! test/cli/startup-loads.test.ts: no test build (run `npm test`, which makes one): what the compiled commands load is NOT checked');

const work = mkdtempSync(join(tmpdir(), 'deskbridge-loads-'));
const probe = join(work, 'probe.cjs');
writeFileSync(
  probe,
  `process.on('exit', () => {
  const vendor = Object.keys(require.cache).find((f) => f.endsWith('/src/vendor.js'));
  const bundles = vendor ? require.cache[vendor].exports.loadedBundles() : [];
  const loaded = { modules: Object.keys(require.cache), bundles: bundles.map((b) => b.name), caches: bundles.map((b) => b.cache) };
  require('node:fs').writeFileSync(process.env.DESKBRIDGE_PROBE_OUT, JSON.stringify(loaded));
});
`,
);
afterAll(() => rmSync(work, { recursive: true, force: true }));

let calls = 0;
async function loads(args: string[]): Promise<{ migrations: string[]; bundles: string[]; caches: string[]; modules: string[]; stdout: string }> {
  const out = join(work, `loaded-${++calls}.json`);
  const run = await runCli(args, { env: { DESKBRIDGE_DATABASE: join(work, 'desk.sqlite'), DESKBRIDGE_CONFIG: undefined, NODE_OPTIONS: `--require ${probe}`, DESKBRIDGE_PROBE_OUT: out } });
  expect(run.code, run.stderr).toBe(0);
  const loaded = JSON.parse(readFileSync(out, 'utf8')) as { modules: string[]; bundles: string[]; caches: string[] };
  return {
    migrations: loaded.modules.filter((f) => /[\\/](migrations[\\/]|store[\\/]migration-source\.js$|store[\\/]migrate\.js$)/.test(f)),
    bundles: loaded.bundles.sort(),
    caches: loaded.caches,
    modules: loaded.modules,
    stdout: run.stdout,
  };
}

/** The command-line modules a call loaded: commander's, and the cli/ modules other than the ingest path's own. */
const commandLine = (modules: string[]) => modules.filter((f) => /[\\/]node_modules[\\/]commander[\\/]/.test(f) || /[\\/]cli[\\/](main|department|inbox|map|outbox|run|system|ticket|setup|status|audit|profile|doctor)\.js$/.test(f));

describe.runIf(built)(`what a command of the build loads (${BIN})`, () => {
  it('migrate runs the migrations (the probe sees them), map list and --help load none of their modules', async () => {
    const migrate = await loads(['migrate']);
    expect(migrate.migrations.length).toBeGreaterThanOrEqual(18); // migrate.js, migration-source.js and every migration
    expect(await loads(['map', 'list'])).toMatchObject({ migrations: [], bundles: ['knex'] });
    expect(await loads(['--help'])).toMatchObject({ migrations: [], bundles: [] });
  });

  it('ingest FILE… (as xargs calls it) runs without the rest of the command line, with the same results; another option goes through it', async () => {
    const mails = [0, 1].map((i) => {
      const file = join(work, `files-form-${i}.eml`);
      writeFileSync(file, `From: someone@elsewhere.example\r\nTo: bridge@support.example\r\nSubject: files form ${i}\r\nMessage-ID: <files-form-${i}@elsewhere.example>\r\n\r\nHello.\r\n`);
      return file;
    });
    const files = await loads(['ingest', mails[0]!, '--json', mails[1]!]);
    expect(commandLine(files.modules)).toEqual([]);
    // from the ingest bundle (dist/vendor/ingest.js, with its code cache), not module by module: of our own
    // modules only the bundles' loader came from its file (the packages' bundles are the ingest bundle's to load)
    expect(files.bundles).toEqual(['ingest']);
    expect(files.caches).toEqual(['used']);
    expect(files.modules.filter((f) => /[\\/]dist[\\/]src[\\/]/.test(f)).map((f) => f.replace(/.*[\\/]dist[\\/]/, ''))).toEqual(['src/vendor.js', 'src/errors.js']);
    // nor the heavy packages file by file: the ingest bundle loads their bundles (better-sqlite3's addon aside)
    expect(files.modules.filter((f) => /[\\/]node_modules[\\/](knex|handlebars|nodemailer|mailparser|libmime|mailauth)[\\/]/.test(f))).toEqual([]);
    expect(files.modules.some((f) => /better_sqlite3\.node$/.test(f))).toBe(true); // the probe sees what the bundle's copy loads
    const results = JSON.parse(files.stdout) as Array<{ file: string; state: string }>;
    expect(results.map((r) => [r.file, r.state])).toEqual([
      [mails[0], 'rejected_sender'],
      [mails[1], 'rejected_sender'],
    ]);
    // the same files again, through commander (`--` ends its options): the same mails, now duplicates
    const viaCommander = await loads(['ingest', '--json', '--', ...mails]);
    expect(commandLine(viaCommander.modules).length).toBeGreaterThan(0);
    expect((JSON.parse(viaCommander.stdout) as Array<{ state: string }>).map((r) => r.state)).toEqual(['duplicate', 'duplicate']);
  });
});
