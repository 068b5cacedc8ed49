// store/direct.ts runs the pipeline's hot writes on a SQLite transaction's own connection, and through knex
// elsewhere. Either way a write must do what the knex statement did: the same rows, conflicts ignored only
// where asked, rollback with the transaction, and never a statement on a transaction that has ended (on the
// bare SQLite connection it would run outside any transaction and stay written).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstWhere, insertRow, insertRows, ON_POSTGRES, onSqlite, updateById } from '../../src/store/direct';
import { countRecentRelays } from '../../src/store/outbox';
import { getTicket } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let systemId: number;
let departmentId: number;
beforeAll(async () => {
  db = await openTestDatabase('direct');
  const now = new Date().toISOString();
  [systemId] = (await db.knex('systems').insert({ slug: 'bill', name: 'Bill', from_addresses: '["a@bill.example"]', relay_to: 'r@bill.example', profile: 'headers', created_at: now, updated_at: now }).returning('id')).map((r: { id: number }) => Number(r.id)) as [number];
  [departmentId] = (await db.knex('departments').insert({ slug: 'hosting', name: 'Hosting', created_at: now, updated_at: now }).returning('id')).map((r: { id: number }) => Number(r.id)) as [number];
});
afterAll(() => db.drop());

const ticket = (remote: string, subject = 's') => {
  const now = new Date().toISOString();
  return { system_id: systemId, remote_ticket_id: remote, department_id: departmentId, subject, status: 'open', created_at: now, updated_at: now };
};
const tickets = () => db.knex('tickets').select('remote_ticket_id', 'subject', 'status').orderBy('id');

