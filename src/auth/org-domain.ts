// Relaxed DMARC alignment (RFC 7489 §3.1): two domains align when their
// organisational domains — the registrable domain under the Public Suffix
// List — are the same. tldts carries the list (the one mailauth uses, with
// private suffixes, so one tenant of github.io never aligns with another).
// tldts and its list load at the first alignment asked, not with this module.
import { loadOnce } from '../load-once';

/* eslint-disable @typescript-eslint/no-require-imports */
const getDomain = loadOnce(() => (require('tldts') as typeof import('tldts')).getDomain);

const OPTIONS = { allowIcannDomains: true, allowPrivateDomains: true };

const clean = (domain: string) => domain.trim().toLowerCase().replace(/\.$/, '');

export function orgDomain(domain: string): string {
  const d = clean(domain);
  return getDomain()(d, OPTIONS) ?? d;
}

/** Relaxed alignment: the same organisational domain. */
export const aligned = (a: string, b: string): boolean => orgDomain(a) === orgDomain(b);

/** Strict alignment: the very same domain (satisfies any DMARC record's adkim/aspf). */
export const sameDomain = (a: string, b: string): boolean => clean(a) === clean(b);

/** The domain part of an address (or the value itself when it has no @), lower-case. */
export const domainOf = (address: string): string => clean(address.slice(address.lastIndexOf('@') + 1).replace(/>$/, ''));
