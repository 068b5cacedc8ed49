// Who really sent this mail? Anyone can write a From header; what counts is
// what a server checked. Two sources, in this order:
// 1. the topmost Authentication-Results header of our own receiving server
//    (DESKBRIDGE_AUTHSERV_ID): it saw the connection, so it also knows SPF;
// 2. otherwise our own DKIM and DMARC check (mailauth, over the resolver
//    given). No SPF here: the connecting IP is known only to the receiver,
//    and a Received header naming it can be written by the sender.
// A mail with no DKIM signature and no trusted A-R header cannot pass
// whatever DNS says, so it costs no lookup — nor the loading of mailauth,
// which happens at the first signed mail. The result is data (stored with
// the ledger row); policy.ts decides what it is worth.
import { loadOnce } from '../load-once';
import { nodemailerPart, vendored } from '../vendor';
import { trustedAuthResults, type ParsedAuthResults } from './auth-results';
import { headerLines, type HeaderLine } from './header-lines';
import { aligned, domainOf } from './org-domain';
import { createResolver, type Resolver } from './resolver';

const addressparser = loadOnce(() => nodemailerPart<typeof import('nodemailer/lib/addressparser').default>('addressparser', 'addressparser'));

/* eslint-disable @typescript-eslint/no-require-imports */
const mailauth = loadOnce(() => {
  const verify = vendored('mailauth-verify', () => ({
    dkimVerify: (require('mailauth/lib/dkim/verify') as typeof import('mailauth/lib/dkim/verify')).dkimVerify,
    dmarc: (require('mailauth/lib/dmarc') as typeof import('mailauth/lib/dmarc')).dmarc,
  }));
  return { dkimVerify: verify.dkimVerify, dmarcCheck: verify.dmarc };
});

/** pass | fail | none | neutral | softfail | temperror | permerror | policy … as RFC 8601 names them. */
export type AuthValue = string;

export interface SenderAuth {
  dkim: AuthValue;
  spf: AuthValue;
  dmarc: AuthValue;
  /** The domain that authenticated: the From domain when an aligned DKIM or SPF passed, else the first passing domain, else null. */
  domain: string | null;
  source: 'authentication-results' | 'verified';
  /** The From domain, or null when the mail has no From address or more than one. */
  from: string | null;
  /** The d= of every passing DKIM signature. */
  dkimPass: string[];
  /** The SPF-authenticated domain (smtp.mailfrom, or helo), when SPF passed. */
  spfPass: string | null;
  /** Why a result is what it is, where that is not obvious (several From addresses, l= tags, a fallback). */
  note: string | null;
}

export type Authenticate = (raw: Buffer) => Promise<SenderAuth>;

export interface AuthenticatorOptions {
  /** authserv-ids whose topmost Authentication-Results header is trusted (DESKBRIDGE_AUTHSERV_ID). */
  authservIds: readonly string[];
  resolver: Resolver;
}

const RANK = ['pass', 'temperror', 'fail', 'permerror', 'policy', 'neutral', 'softfail', 'none'];
/** One value for several signatures or results: the best of them (pass over temperror over fail …). */
const best = (values: string[]): AuthValue => values.sort((a, b) => rank(a) - rank(b))[0] ?? 'none';
const rank = (v: string) => (RANK.includes(v) ? RANK.indexOf(v) : RANK.length);

const FROM_CACHE_SIZE = 1_000; // distinct From values: a desk's systems write a handful
const FROM_CACHE_MAX_CHARS = 256; // a longer value is parsed every time: the cache stays small (at most ~256 KiB of keys)
const parsedFrom = new Map<string, readonly string[]>();
/** The addresses of one From value, remembered: most mail comes from a few senders, each parsed once (profiled: 0.02 ms a mail). */
function fromAddresses(value: string): readonly string[] {
  let addresses = parsedFrom.get(value);
  if (!addresses) {
    addresses = addressparser()(value, { flatten: true })
      .map((a) => a.address)
      .filter(Boolean);
    if (value.length <= FROM_CACHE_MAX_CHARS) {
      if (parsedFrom.size >= FROM_CACHE_SIZE) parsedFrom.delete(parsedFrom.keys().next().value as string);
      // a copy of the key: the value is a slice of the mail's whole header block, which V8 would otherwise keep alive with it
      parsedFrom.set(Buffer.from(value, 'utf8').toString('utf8'), addresses);
    }
  }
  return addresses;
}

/** The single From address's domain, or why there is none. */
function fromDomain(lines: HeaderLine[]): { from: string | null; note: string | null } {
  const addresses = lines.filter((l) => l.name === 'from').flatMap((l) => fromAddresses(l.value));
  if (addresses.length === 1 && addresses[0]!.includes('@')) return { from: domainOf(addresses[0]!), note: null };
  return { from: null, note: addresses.length === 0 ? 'no From address' : `${addresses.length} From addresses` };
}

function authenticatedDomain(from: string | null, dkimPass: string[], spfPass: string | null): string | null {
  if (from && (dkimPass.some((d) => aligned(d, from)) || (spfPass && aligned(spfPass, from)))) return from;
  return dkimPass[0] ?? spfPass ?? null;
}

