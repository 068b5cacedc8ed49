// Is this mail a delivery report, which of our mails does it report on, and
// what happened to each recipient? Decided by the mail's structure, never by
// grepping its bytes (a ticket notification that carries a customer's bounce
// as an attachment, or quotes a DSN's header lines in its text, is a ticket,
// and used to be dropped as a bounce):
// - a multipart/report with report-type=delivery-status is one by definition
//   (RFC 3464);
// - a message/delivery-status part that is not inside an attached message
//   (message/rfc822) is one too: gateways (McAfee) wrap the report in
//   multipart/mixed, broken MTAs send the status part as the whole mail, and
//   anonymised reports lose their report-type;
// - the non-standard rest (old sendmail, qmail, Exchange) is recognised by a
//   mailer-daemon/postmaster sender together with a text that reads like one.
// The status part is read per recipient (RFC 3464 section 2.3): `Action:
// delayed` is a warning, not a failure, and marks nothing; a failure names
// its recipients. Checked first: a bounce often also carries Auto-Submitted,
// and it must not be mistaken for an auto-reply.
import { hasEmptyReturnPath, type MailFacts } from './mail-facts';

const DAEMON_RE = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|mmdf|smtp-gateway|double-bounce)@/i;
const DSN_BODY_RE =
  /(delivery (has )?failed|undeliver(able|ed)|could not be delivered|not be delivered|delivery status notification|returned mail|permanent (fatal )?error|user unknown|mailbox (unavailable|full|not found)|recipient address rejected|no such (user|recipient)|message could not|failure notice|delivery to the following recipient|host or domain name not found|\b5\.\d{1,3}\.\d{1,3}\b|\b550\b)/i;
// A legacy report that says it is only a warning (sendmail "Warning: could not send message for past 4 hours", Exchange "Delivery Status Notification (Delay)").
const LEGACY_DELAY_RE = /\b(delay(ed)?|warning: could not send|will (continue to )?(be )?retr(y|ied))\b/i;
const REPORT_PART_TYPES = new Set(['message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers', 'message/global', 'message/global-headers']);
const MESSAGE_ID_RE = /^message-id:\s*(<[^>\s]+>)/im;
const RECIPIENT_FIELDS_MAX = 100; // a report naming more recipients than this is read for its first hundred

export interface RecipientStatus {
  recipient: string;
  action: string;
  status: string | null;
}

export interface BounceVerdict {
  bounce: boolean;
  /** The Message-ID of the mail that bounced, when the report names it. */
  originalMessageId: string | null;
  /** Every recipient the report names is only delayed (or was delivered): nothing has bounced. */
  delayed: boolean;
  /** Recipients whose delivery failed, as the report names them (empty for a report without a status part). */
  failed: RecipientStatus[];
  /** All recipients the status parts name. */
  recipients: RecipientStatus[];
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

/** The per-recipient field groups of a message/delivery-status body (RFC 3464: blank-line separated, the first is per-message). */
export function readDeliveryStatus(text: string): RecipientStatus[] {
  const groups = text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/);
  const out: RecipientStatus[] = [];
  for (const group of groups) {
    const fields = new Map<string, string>();
    for (const line of group.replace(/\n[ \t]+/g, ' ').split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const recipient = fields.get('final-recipient') ?? fields.get('original-recipient');
    if (!recipient) continue; // the per-message group
    const address = recipient.includes(';') ? recipient.slice(recipient.indexOf(';') + 1).trim() : recipient;
    out.push({ recipient: address.replace(/^<|>$/g, '').toLowerCase(), action: (fields.get('action') ?? 'failed').toLowerCase().split(/\s/)[0]!, status: fields.get('status')?.split(/\s/)[0] ?? null });
    if (out.length >= RECIPIENT_FIELDS_MAX) break;
  }
  return out;
}

const NOT_BOUNCE: BounceVerdict = { bounce: false, originalMessageId: null, delayed: false, failed: [], recipients: [] };

export function detectBounce(facts: MailFacts): BounceVerdict {
  const standard = facts.contentType === 'multipart/report' && facts.reportType === 'delivery-status';
  const statusPart = facts.deliveryStatus.length > 0;
  const fromDaemon = DAEMON_RE.test(facts.fromAddress ?? '') || (!facts.fromAddress && hasEmptyReturnPath(facts));
  const legacy = fromDaemon && (DSN_BODY_RE.test(facts.subject) || DSN_BODY_RE.test(facts.text.slice(0, 4000)));
  if (!standard && !statusPart && !legacy) return NOT_BOUNCE;
  const recipients = facts.deliveryStatus.flatMap(readDeliveryStatus);
  // failed, or a status class 5 whatever the action says; "delivered", "relayed", "expanded" and "delayed" are not failures
  const failed = recipients.filter((r) => r.action === 'failed' || r.status?.startsWith('5.'));
  const delayed = recipients.length > 0 ? failed.length === 0 : !statusPart && LEGACY_DELAY_RE.test(facts.subject);
  return { bounce: true, originalMessageId: findOriginalMessageId(facts), delayed, failed, recipients };
}
