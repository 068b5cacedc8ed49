// What one send came to, per recipient: pure, so the rules are tested as a
// table. A server may take a mail for some recipients and refuse others at
// RCPT TO. Counting that as `sent` lost the mail for the refused ones
// silently; retrying the whole row would send it twice to those who got it.
// So: refused for now (4xx, or no code) → the row is narrowed to those
// recipients and retried on the schedule (delivery-error.ts decides when, or
// that the deadline has passed); refused for good (5xx) → reported in the
// row's last_error, and the row is `sent` if anyone got it.
import type { Attempt } from '../store/outbox';
import { decide, type SendFailure } from './delivery-error';

export interface Refusal {
  recipient: string;
  responseCode?: number;
  response: string;
}

const permanent = (r: Refusal) => r.responseCode !== undefined && r.responseCode >= 500 && r.responseCode !== 503;
const list = (rs: Refusal[]) => rs.map((r) => `${r.recipient} (${r.response})`).join(', ');

export interface SendContext {
  to: string[];
  attempts: number;
  deadline: Date;
  now: Date;
  schedule: readonly number[];
}

/** The server answered the whole mail: accepted (maybe with refusals), or refused it outright (`failure`, with its per-recipient refusals if it gave them). */
export function sendOutcome(c: SendContext, refusals: Refusal[], failure?: SendFailure): Attempt {
  const deferred = refusals.filter((r) => !permanent(r));
  const refused = refusals.filter(permanent);
  const delivered = c.to.filter((rcpt) => !refusals.some((r) => r.recipient === rcpt));
  if (failure && (deferred.length === 0 || refused.length === 0)) {
    // the mail as a whole failed (connection, DATA refused, every recipient alike): as delivery-error.ts decides
    const v = decide(failure, c.attempts + 1, c.now, c.deadline, c.schedule);
    return v.action === 'retry' ? { state: 'queued', nextAttemptAt: v.at, error: v.reason } : { state: 'dead', error: v.reason };
  }
  const report = [delivered.length ? `delivered to ${delivered.join(', ')}` : '', refused.length ? `refused for good: ${list(refused)}` : ''].filter(Boolean).join('; ');
  if (deferred.length === 0) {
    if (delivered.length > 0) return refused.length ? { state: 'sent', note: report } : { state: 'sent' };
    return { state: 'dead', error: `rejected: ${report}` };
  }
  const first = deferred[0]!;
  const v = decide({ responseCode: first.responseCode, message: first.response }, c.attempts + 1, c.now, c.deadline, c.schedule);
  const why = `${report ? `${report}; ` : ''}deferred: ${list(deferred)}`;
  if (v.action === 'dead') return { state: 'dead', error: `gave up after ${c.attempts + 1} attempt(s), past the deadline; ${why}` };
  return { state: 'queued', nextAttemptAt: v.at, error: `attempt ${c.attempts + 1}: ${why}`, to: deferred.map((r) => r.recipient) };
}
