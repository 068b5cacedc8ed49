// Is this mail a delivery failure report, and which of our mails does it
// report on? A multipart/report with report-type=delivery-status is one by
// definition (RFC 3464); the non-standard rest (old sendmail, qmail, Exchange)
// is recognised by a mailer-daemon/postmaster sender together with a body
// that reads like a DSN. A machine-readable delivery-status part
// (message/delivery-status, RFC 3464) is one too, wherever it sits: gateways
// (McAfee) wrap it in multipart/mixed, broken MTAs send it as the whole mail,
// and anonymised reports lose their report-type. Checked first: a bounce often also carries
// Auto-Submitted, and it must not be mistaken for an auto-reply.
import { hasEmptyReturnPath, type MailFacts } from './parse-mail';

const DAEMON_RE = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|mmdf|smtp-gateway|double-bounce)@/i;
const DSN_BODY_RE =
  /(delivery (has )?failed|undeliver(able|ed)|could not be delivered|not be delivered|delivery status notification|returned mail|permanent (fatal )?error|user unknown|mailbox (unavailable|full|not found)|recipient address rejected|no such (user|recipient)|message could not|failure notice|delivery to the following recipient|host or domain name not found|\b5\.\d{1,3}\.\d{1,3}\b|\b550\b)/i;
const REPORT_PART_TYPES = new Set(['message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers', 'message/global', 'message/global-headers']);
const DELIVERY_STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const MESSAGE_ID_RE = /^message-id:\s*(<[^>\s]+>)/im;

export interface BounceVerdict {
  bounce: boolean;
  /** The Message-ID of the mail that bounced, when the report names it. */
  originalMessageId: string | null;
}

export function findOriginalMessageId(facts: MailFacts): string | null {
  for (const part of facts.attachments) {
    if (!REPORT_PART_TYPES.has(part.contentType.toLowerCase())) continue;
    const match = MESSAGE_ID_RE.exec(part.content.toString('latin1').split(/\r?\n\r?\n/)[0]!);
    if (match) return match[1]!;
  }
  // Inline-quoted originals (non-standard bounces) after the report text.
  const match = MESSAGE_ID_RE.exec(facts.text);
  return match ? match[1]! : null;
}

export function detectBounce(facts: MailFacts): BounceVerdict {
  const standard = facts.contentType === 'multipart/report' && facts.reportType === 'delivery-status';
  const statusPart = facts.partTypes.some((t) => DELIVERY_STATUS_TYPES.has(t));
  const fromDaemon = DAEMON_RE.test(facts.fromAddress ?? '') || (!facts.fromAddress && hasEmptyReturnPath(facts));
  const legacy = fromDaemon && (DSN_BODY_RE.test(facts.subject) || DSN_BODY_RE.test(facts.text.slice(0, 4000)));
  if (!standard && !statusPart && !legacy) return { bounce: false, originalMessageId: null };
  return { bounce: true, originalMessageId: findOriginalMessageId(facts) };
}
