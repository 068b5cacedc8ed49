// The correspondence table from the command line, as BILLmanager's "Remote
// support departments" module behaves: list, add, edit, delete with
// confirmation, enable, disable — through the real binary.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliFor, type CliResult } from '../helpers/cli';
import { adminState, BACKEND, openTestDatabase } from '../helpers/database';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let cli: ReturnType<typeof cliFor>;

beforeAll(async () => {
  db = await openTestDatabase('cli_map');
  cli = cliFor(db.url);
  for (const args of [
    ['system', 'add', 'whmcs', '--name', 'Acme WHMCS', '--from', '@billing.acme.example', '--relay-to', 'support@billing.acme.example', '--profile', 'whmcs'],
    ['system', 'add', 'billmgr', '--name', 'BILLmanager', '--from', 'noreply@bill.example', '--relay-to', 'tickets@bill.example', '--profile', 'headers'],
    ['department', 'add', 'hosting', '--name', 'Hosting support', '--staff', 'anna@support.example,bob@support.example'],
    ['department', 'add', 'billing', '--name', 'Billing', '--staff', 'carol@support.example'],
  ]) {
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(0);
  }
});

afterAll(async () => db?.drop());

const json = <T>(r: CliResult): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

type Row = { id: number; system: string; remoteId: string; name: string; department: string; enabled: boolean };

const snapshot = () => adminState(db.knex);

