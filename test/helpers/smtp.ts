// A real SMTP server (the smtp-server package) on an ephemeral loopback port,
// for the outbox tests: it accepts, tempfails (451) or rejects (550) each
// RCPT as the test says, and keeps every accepted mail's envelope and bytes.
import { SMTPServer } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: Buffer;
  /** When the server answered "250" (Date.now()). */
  at: number;
}

export type Verdict = 'accept' | 451 | 550;

/** `acceptAfterMs(n)`: how long the server waits before its "250" to the n-th mail (0-based): a slow or tarpitting server. */
export async function startSmtpSink(decide: (rcpt: string) => Verdict = () => 'accept', o: { acceptAfterMs?: (n: number) => number; onMail?: (n: number) => void } = {}) {
  let mails = 0;
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 200, // close() cuts connections a client keeps open (a pooled sender) after this, not after smtp-server's 30 s
    onRcptTo(address, _session, callback) {
      const verdict = decide(address.address);
      if (verdict === 'accept') return callback();
      const err = new Error(verdict === 451 ? 'Try again later' : 'No such user here') as Error & { responseCode: number };
      err.responseCode = verdict;
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const n = mails++;
        o.onMail?.(n);
        setTimeout(() => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks), at: Date.now() });
          callback();
        }, o.acceptAfterMs?.(n) ?? 0);
      });
    },
  });
  // A client that dies mid-session (a worker killed with SIGKILL) resets its
  // connection; smtp-server reports that as an 'error' event, which with no
  // listener would throw out of the test run. Kept for tests that look.
  const connectionErrors: Error[] = [];
  server.on('error', (err) => connectionErrors.push(err));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return { port, url: `smtp://127.0.0.1:${port}`, received, connectionErrors, close: () => new Promise<void>((r) => server.close(() => r())) };
}
