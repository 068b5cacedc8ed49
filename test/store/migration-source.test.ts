import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migration-source';

describe('migration list', () => {
  it('lists every file in migrations/, in file-name order, without extensions', () => {
    const files = readdirSync(join(__dirname, '..', '..', 'migrations'))
      .filter((f) => /\.(ts|js)$/.test(f))
      .map((f) => f.replace(/\.(ts|js)$/, ''))
      .sort();
    expect(MIGRATIONS.map(([name]) => name)).toEqual(files);
  });

  it('names each file YYYYMMDDHHMMSS_verb_noun', () => {
    for (const [name] of MIGRATIONS) expect(name).toMatch(/^\d{14}_[a-z]+(_[a-z]+)+$/);
  });
});
