// bin/deskbridge.js asks, before it loads the program, whether a piped mail
// may go to a running bridge (then it starts no parse worker ahead of time):
// an ingest socket in the environment, its _FILE variant or the config file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFilePath, ingestSocketMayBeSet } from '../src/config-file';
import { loadConfig } from '../src/config';

const dir = mkdtempSync(join(tmpdir(), 'deskbridge-config-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ingestSocketMayBeSet', () => {
  it('no socket anywhere: false, as the configuration itself says', () => {
    expect(ingestSocketMayBeSet({}, dir)).toBe(false);
    expect(loadConfig({ env: {}, cwd: dir }).ingestSocket).toBeUndefined();
  });

  it('the environment variable or its _FILE variant', () => {
    expect(ingestSocketMayBeSet({ DESKBRIDGE_INGEST_SOCKET: '/run/deskbridge.sock' }, dir)).toBe(true);
    expect(ingestSocketMayBeSet({ DESKBRIDGE_INGEST_SOCKET_FILE: join(dir, 'socket-name') }, dir)).toBe(true);
  });

  it('the key in deskbridge.config.json of the working folder, or in the file DESKBRIDGE_CONFIG names; the configuration reads the same file', () => {
    const own = mkdtempSync(join(dir, 'cwd-'));
    writeFileSync(join(own, 'deskbridge.config.json'), '{ "ingestSocket": "bridge.sock" }\n');
    expect(ingestSocketMayBeSet({}, own)).toBe(true);
    expect(loadConfig({ env: {}, cwd: own }).ingestSocket).toBe(join(own, 'bridge.sock'));
    const named = join(dir, 'elsewhere.json');
    writeFileSync(named, '{\n  // the bridge serves piped mail\n  "ingestSocket": "/run/deskbridge/ingest.sock"\n}\n');
    expect(configFilePath({ DESKBRIDGE_CONFIG: named }, own)).toBe(named);
    expect(ingestSocketMayBeSet({ DESKBRIDGE_CONFIG: named }, dir)).toBe(true);
    expect(ingestSocketMayBeSet({ DESKBRIDGE_CONFIG: join(dir, 'missing.json') }, dir)).toBe(false);
  });
});
