// May this staff reply be relayed? The rules of issue 11, as one pure
// function over what the reply showed (how it named its ticket, who it is
// from, its authentication) and the department's policy:
// - an explicit dmarc=fail from our own receiving server refuses, always;
// - `dmarc`: the sender is on the department's staff AND authenticated; the
//   ticket may be named by its token, our notification in References, or
//   the [DB#id] tag;
// - `token` (a staff domain that does not sign): only through a token issued
//   to that very staff address for that ticket; References or the tag alone
//   are not enough.
// A token that does not verify is refused before this is asked (relay.ts),
// never rescued by References or the tag.
import { judgeSender, receiverSaysFail, type AuthVerdict, type StaffAuthPolicy } from './policy';
import type { SenderAuth } from './sender-auth';

export interface StaffReplyFacts {
  /** How the ticket was named: `token` (verified for this sender), or a reference (In-Reply-To/References, the tag). */
  via: 'token' | 'reference';
  from: string;
  onStaff: boolean;
  auth: SenderAuth | null;
  /** The department's --staff-auth; null (a department from before issue 11) acts as `token`. */
  policy: StaffAuthPolicy | null;
  department: string;
}

export function staffGate(r: StaffReplyFacts): AuthVerdict {
  if (receiverSaysFail(r.auth)) return { kind: 'fail', reason: `our receiving server says dmarc=fail for ${r.from}` };
  if (!r.onStaff) return { kind: 'fail', reason: `${r.from || 'no sender'} is not on the staff of department ${r.department}` };
  const policy = r.policy ?? 'token';
  if (policy === 'token') {
    if (r.via !== 'token') return { kind: 'fail', reason: `department ${r.department} takes staff replies only through the reply address issued to each staff member (--staff-auth token); References or the [DB#] tag alone are not enough` };
    return { kind: 'pass', reason: 'token' };
  }
  const v = judgeSender(r.auth, r.from);
  return v.kind === 'pass' ? v : { kind: v.kind, reason: `department ${r.department} needs authenticated staff mail (--staff-auth dmarc); ${v.reason}` };
}
