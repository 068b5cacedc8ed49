import { describe, expect, it } from 'vitest';
import { normaliseAddress, normaliseAllowEntry, parseStaffList, splitList } from '../../src/admin/addresses';
import { checkName } from '../../src/admin/slug';

describe('allowlist entries', () => {
  it.each([
    ['noreply@billing.example', 'noreply@billing.example'],
    ['  NoReply@Billing.Example ', 'noreply@billing.example'],
    ['@billing.example', '@billing.example'],
    ['@Sub.Billing.Example', '@sub.billing.example'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normaliseAllowEntry(input, '--from')).toBe(expected);
  });

  it.each(['billing.example', '@localhost', '@-bad.example', 'a@b', 'two@@at.example', '"Billing" <noreply@billing.example>'])(
    'rejects %j naming it',
    (input) => {
      expect(() => normaliseAllowEntry(input, '--from')).toThrow(`--from: "${input}"`);
    },
  );
});

describe('addresses', () => {
  it('rejects a domain entry where an address is needed', () => {
    expect(() => normaliseAddress('@billing.example', '--relay-to')).toThrow('--relay-to: "@billing.example" is not a valid e-mail address');
  });

  it('splits a list, drops empties and repeats, keeps the order', () => {
    expect(splitList('b@x.example, A@x.example,,b@x.example', '--staff', normaliseAddress)).toEqual(['b@x.example', 'a@x.example']);
  });

  it('refuses an empty list', () => {
    expect(() => splitList(' , ', '--staff', normaliseAddress)).toThrow('--staff: " , " names no address');
  });
});

describe('names an admin gives', () => {
  it.each([
    ['a line break', 'Tech\r\nFake: header'],
    ['an ESC', 'Tech\u001b[2J'],
    ['201 characters', 'A'.repeat(201)],
  ])('a system, department or map name with %s is refused (exit 2, naming it)', (_what, name) => {
    expect(() => checkName(name, '--name')).toThrow(/^--name: .* is not a valid name/);
  });

  it('a staff display name is held to the same 200 characters, and keeps no control character', () => {
    expect(() => parseStaffList(`${'A'.repeat(5000)} <l@team.example>`, '--staff')).toThrow(/^--staff: the name of l@team\.example: .* is not a valid name \(expected 1-200 characters\)/);
    // (the address parser drops a control character from a display name itself)
    expect(parseStaffList('"Anna\u001b[31m" <anna@team.example>', '--staff').names['anna@team.example']).not.toMatch(/[\u0000-\u001f]/);
    expect(parseStaffList('Anna Staff <anna@team.example>, bob@team.example', '--staff')).toEqual({ staff: ['anna@team.example', 'bob@team.example'], names: { 'anna@team.example': 'Anna Staff' } });
  });
});
