import { describe, expect, it } from 'vitest';
import { allowlistOverlaps, matchSystem } from '../../src/mail/sender-match';

const older = { id: 1, slug: 'acme', from: ['@billing.acme.example'], enabled: true };
const newer = { id: 2, slug: 'acme-support', from: ['support@billing.acme.example'], enabled: true };

describe('matchSystem: the most specific allowlist entry wins', () => {
  it.each([
    ['support@billing.acme.example', 'acme-support'], // exact address over the older system's @domain
    ['SUPPORT@Billing.Acme.Example', 'acme-support'],
    ['sales@billing.acme.example', 'acme'],
    ['x@acme.example', undefined], // @domain is that domain only, not its parent
    ['x@sub.billing.acme.example', undefined], // nor its subdomains
  ])('%s → %s', (from, slug) => {
    expect(matchSystem(from, [older, newer])?.slug).toBe(slug);
    expect(matchSystem(from, [newer, older])?.slug).toBe(slug); // order of the list does not decide
  });

  it('a disabled system still matches (its mail is parked, not rejected)', () => {
    expect(matchSystem('a@billing.acme.example', [{ ...older, enabled: false }])?.slug).toBe('acme');
  });
});

describe('allowlistOverlaps: reported when a list is added', () => {
  it('names an address inside another system\'s domain, a domain covering another\'s address, and the same entry twice', () => {
    expect(allowlistOverlaps(newer.from, [older])).toEqual([expect.stringMatching(/support@billing\.acme\.example is inside system acme's @billing\.acme\.example/)]);
    expect(allowlistOverlaps(older.from, [newer])).toEqual([expect.stringMatching(/@billing\.acme\.example covers support@billing\.acme\.example, which stays with system acme-support/)]);
    expect(allowlistOverlaps(['@billing.acme.example'], [older])).toEqual([expect.stringMatching(/also on system acme's list/)]);
    expect(allowlistOverlaps(['@other.example'], [older, newer])).toEqual([]);
  });
});
