import { describe, expect, it } from 'vitest';
import { parseProfile } from '../../src/mail/profile-schema';
import { presetProfiles } from '../../src/mail/profiles';

const valid = { name: 'custom', fields: { ticket: [{ from: 'subject', pattern: '#(?<value>\\d+)' }] } };

describe('profile schema', () => {
  it('ships the presets DESIGN.md names, each valid', () => {
    expect([...presetProfiles().keys()].sort()).toEqual(['blesta', 'headers', 'otrs', 'rt', 'whmcs']);
    // read without the schema at run time (profiles.ts): this is where a broken preset is caught
    for (const [name, profile] of presetProfiles()) expect(parseProfile(profile, name)).toEqual(profile);
  });

  it('accepts a minimal custom profile', () => {
    expect(parseProfile(valid, 'f.json').name).toBe('custom');
  });

  it.each([
    [{ ...valid, fields: { ticket: [{ from: 'subject', pattern: '#(?<value>\\d+' }] } }, /f.json: fields.ticket\[0\].pattern: "#\(\?<value>\\d\+" is not a valid regular expression/],
    [{ ...valid, fields: { ticket: [{ from: 'subject', pattern: '#(\\d+)' }] } }, /fields.ticket\[0\].pattern: .* has no named group \(\?<value>…\)/],
    [{ ...valid, colour: 'red' }, /f.json: unknown key "colour"/],
    [{ ...valid, fields: { tikcet: [{ from: 'subject' }] } }, /fields: unknown key "tikcet"/],
    [{ ...valid, fields: { ticket: [{ from: 'header' }] } }, /fields.ticket\[0\].name: an extractor from "header" needs "name"/],
    [{ ...valid, fields: { ticket: [{ from: 'envelope' }] } }, /fields.ticket\[0\].from: /],
    [{ ...valid, fields: { ticket: [{ from: 'subject', flavour: 1 }] } }, /fields.ticket\[0\]: unknown key "flavour"/],
  ])('refuses %j naming the bad part', (data, message) => {
    expect(() => parseProfile(data, 'f.json')).toThrow(message);
  });
});