describe(`map commands on ${BACKEND}`, () => {
  let support: number;
  let sales: number;

  it('add prints the new id; list shows ID, system, remote name, remote ID, department, status', async () => {
    const a = await cli(['map', 'add', '--system', 'billmgr', '--remote-id', '7', '--name', 'Technical support', '--department', 'hosting']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^\d+\n$/);
    support = Number(a.stdout);
    const b = await cli(['map', 'add', '--system', 'billmgr', '--remote-id', '9', '--name', 'Sales', '--department', 'billing', '--disabled']);
    sales = Number(b.stdout);

    const table = await cli(['map', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+SYSTEM\s+REMOTE DEPARTMENT\s+REMOTE ID\s+DEPARTMENT\s+STATUS$/);
    expect(table.stdout).toMatch(new RegExp(`^${support}\\s+billmgr\\s+Technical support\\s+7\\s+hosting\\s+on$`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^${sales}\\s+billmgr\\s+Sales\\s+9\\s+billing\\s+off$`, 'm'));

    expect(json<Row[]>(await cli(['map', 'list', '--json']))).toEqual([
      expect.objectContaining({ id: support, system: 'billmgr', remoteId: '7', name: 'Technical support', department: 'hosting', enabled: true }),
      expect.objectContaining({ id: sales, system: 'billmgr', remoteId: '9', name: 'Sales', department: 'billing', enabled: false }),
    ]);
  });

  it('list --system filters; the same remote ID may exist in another system', async () => {
    const w = await cli(['map', 'add', '--system', 'whmcs', '--remote-id', '7', '--name', 'Support', '--department', 'hosting']);
    expect(w.code, w.stderr).toBe(0);
    expect(json<Row[]>(await cli(['map', 'list', '--system', 'whmcs', '--json'])).map((r) => r.remoteId)).toEqual(['7']);
    expect(json<Row[]>(await cli(['map', 'list', '--system', 'billmgr', '--json']))).toHaveLength(2);
    expect((await cli(['map', 'delete', w.stdout.trim(), '--yes'])).code).toBe(0);
  });

  it('edit changes name, remote ID and department', async () => {
    const r = await cli(['map', 'edit', String(support), '--name', 'Tech support', '--remote-id', '17', '--department', 'billing', '--json']);
    expect(json<Row>(r)).toMatchObject({ id: support, name: 'Tech support', remoteId: '17', department: 'billing', enabled: true });
    await cli(['map', 'edit', String(support), '--department', 'hosting']);
    expect(json<Row>(await cli(['map', 'show', String(support), '--json'])).department).toBe('hosting');
  });

  it('disable and enable switch the status, several ids at once', async () => {
    expect((await cli(['map', 'disable', String(support), String(sales)])).code).toBe(0);
    expect(json<Row[]>(await cli(['map', 'list', '--json'])).map((r) => r.enabled)).toEqual([false, false]);
    expect((await cli(['map', 'enable', String(sales)])).code).toBe(0);
    expect(json<Row[]>(await cli(['map', 'list', '--json'])).map((r) => r.enabled)).toEqual([false, true]);
    await cli(['map', 'enable', String(support)]);
  });

  it.each([
    [['map', 'add', '--system', 'nope', '--remote-id', '1', '--name', 'X', '--department', 'hosting'], /unknown system "nope" \(known: billmgr, whmcs\)/],
    [['map', 'add', '--system', 'billmgr', '--remote-id', '1', '--name', 'X', '--department', 'nope'], /unknown department "nope" \(known: billing, hosting\)/],
    [['map', 'add', '--system', 'billmgr', '--remote-id', '17', '--name', 'Dup', '--department', 'hosting'], /--remote-id: system "billmgr" already maps remote department "17"/],
    [['map', 'add', '--system', 'billmgr', '--remote-id', '  ', '--name', 'X', '--department', 'hosting'], /--remote-id: "  " is not valid/],
    [['map', 'add', '--system', 'billmgr', '--remote-id', '5', '--department', 'hosting'], /required option '--name <name>' not specified/],
    [['map', 'edit', '9999', '--name', 'X'], /unknown correspondence #9999/],
    [['map', 'edit', 'abc', '--name', 'X'], /map id "abc" is not valid/],
    [['map', 'edit', 'ID', '--remote-id', '9'], /map id "ID" is not valid/],
    [['map', 'delete', '9999', '--yes'], /unknown correspondence #9999/],
    [['map', 'enable', '1', '9999'], /unknown correspondence #9999/],
    [['map', 'list', '--system', 'nope'], /unknown system "nope"/],
    [['map', 'frobnicate'], /unknown command 'frobnicate'/],
    [['map', 'add', '--system', 'billmgr', '--remote-id', '5', '--name', 'X', '--department', 'hosting', '--colour', 'red'], /unknown option '--colour'/],
  ])('bad input %j exits 2 with one line naming it and changes nothing', async (args, message) => {
    const before = await snapshot();
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(await snapshot()).toEqual(before);
  });

  it('edit to a remote ID taken by another correspondence of the system is refused', async () => {
    const before = await snapshot();
    const r = await cli(['map', 'edit', String(sales), '--remote-id', '17']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`already maps remote department "17" (correspondence #${support})`);
    expect(await snapshot()).toEqual(before);
  });

  it('delete without a terminal and without --yes refuses with exit 2', async () => {
    const before = await snapshot();
    const r = await cli(['map', 'delete', String(sales)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no terminal to confirm on; pass --yes/);
    expect(await snapshot()).toEqual(before);
  });

  /** Runs `map delete` on a pseudo-terminal (util-linux `script`) and answers the prompt. */
  const deleteOnTerminal = (id: number, answer: string) =>
    new Promise<string>((resolve) => {
      const command = `${process.execPath} ${BIN} map delete ${id}`;
      const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, DESKBRIDGE_DATABASE: db.url } });
      let out = '';
      let answered = false;
      child.stdin.on('error', () => {}); // the command may have exited before the answer is flushed
      child.stdout.on('data', (d) => {
        out += d;
        if (!answered && out.includes('[y/N]')) {
          answered = true; // once: later output must not write to a terminal that has gone
          child.stdin.write(`${answer}\n`);
        }
      });
      child.on('close', () => resolve(out));
    });

  it('delete on a terminal asks, and "n" keeps the correspondence', async () => {
    const out = await deleteOnTerminal(sales, 'n');
    expect(out).toContain(`#${sales} billmgr "Sales" (9) → billing`);
    expect(out).toContain('nothing deleted');
    expect(json<Row[]>(await cli(['map', 'list', '--json'])).map((r) => r.id)).toContain(sales);
  });

  it('delete on a terminal with "y" deletes', async () => {
    await deleteOnTerminal(sales, 'y');
    expect(json<Row[]>(await cli(['map', 'list', '--json'])).map((r) => r.id)).toEqual([support]);
  });

  it('every change is in the audit log with time, OS user, what, before and after', async () => {
    const audit = json<Array<{ at: string; actor: string; entity: string; key: string; action: string; before: Row | null; after: Row | null }>>(
      await cli(['audit', 'list', '--entity', 'map', '--json']),
    );
    const mine = audit.filter((a) => a.key === String(support) || a.key === String(sales));
    expect(mine.map((a) => `${a.key}:${a.action}`)).toEqual([
      `${support}:add`,
      `${sales}:add`,
      `${support}:edit`,
      `${support}:edit`,
      `${support}:disable`,
      `${sales}:enable`,
      `${support}:enable`,
      `${sales}:delete`,
    ]);
    const edit = mine[2]!;
    expect(edit.before).toMatchObject({ name: 'Technical support', remoteId: '7', department: 'hosting' });
    expect(edit.after).toMatchObject({ name: 'Tech support', remoteId: '17', department: 'billing' });
    expect(edit.actor).toBe(require('node:os').userInfo().username);
    expect(Date.now() - Date.parse(edit.at)).toBeLessThan(10 * 60_000);
    expect(mine.at(-1)!.after).toBeNull();
  });
});
