// Systems and departments from the command line, through the real binary.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, type CliResult } from '../helpers/cli';
import { adminState, BACKEND, openTestDatabase } from '../helpers/database';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;
const dir = mkdtempSync(join(tmpdir(), 'deskbridge-profiles-'));

beforeAll(async () => {
  db = await openTestDatabase('cli_sysdep');
  cli = cliFor(db.url);
});
afterAll(async () => db?.drop());

const ok = (r: CliResult) => {
  expect(r.code, r.stderr).toBe(0);
  return r;
};
const json = <T>(r: CliResult): T => JSON.parse(ok(r).stdout) as T;
const everything = () => adminState(db.knex);

describe(`system and department commands on ${BACKEND}`, () => {
  it('system add / list / show with the documented JSON keys', async () => {
    ok(await cli(['system', 'add', 'whmcs', '--name', 'Acme WHMCS', '--from', 'NoReply@Acme.example, @billing.acme.example', '--relay-to', 'support@billing.acme.example', '--profile', 'whmcs']));
    const [system] = json<Array<Record<string, unknown>>>(await cli(['system', 'list', '--json']));
    expect(system).toMatchObject({ slug: 'whmcs', name: 'Acme WHMCS', from: ['noreply@acme.example', '@billing.acme.example'], relayTo: 'support@billing.acme.example', profile: 'whmcs', enabled: true });
    expect(json(await cli(['system', 'show', 'whmcs', '--json']))).toEqual(system);
    expect(ok(await cli(['system', 'show', 'whmcs'])).stdout).toMatch(/^from:\s+noreply@acme.example, @billing.acme.example$/m);
  });

  it('system add --profile-file stores a valid custom profile', async () => {
    const file = join(dir, 'billmgr.json');
    writeFileSync(file, JSON.stringify({ name: 'billmgr-mail', fields: { ticket: [{ from: 'subject', pattern: 'Ticket #(?<value>\\d+)' }] }, relaySubject: 'Re: Ticket #{{remoteTicketId}}' }));
    ok(await cli(['system', 'add', 'billmgr', '--name', 'BILLmanager', '--from', 'noreply@bill.example', '--relay-to', 'tickets@bill.example', '--profile-file', file]));
    expect(json(await cli(['system', 'show', 'billmgr', '--json']))).toMatchObject({ profile: 'billmgr-mail', customProfile: true });
  });

  it('system edit changes fields, --disable switches it off', async () => {
    const edited = json<Record<string, unknown>>(await cli(['system', 'edit', 'whmcs', '--relay-to', 'desk@billing.acme.example', '--disable', '--json']));
    expect(edited).toMatchObject({ relayTo: 'desk@billing.acme.example', enabled: false });
    expect(json<Record<string, unknown>>(await cli(['system', 'edit', 'whmcs', '--enable', '--json'])).enabled).toBe(true);
  });

  it('department add / list / show / edit', async () => {
    ok(await cli(['department', 'add', 'hosting', '--name', 'Hosting support', '--staff', 'anna@support.example,Bob@Support.example']));
    expect(json(await cli(['department', 'list', '--json']))).toEqual([expect.objectContaining({ slug: 'hosting', name: 'Hosting support', staff: ['anna@support.example', 'bob@support.example'] })]);
    const edited = json<Record<string, unknown>>(await cli(['department', 'edit', 'hosting', '--staff', 'carol@support.example', '--json']));
    expect(edited.staff).toEqual(['carol@support.example']);
    expect(json<Record<string, unknown>>(await cli(['department', 'show', 'hosting', '--json'])).staff).toEqual(['carol@support.example']);
  });

  const badProfile = join(dir, 'bad.json');
  writeFileSync(badProfile, JSON.stringify({ name: 'bad', fields: { ticket: [{ from: 'subject', pattern: '#(\\d+)' }] } }));
  const notJson = join(dir, 'not.json');
  writeFileSync(notJson, '{ name: ');

  it.each([
    [['system', 'add', 'x', '--name', 'X', '--from', 'not-an-address', '--relay-to', 'a@x.example', '--profile', 'whmcs'], /--from: "not-an-address" is not a valid address or domain/],
    [['system', 'add', 'x', '--name', 'X', '--from', 'a@x.example', '--relay-to', 'nobody', '--profile', 'whmcs'], /--relay-to: "nobody" is not a valid e-mail address/],
    [['system', 'add', 'x', '--name', 'X', '--from', 'a@x.example', '--relay-to', 'a@x.example', '--profile', 'zendesk'], /--profile: unknown profile "zendesk" \(known: blesta, headers, otrs, rt, whmcs\)/],
    [['system', 'add', 'x', '--name', 'X', '--from', 'a@x.example', '--relay-to', 'a@x.example', '--profile-file', badProfile], /bad.json: fields.ticket\[0\].pattern: "#\(\\d\+\)" has no named group/],
    [['system', 'add', 'x', '--name', 'X', '--from', 'a@x.example', '--relay-to', 'a@x.example', '--profile-file', notJson], /not.json is not valid JSON/],
    [['system', 'add', 'x', '--name', 'X', '--from', 'a@x.example', '--relay-to', 'a@x.example'], /--profile or --profile-file is required/],
    [['system', 'add', 'Bad Slug', '--name', 'X', '--from', 'a@x.example', '--relay-to', 'a@x.example', '--profile', 'whmcs'], /system "Bad Slug" is not a valid slug/],
    [['system', 'add', 'whmcs', '--name', 'X', '--from', 'a@x.example', '--relay-to', 'a@x.example', '--profile', 'whmcs'], /system "whmcs" already exists/],
    [['system', 'edit', 'nope', '--name', 'X'], /unknown system "nope"/],
    [['system', 'edit', 'whmcs'], /nothing to change/],
    [['system', 'edit', 'whmcs', '--enable', '--disable'], /--enable and --disable exclude each other/],
    [['department', 'add', 'sales', '--name', 'Sales', '--staff', 'anna@support.example,broken'], /--staff: "broken" is not a valid e-mail address/],
    [['department', 'add', 'hosting', '--name', 'Again', '--staff', 'a@support.example'], /department "hosting" already exists/],
    [['department', 'edit', 'nope', '--name', 'X'], /unknown department "nope"/],
    [['department', 'remove', 'nope'], /unknown department "nope"/],
  ])('bad input %j exits 2, names it, changes nothing', async (args, message) => {
    const before = await everything();
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(await everything()).toEqual(before);
  });

  it('removing a system or department that correspondences point to is refused, naming them', async () => {
    const id = ok(await cli(['map', 'add', '--system', 'whmcs', '--remote-id', 'support@billing.acme.example', '--name', 'Support', '--department', 'hosting'])).stdout.trim();
    const before = await everything();
    const s = await cli(['system', 'remove', 'whmcs']);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain(`system "whmcs" is still used by correspondences #${id}`);
    const d = await cli(['department', 'remove', 'hosting']);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain(`department "hosting" is still used by correspondences #${id} (whmcs support@billing.acme.example)`);
    expect(await everything()).toEqual(before);

    ok(await cli(['map', 'delete', id, '--yes']));
    ok(await cli(['system', 'remove', 'whmcs']));
    ok(await cli(['department', 'remove', 'hosting']));
    expect(json<Array<{ slug: string }>>(await cli(['system', 'list', '--json'])).map((s) => s.slug)).toEqual(['billmgr']);
    const audit = json<Array<{ entity: string; key: string; action: string }>>(await cli(['audit', 'list', '--json']));
    expect(audit.filter((a) => a.entity !== 'map').map((a) => `${a.entity} ${a.key} ${a.action}`)).toEqual([
      'system whmcs add',
      'system billmgr add',
      'system whmcs edit',
      'system whmcs edit',
      'department hosting add',
      'department hosting edit',
      'system whmcs remove',
      'department hosting remove',
    ]);
  });

  it('--help on a command shows an example', async () => {
    for (const args of [['map', 'add', '--help'], ['system', 'add', '--help'], ['department', 'add', '--help'], ['map', 'delete', '--help']]) {
      const r = ok(await cli(args));
      expect(r.stdout).toMatch(/Example:\n {2}\$ deskbridge /);
    }
  });
});
