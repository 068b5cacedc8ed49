// Mails built for the hostile-input tests (issue 10): delivery reports in
// their several shapes, and the ticket mails that only look like them.
const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));

/** A standard RFC 3464 report: one per-recipient group for each [address, action, status]. */
export function dsn(originalId: string, recipients: Array<[string, string, string]>, subject = 'Undelivered Mail Returned to Sender'): Buffer {
  return crlf([
    'From: Mail Delivery System <MAILER-DAEMON@mx.support.example>',
    'To: bridge@support.example',
    `Subject: ${subject}`,
    `Message-ID: <dsn-${Math.random().toString(36).slice(2)}@mx.support.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="r1"',
    '',
    '--r1',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.support.example.',
    '',
    '--r1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.support.example',
    '',
    ...recipients.flatMap(([address, action, status]) => [`Final-Recipient: rfc822; ${address}`, `Action: ${action}`, `Status: ${status}`, '']),
    '--r1',
    'Content-Type: text/rfc822-headers',
    '',
    'From: deskbridge <bridge@support.example>',
    `Message-ID: ${originalId}`,
    '',
    '--r1--',
    '',
  ]);
}

/** A WHMCS notification whose customer attached the bounce they got (as message/rfc822): a ticket, not a bounce. */
export function whmcsWithAttachedBounce(): Buffer {
  const inner = dsn('<customer-mail@customer.example>', [['friend@elsewhere.example', 'failed', '5.1.1']]).toString();
  return crlf([
    'From: Technical Support <support@billing.acme.example>',
    'To: bridge@support.example',
    'Subject: [Ticket ID: 771204] My mail bounces, see attached',
    'Message-ID: <whmcs-771204-1@billing.acme.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="w1"',
    '',
    '--w1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Client: John Doe <john@customer.example>',
    'My mail to a friend bounces, the bounce is attached.',
    '',
    '--w1',
    'Content-Type: message/rfc822; name="bounce.eml"',
    'Content-Disposition: attachment; filename="bounce.eml"',
    '',
    inner,
    '--w1--',
    '',
  ]);
}

/** A WHMCS notification whose text quotes a DSN's header lines. */
export function whmcsQuotingDsn(): Buffer {
  return crlf([
    'From: Technical Support <support@billing.acme.example>',
    'To: bridge@support.example',
    'Subject: [Ticket ID: 771205] Bounce I got',
    'Message-ID: <whmcs-771205-1@billing.acme.example>',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Client: John Doe <john@customer.example>',
    'I got this back:',
    'Content-Type: message/delivery-status',
    'Final-Recipient: rfc822; friend@elsewhere.example',
    'Action: failed',
    'Status: 5.1.1',
    '',
  ]);
}
