// The configuration readers (config.ts SETTINGS, which replaced a zod schema): checks the
// zod schema made that the hand-written readers no longer make.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';

const withFile = (json: string) => {
  const cwd = mkdtempSync(join(tmpdir(), 'deskbridge-review-config-'));
  writeFileSync(join(cwd, 'deskbridge.config.json'), json);
  return cwd;
};

describe('configuration readers are as strict as the zod schema was', () => {
  // `k in SETTINGS` also finds Object.prototype's members: these keys were "unknown key" under zod's .strict()
  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])('refuses the unknown key "%s" in the config file', (key) => {
    expect(() => loadConfig({ env: {}, cwd: withFile(`{ "${key}": 1 }`) })).toThrow(new RegExp(`unknown key "${key}"`));
  });

  // zod's .int() accepted safe integers only; Number.isInteger(1e300) is true
  it.each(['1e300', '9007199254740993'])('refuses DESKBRIDGE_MAX_MESSAGE_BYTES=%s (not a safe whole number)', (value) => {
    expect(() => loadConfig({ env: { DESKBRIDGE_MAX_MESSAGE_BYTES: value }, cwd: withFile('{}') })).toThrow(/DESKBRIDGE_MAX_MESSAGE_BYTES: .* is not valid/);
  });
});
