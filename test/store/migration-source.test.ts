import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATION_NAMES } from '../../src/store/migration-names';
import { MIGRATIONS } from '../../src/store/migration-source';

describe('migration list', () => {
  it('lists every file in migrations/, in file-name order, without extensions', async () => {
    const files = readdirSync(join(__dirname, '..', '..', 'migrations'))
      .filter((f) => /\.(ts|js)$/.test(f))
      .map((f) => f.replace(/\.(ts|js)$/, ''))
      .sort();
    expect(MIGRATION_NAMES).toEqual(files);
    expect(MIGRATIONS.map(([name]) => name)).toEqual(files);
    // each name with its own file's module (the schema check reads the names, knex runs the modules)
    for (const [name, migration] of MIGRATIONS) expect(migration.up).toBe(((await import(join(__dirname, '..', '..', 'migrations', `${name}.ts`))) as typeof migration).up);
  });

  it('names each file YYYYMMDDHHMMSS_verb_noun', () => {
    for (const [name] of MIGRATIONS) expect(name).toMatch(/^\d{14}_[a-z]+(_[a-z]+)+$/);
  });
});
