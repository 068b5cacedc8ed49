import { describe, expect, it } from 'vitest';
import { route } from '../../src/route/route';

const entries = [
  { id: 1, remoteId: '7', name: 'Technical Support', departmentId: 10, department: 'hosting', enabled: true },
  { id: 2, remoteId: '9', name: 'Sales', departmentId: 20, department: 'billing', enabled: false },
  { id: 3, remoteId: '11', name: 'Billing  Dept', departmentId: 20, department: 'billing', enabled: true },
];

describe('route', () => {
  it.each([
    [{ ticket: '1', departmentId: '7' }, 'mapped #1 by id'],
    [{ ticket: '1', departmentId: '7', departmentName: 'Billing Dept' }, 'mapped #1 by id'],
    [{ ticket: '1', departmentId: '404', departmentName: '  billing   DEPT ' }, 'mapped #3 by name'],
    [{ ticket: '1', departmentName: 'technical support' }, 'mapped #1 by name'],
    [{ ticket: '1', departmentId: '9' }, 'parked_disabled'],
    [{ ticket: '1', departmentName: 'sales' }, 'parked_disabled'],
    [{ ticket: '1', departmentId: '404' }, 'parked_unmapped'],
    [{ ticket: '1' }, 'parked_unmapped'],
    [{ departmentId: '7' }, 'parked_unparsed'],
  ])('%j → %s', (fields, expected) => {
    const r = route(entries, fields);
    expect(r.kind === 'mapped' ? `mapped #${r.entry.id} by ${r.by}` : r.kind).toBe(expected);
  });

  it('names what it looked for when nothing matches', () => {
    expect(route(entries, { ticket: '1', departmentId: '404', departmentName: 'Domains' })).toEqual({
      kind: 'parked_unmapped',
      reason: 'no correspondence for remote department ID "404" / name "Domains"',
    });
  });
});