function fromAuthResults(ar: ParsedAuthResults, from: string | null, note: string | null): SenderAuth {
  const of = (method: string) => ar.results.filter((r) => r.method === method);
  const dkim = of('dkim');
  const dkimPass = dkim.filter((r) => r.result === 'pass').map((r) => domainOf(r.props['header.d'] ?? r.props['header.i'] ?? '')).filter(Boolean);
  const spf = of('spf');
  const spfPassing = spf.find((r) => r.result === 'pass');
  const spfPass = spfPassing ? domainOf(spfPassing.props['smtp.mailfrom'] || spfPassing.props['smtp.helo'] || '') || null : null;
  const dmarcRow = of('dmarc')[0];
  let dmarc = dmarcRow?.result ?? 'none';
  const dmarcFrom = dmarcRow?.props['header.from'];
  if (dmarcFrom && from && domainOf(dmarcFrom) !== from) {
    // the receiver judged another From than the one we read: its verdict is not about this mail's sender
    note = `${ar.authservId} judged DMARC for header.from=${dmarcFrom}, not ${from}`;
    dmarc = dmarc === 'fail' ? 'fail' : 'none';
  }
  return { dkim: best(dkim.map((r) => r.result)), spf: best(spf.map((r) => r.result)), dmarc, domain: authenticatedDomain(from, dkimPass, spfPass), source: 'authentication-results', from, dkimPass, spfPass, note };
}

async function verify(raw: Buffer, lines: HeaderLine[], from: string | null, note: string | null, resolver: Resolver): Promise<SenderAuth> {
  const base = { spf: 'none', source: 'verified' as const, from, spfPass: null };
  if (!lines.some((l) => l.name === 'dkim-signature')) {
    return { ...base, dkim: 'none', dmarc: 'none', domain: null, dkimPass: [], note: note ?? 'no DKIM signature and no trusted Authentication-Results' };
  }
  const { dkimVerify, dmarcCheck } = mailauth();
  const checked = await dkimVerify(raw, { resolver });
  const notes: string[] = note ? [note] : [];
  const results = checked.results.map((r) => {
    // an l= tag that leaves part of the body unsigned lets anyone append to a signed mail: not a pass here
    if (r.status.result === 'pass' && r.status.underSized) {
      notes.push(`d=${r.signingDomain} signs only part of the body (l=)`);
      return { ...r, status: { ...r.status, result: 'neutral' } };
    }
    return r;
  });
  const passing = results.filter((r) => r.status.result === 'pass');
  const dkimPass = passing.map((r) => r.signingDomain.toLowerCase());
  let dmarc = 'none';
  if (from) {
    const d = await dmarcCheck({ headerFrom: `x@${from}`, spfDomains: [], dkimDomains: passing.map((r) => ({ domain: r.signingDomain, aligned: aligned(r.signingDomain, from) ? from : false })), resolver });
    if (d) dmarc = d.status.result;
    if (d && d.error) notes.push(`DMARC lookup: ${d.error}`);
  }
  const temp = results.find((r) => r.status.result === 'temperror');
  if (temp) notes.push(`DKIM key of ${temp.signingDomain}: ${temp.status.comment ?? 'DNS failure'}`);
  return { ...base, dkim: best(results.map((r) => r.status.result)), dmarc, domain: authenticatedDomain(from, dkimPass, null), dkimPass, note: notes.join('; ') || null };
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  return async (raw) => {
    const lines = headerLines(raw);
    const { from, note } = fromDomain(lines);
    const ar = trustedAuthResults(lines.filter((l) => l.name === 'authentication-results').map((l) => l.value), options.authservIds);
    if (ar) {
      const stamped = fromAuthResults(ar, from, note);
      const noPass = stamped.dmarc !== 'pass' && stamped.dkimPass.length === 0 && !stamped.spfPass;
      // the receiver could not reach DNS: check the signature ourselves rather than keep its temporary error
      if (!(noPass && [stamped.dkim, stamped.dmarc].includes('temperror'))) return stamped;
      const own = await verify(raw, lines, from, `${ar.authservId} had a temporary error; verified here`, options.resolver);
      return own;
    }
    return verify(raw, lines, from, note, options.resolver);
  };
}

/** The public shape (`inbox list --json`, `inbox show`, `profile test`). */
export function authView(a: SenderAuth | null) {
  return a ? { dkim: a.dkim, spf: a.spf, dmarc: a.dmarc, domain: a.domain, source: a.source } : null;
}

/** One line for a reason or a report: `dkim=pass (d=x) spf=none dmarc=none from=y [verified]`. */
export function describeAuth(a: SenderAuth): string {
  const dkim = a.dkimPass.length ? `dkim=${a.dkim} (d=${a.dkimPass.join(',')})` : `dkim=${a.dkim}`;
  const spf = a.spfPass ? `spf=${a.spf} (${a.spfPass})` : `spf=${a.spf}`;
  return `${dkim} ${spf} dmarc=${a.dmarc} from=${a.from ?? '?'} [${a.source === 'verified' ? 'verified here' : 'Authentication-Results'}]${a.note ? `; ${a.note}` : ''}`;
}

/** The authenticator the configuration describes (DESKBRIDGE_AUTHSERV_ID, DESKBRIDGE_DNS). */
export function authenticatorFrom(config: { authservId?: readonly string[]; dns?: readonly string[] }): Authenticate {
  return createAuthenticator({ authservIds: config.authservId ?? [], resolver: createResolver(config.dns) });
}

let fallback: Authenticate | undefined;
/** No trusted receiver, the system resolver: what a caller that names no authenticator gets (never "no check"). */
export const defaultAuthenticate: Authenticate = (raw) => (fallback ??= authenticatorFrom({}))(raw);
