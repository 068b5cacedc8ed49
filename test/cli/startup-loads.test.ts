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
  const loaded = { modules: Object.keys(require.cache), bundles: vendor ? require.cache[vendor].exports.loadedBundles().map((b) => b.name) : [] };
  require('node:fs').writeFileSync(process.env.DESKBRIDGE_PROBE_OUT, JSON.stringify(loaded));
});
`,
);
afterAll(() => rmSync(work, { recursive: true, force: true }));

let calls = 0;
async function loads(args: string[]): Promise<{ migrations: string[]; bundles: string[] }> {
  const out = join(work, `loaded-${++calls}.json`);
  const run = await runCli(args, { env: { DESKBRIDGE_DATABASE: join(work, 'desk.sqlite'), DESKBRIDGE_CONFIG: undefined, NODE_OPTIONS: `--require ${probe}`, DESKBRIDGE_PROBE_OUT: out } });
  expect(run.code, run.stderr).toBe(0);
  const loaded = JSON.parse(readFileSync(out, 'utf8')) as { modules: string[]; bundles: string[] };
  return { migrations: loaded.modules.filter((f) => /[\\/](migrations[\\/]|store[\\/]migration-source\.js$|store[\\/]migrate\.js$)/.test(f)), bundles: loaded.bundles.sort() };
}

describe.runIf(built)(`what a command of the build loads (${BIN})`, () => {
  it('migrate runs the migrations (the probe sees them), map list and --help load none of their modules', async () => {
    const migrate = await loads(['migrate']);
    expect(migrate.migrations.length).toBeGreaterThanOrEqual(18); // migrate.js, migration-source.js and every migration
    expect(await loads(['map', 'list'])).toEqual({ migrations: [], bundles: ['knex'] });
    expect(await loads(['--help'])).toEqual({ migrations: [], bundles: [] });
  });
});
