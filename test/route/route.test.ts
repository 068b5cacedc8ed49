import { describe, expect, it } from 'vitest';
import { describeRoute, route } from '../../src/route/route';

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
    [{ ticket: '1', departmentId: '404' }, 'by_ticket'],
    [{ ticket: '1' }, 'by_ticket'],
    [{ departmentId: '7' }, 'parked_unparsed'],
  ])('%j → %s', (fields, expected) => {
    const r = route(entries, fields);
    expect(r.kind === 'mapped' ? `mapped #${r.entry.id} by ${r.by}` : r.kind).toBe(expected);
  });

  it('names what it looked for when nothing matches', () => {
    expect(route(entries, { ticket: '1', departmentId: '404', departmentName: 'Domains' })).toEqual({
      kind: 'by_ticket',
      reason: 'no correspondence for remote department ID "404" / name "Domains", and no local ticket to follow',
    });
  });

  it.each([
    [{ ticket: '1', departmentId: '7' }, undefined, 'correspondence #1 → hosting (by id)'],
    [{ ticket: '1', departmentId: '7' }, { id: 5, department: 'hosting' }, 'correspondence #1 → hosting (by id, ticket #5)'],
    [{ ticket: '1', departmentId: '11' }, { id: 5, department: 'hosting' }, 'correspondence #3 → billing (by id, ticket #5; moves the ticket from hosting)'],
    [{ ticket: '1' }, { id: 5, department: 'hosting' }, 'ticket #5 → hosting (by ticket)'],
    [{ ticket: '1' }, undefined, 'parked_unmapped: no remote department ID or name found by the profile, and no local ticket to follow'],
    [{ ticket: '1', departmentId: '9' }, { id: 5, department: 'hosting' }, 'parked_disabled: correspondence #2 is off'],
  ])('profile test prints %j with ticket %j as %s', (fields, known, line) => {
    expect(describeRoute(route(entries, fields), known)).toBe(line);
  });
});
