import { describe, expect, it } from 'vitest';
import { normaliseAddress, normaliseAllowEntry, splitList } from '../../src/admin/addresses';

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
