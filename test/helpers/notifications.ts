// Generated BILLmanager-style notifications (the `headers` profile), for the
// IMAP tests and the benchmark: mail `i` belongs to ticket 100000 + i / perTicket,
// the first mail of each ticket is `new`, the others `reply`.
export function notification(i: number, perTicket = 5, tag = 'n'): string {
  const ticket = 100000 + Math.floor(i / perTicket);
  const body = `Client: Customer ${i} <customer${i}@client.example>\n\n${'The server answers slowly since this morning; please check the disk and the network. '.repeat(8)}\n`;
  return [
    'From: BILLmanager <noreply@bill.example>',
    'To: bridge@support.example',
    `Subject: Ticket ${ticket}: slow server`,
    `Message-ID: <${tag}-${i}@bill.example>`,
    `Date: ${new Date(Date.UTC(2026, 10, 25, 0, 0, i % 60)).toUTCString()}`,
    `X-Ticket-ID: ${ticket}`,
    'X-Department-ID: 12',
    `X-Ticket-Event: ${i % perTicket === 0 ? 'new' : 'reply'}`,
    `X-Customer-Email: customer${i}@client.example`,
    'Auto-Submitted: auto-generated',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
  ].join('\r\n');
}
