// What an authentication result is worth. DMARC pass — an aligned DKIM or
// SPF pass — authenticates; for a domain with no DMARC record, a DKIM
// signature of the From domain (or an SPF pass for it) counts the same.
// `dmarc=fail` is final, whatever else passed. A temporary DNS error is
// never a pass: the mail is `failed` and tried again. Pure over the stored
// result, so a replay judges the same data against the policy of its day.
import { aligned, domainOf, sameDomain } from './org-domain';
import { describeAuth, type SenderAuth } from './sender-auth';

/** A system's or department's demand: `dmarc` (authenticated as above) or none (From alone, the pre-issue-11 behaviour). */
export { SYSTEM_AUTH_POLICIES, STAFF_AUTH_POLICIES, type SystemAuthPolicy, type StaffAuthPolicy } from './policy-names';

export type AuthVerdict =
  | { kind: 'pass'; reason: string }
  | { kind: 'fail'; reason: string }
  /** Could pass once DNS answers: retried as `failed`. */
  | { kind: 'temporary'; reason: string };

/** `fromAddress`, when given, is the From the rest of the bridge read (mailparser): it must be the domain authenticated here. */
export function judgeSender(a: SenderAuth | null, fromAddress?: string | null): AuthVerdict {
  if (!a) return { kind: 'fail', reason: 'not authenticated: no authentication result' };
  const why = describeAuth(a);
  if (!a.from) return { kind: 'fail', reason: `not authenticated: ${why}` };
  if (fromAddress !== undefined && (!fromAddress || domainOf(fromAddress) !== a.from)) return { kind: 'fail', reason: `not authenticated: From ${fromAddress ?? '(none)'} is not of ${a.from}` };
  const from = a.from;
  if (a.dmarc === 'fail') return { kind: 'fail', reason: `not authenticated (dmarc=fail): ${why}` };
  if (a.dmarc === 'pass') return { kind: 'pass', reason: why };
  const exact = a.dkimPass.some((d) => sameDomain(d, from)) || (a.spfPass !== null && sameDomain(a.spfPass, from));
  const relaxed = a.dkimPass.some((d) => aligned(d, from)) || (a.spfPass !== null && aligned(a.spfPass, from));
  // the very From domain signed: DMARC passes whatever its record says about strictness
  if (exact) return { kind: 'pass', reason: why };
  // a parent or sibling domain signed: enough when the domain publishes no DMARC record (with one, mailauth says pass or fail)
  if (relaxed && a.dmarc === 'none') return { kind: 'pass', reason: why };
  if (a.dmarc === 'temperror' || a.dkim === 'temperror') return { kind: 'temporary', reason: `authentication could not finish (DNS): ${why}` };
  return { kind: 'fail', reason: `not authenticated: ${why}` };
}

/** An explicit `dmarc=fail` from our own receiving server: refused in every mode, whatever a token says. */
export const receiverSaysFail = (a: SenderAuth | null): boolean => a?.source === 'authentication-results' && a.dmarc === 'fail';
