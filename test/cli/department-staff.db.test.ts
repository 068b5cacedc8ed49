// Staff names in a department's staff list (`--staff "Anna Staff <anna@…>"`):
// kept beside the address, shown by list/show, a bare address still fine,
// and a bad entry refused with exit 2 naming it, changing nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;
beforeAll(async () => {
  db = await openTestDatabase('cli_staff');
  cli = cliFor(db.url);
});
afterAll(async () => db?.drop());

describe(`department staff names on ${BACKEND}`, () => {
  it('add with names, list and show them; a bad entry is exit 2 and changes nothing', async () => {
    const added = await cli(['department', 'add', 'hosting', '--name', 'Hosting', '--staff', '"Staff, Anna" <Anna@Desk.test>, bob@desk.test']);
    expect(added.code, added.stderr).toBe(0);
    const shown = JSON.parse((await cli(['department', 'show', 'hosting', '--json'])).stdout);
    expect(shown).toMatchObject({ staff: ['anna@desk.test', 'bob@desk.test'], staffNames: { 'anna@desk.test': 'Staff, Anna' } });
    expect((await cli(['department', 'list'])).stdout).toContain('Staff, Anna <anna@desk.test>, bob@desk.test');

    const bad = await cli(['department', 'edit', 'hosting', '--staff', 'Carol <carol-at-desk>']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('"carol-at-desk"');
    expect(JSON.parse((await cli(['department', 'show', 'hosting', '--json'])).stdout).staff).toEqual(['anna@desk.test', 'bob@desk.test']);
  });
});