describe(`direct writes on ${BACKEND}`, () => {
  it('inserts, ignores only the conflict it names, updates and reads, in and out of a transaction', async () => {
    const outside = await insertRow(db.knex, 'tickets', ticket('1'));
    await db.knex.transaction(async (trx) => {
      const inside = await insertRow(trx, 'tickets', ticket('2'));
      expect(inside).toBeGreaterThan(outside!);
      expect(await insertRow(trx, 'tickets', ticket('2', 'again'), { ignoreConflicts: ['system_id', 'remote_ticket_id'] })).toBeNull();
      expect(await insertRow(trx, 'tickets', ticket('1', 'again'), { ignoreConflicts: true })).toBeNull();
      await expect(insertRow(trx, 'tickets', ticket('3', 'x'))).resolves.toBeGreaterThan(0);
      await updateById(trx, 'tickets', inside!, { status: 'closed', subject: 'closed one' });
      expect(await firstWhere(trx, 'tickets', ['id', 'status'], { system_id: systemId, remote_ticket_id: '2' })).toMatchObject({ status: 'closed' });
      expect(await firstWhere(trx, 'tickets', ['id'], { system_id: systemId, customer_email: null })).toBeTruthy(); // IS NULL, as knex writes it
      expect(await firstWhere(trx, 'tickets', ['id'], { system_id: systemId, remote_ticket_id: 'none' })).toBeUndefined();
      expect(await insertRows(trx, 'tickets', [ticket('4'), ticket('5'), ticket('6')])).toEqual(expect.arrayContaining([expect.any(Number)]));
    });
    expect(await tickets()).toEqual([
      { remote_ticket_id: '1', subject: 's', status: 'open' },
      { remote_ticket_id: '2', subject: 'closed one', status: 'closed' },
      { remote_ticket_id: '3', subject: 'x', status: 'open' },
      { remote_ticket_id: '4', subject: 's', status: 'open' },
      { remote_ticket_id: '5', subject: 's', status: 'open' },
      { remote_ticket_id: '6', subject: 's', status: 'open' },
    ]);
  });

  it('returns the ids of many rows in their order', async () => {
    const ids = await db.knex.transaction((trx) => insertRows(trx, 'tickets', [ticket('10'), ticket('11'), ticket('12')]));
    const rows = await db.knex('tickets').select('id', 'remote_ticket_id').whereIn('id', ids);
    expect(ids.map((id) => rows.find((r: { id: number }) => Number(r.id) === id)!.remote_ticket_id)).toEqual(['10', '11', '12']);
  });

  it('writes nothing that a rolled-back transaction wrote', async () => {
    const before = await tickets();
    await expect(
      db.knex.transaction(async (trx) => {
        await insertRow(trx, 'tickets', ticket('20'));
        await updateById(trx, 'tickets', Number((await firstWhere<{ id: number }>(trx, 'tickets', ['id'], { system_id: systemId, remote_ticket_id: '1' }))!.id), { subject: 'changed' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await tickets()).toEqual(before);
  });

  it('on SQLite runs its statements itself (knex sees only BEGIN and COMMIT); on PostgreSQL through knex', async () => {
    const seen: string[] = [];
    const listen = (q: { sql: string }) => seen.push(q.sql);
    db.knex.on('query', listen);
    try {
      await db.knex.transaction(async (trx) => {
        const id = (await insertRow(trx, 'tickets', ticket('40')))!;
        await updateById(trx, 'tickets', id, { subject: 'seen?' });
        await firstWhere(trx, 'tickets', ['id'], { id });
      });
    } finally {
      db.knex.off('query', listen);
    }
    const statements = seen.filter((sql) => !/^(BEGIN|COMMIT)/i.test(sql));
    expect(statements).toHaveLength(BACKEND === 'sqlite' ? 0 : 3);
  });

  it('writes what knex writes: booleans, dates, buffers, nulls and an undefined left out', async () => {
    const when = new Date(Date.UTC(2026, 10, 30, 12, 0, 0));
    const row = (slug: string) => ({ slug, name: 'N', from_addresses: '[]', relay_to: 'r@x.example', profile: 'headers', profile_json: undefined, enabled: false, created_at: when, updated_at: when });
    await db.knex('systems').insert(row('by-knex'));
    await db.knex.transaction((trx) => insertRow(trx, 'systems', row('by-direct')));
    const [a, b] = await db.knex('systems').select('enabled', 'created_at', 'profile_json').whereIn('slug', ['by-knex', 'by-direct']).orderBy('slug', 'desc');
    expect(b).toEqual(a);
    const id = (await db.knex.transaction((trx) => insertRow(trx, 'tickets', { ...ticket('41'), customer_email: 'c@x.example' })))!;
    await db.knex.transaction((trx) => updateById(trx, 'tickets', id, { customer_email: undefined, subject: 'kept email' }));
    expect(await db.knex('tickets').select('customer_email', 'subject').where({ id }).first()).toEqual({ customer_email: 'c@x.example', subject: 'kept email' });
  });

  it('throws on a conflict it was not told to ignore, as knex does', async () => {
    await expect(db.knex.transaction((trx) => insertRow(trx, 'tickets', ticket('1')))).rejects.toThrow(/unique|UNIQUE/);
  });

  it.each(['rollback', 'commit'] as const)('refuses a write started before a %s and run after it (nothing written outside the transaction)', async (end) => {
    const trx = await db.knex.transaction();
    const pending = insertRow(trx, 'tickets', ticket(`late-${end}`)); // not awaited: the transaction ends first
    pending.catch(() => {});
    await trx[end]();
    await expect(pending).rejects.toThrow(/complete/i);
    expect(await db.knex('tickets').where({ remote_ticket_id: `late-${end}` }).first()).toBeUndefined();
  });

  it('refuses a write on a transaction that has ended, and writes nothing', async () => {
    let ended: Parameters<Parameters<typeof db.knex.transaction>[0]>[0] | undefined;
    await db.knex.transaction(async (trx) => {
      ended = trx;
    });
    const before = await tickets();
    await expect(insertRow(ended!, 'tickets', ticket('30'))).rejects.toThrow(/complete/i);
    await expect(updateById(ended!, 'tickets', 1, { subject: 'late' })).rejects.toThrow(/complete/i);
    expect(await tickets()).toEqual(before);
  });

  it('refuses an undefined value, as knex does, rather than matching nothing with a NULL', async () => {
    await expect(getTicket(db.knex, undefined as unknown as number)).rejects.toThrow(/undefined binding/i);
    await expect(db.knex.transaction((trx) => countRecentRelays(trx, undefined as unknown as number, new Date()))).rejects.toThrow(/undefined binding/i);
  });

  it.runIf(BACKEND === 'sqlite')('outside a transaction holds the connection for its statements only: a transaction opened meanwhile waits, and its rollback takes nothing of ours', async () => {
    const other = db.knex.transaction(async (trx) => {
      await insertRow(trx, 'tickets', ticket('meanwhile'));
      throw new Error('rolled back');
    });
    other.catch(() => {});
    await insertRow(db.knex, 'tickets', ticket('outside'));
    await expect(other).rejects.toThrow('rolled back');
    expect(await db.knex('tickets').select('remote_ticket_id').whereIn('remote_ticket_id', ['outside', 'meanwhile'])).toEqual([{ remote_ticket_id: 'outside' }]);
    // an async callback would outlive its hold on the connection: refused, and its statement after an await too
    let late: Promise<unknown> | undefined;
    await expect(
      onSqlite(db.knex, (sqlite) => {
        late = (async () => {
          await new Promise((r) => setTimeout(r, 20));
          return sqlite.run('update tickets set subject = ? where remote_ticket_id = ?', ['late', 'outside']);
        })();
        return late;
      }),
    ).rejects.toThrow(/synchronously/);
    await expect(late).rejects.toThrow(/no longer held/);
    expect(await db.knex('tickets').where({ remote_ticket_id: 'outside' }).first()).toMatchObject({ subject: 's' });
  });

  it.runIf(BACKEND === 'postgres')('leaves PostgreSQL to knex', async () => {
    expect(await onSqlite(db.knex, () => 'ran')).toBe(ON_POSTGRES);
  });
});
