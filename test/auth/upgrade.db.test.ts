// An upgrade breaks no running desk: a system and a department created
// before sender authentication keep `none` / `token` (their unsigned mail
// still flows), `doctor` names each until an admin chooses, and `system edit
// --auth none` alone is a valid choice. `profile test` shows a mail's
// authentication and what the system's policy would do with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrationSourceOf } from '../../src/store/migration-source';
import { migrateLatest } from '../../src/store/migrate';
import { createPipeline } from '../../src/pipeline';
import { cliFor } from '../helpers/cli';
import { BACKEND, createTestDatabase, type TestDatabase } from '../helpers/database';
import { fixture, FIXTURES } from '../helpers/mail';
import { openDatabase, type Database } from '../../src/store/db';

let target: TestDatabase;
let db: Database;
const BEFORE = MIGRATIONS.findIndex(([name]) => name === '20261130110100_add_sender_auth');

beforeAll(async () => {
  target = await createTestDatabase('upgrade');
  db = openDatabase(target.url);
  // the schema as it was before sender authentication, with a system, a department and a map made then
  await db.knex.migrate.latest({ migrationSource: migrationSourceOf(MIGRATIONS.slice(0, BEFORE)) });
  const now = new Date().toISOString();
  await db.knex('systems').insert({ slug: 'acme', name: 'Acme', from_addresses: '["@billing.acme.example"]', relay_to: 'support@billing.acme.example', profile: 'whmcs', enabled: true, created_at: now, updated_at: now });
  await db.knex('departments').insert({ slug: 'hosting', name: 'Hosting', created_at: now, updated_at: now });
  const dept = await db.knex('departments').first('id');
  const system = await db.knex('systems').first('id');
  await db.knex('correspondences').insert({ system_id: system.id, remote_id: 'support@billing.acme.example', remote_name: 'Technical Support', remote_name_key: 'technical support', department_id: dept.id, enabled: true, created_at: now, updated_at: now });
  await migrateLatest(db);
});
afterAll(async () => {
  await db?.close();
  await target?.drop();
});

describe(`upgrading a running desk on ${BACKEND}`, () => {
  it('old rows keep trusting as before: the unsigned notification still makes its ticket', async () => {
    const [r] = await createPipeline(db, { bridgeAddress: null, maxMessageBytes: 25 * 1024 * 1024 }).ingest([{ raw: fixture('whmcs-new.eml'), label: 'x', source: 'stdin' }]);
    expect(r!.state).toBe('ticket_created');
  });

  it('doctor names each system and department without a policy, with the command that sets one; `--auth none` alone is a choice', async () => {
    const cli = cliFor(target.url, { DESKBRIDGE_SECRET: 'upgrade-test-secret-0123' });
    const before = await cli(['doctor', '--json']);
    const checks = JSON.parse(before.stdout) as Array<{ name: string; ok: boolean; fix?: string }>;
    expect(checks.filter((c) => !c.ok).map((c) => [c.name, c.fix])).toEqual([
      ['settings', expect.any(String)], // no DESKBRIDGE_IMAP here
      ['system acme', expect.stringContaining('deskbridge system edit acme --auth dmarc')],
      ['department hosting', expect.stringContaining('deskbridge department edit hosting --staff-auth dmarc')],
    ]);
    expect((await cli(['system', 'edit', 'acme', '--auth', 'none'])).code).toBe(0);
    expect((await cli(['department', 'edit', 'hosting', '--staff-auth', 'bogus'])).stderr).toMatch(/^deskbridge: --staff-auth: "bogus" is not one of dmarc, token\n$/);
    expect((await cli(['department', 'edit', 'hosting', '--staff-auth', 'token'])).code).toBe(0);
    const after = JSON.parse((await cli(['doctor', '--json'])).stdout) as Array<{ name: string; ok: boolean; detail: string }>;
    expect(after.find((c) => c.name === 'policies')).toMatchObject({ ok: true, detail: 'system acme --auth none; department hosting --staff-auth token' });
  });

  it('profile test shows the authentication and what the policy would do; inbox list --json shows auth', async () => {
    const cli = cliFor(target.url);
    expect((await cli(['system', 'edit', 'acme', '--auth', 'dmarc'])).code).toBe(0);
    const r = await cli(['profile', 'test', '--system', 'acme', `${FIXTURES}/whmcs-new.eml`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      auth: { dkim: 'none', spf: 'none', dmarc: 'none', domain: null, source: 'verified' },
      policy: { auth: 'dmarc', verdict: 'parked_unauthenticated', reason: expect.stringMatching(/no DKIM signature/) },
    });
    const [row] = JSON.parse((await cli(['inbox', 'list', '--json'])).stdout) as Array<{ auth: unknown }>;
    expect(row!.auth).toEqual({ dkim: 'none', spf: 'none', dmarc: 'none', domain: null, source: 'verified' });
  });
});
