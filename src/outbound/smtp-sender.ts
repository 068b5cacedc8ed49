// Sends finished mails (the outbox's stored bytes) over a few kept-open SMTP
// connections: nodemailer's SMTPConnection, one per send lane, reused for up
// to MAX_MESSAGES_PER_CONNECTION mails. The outbox already holds each mail
// whole, so nothing is composed here; nodemailer's pooled transport would
// compose every raw mail again (a MIME tree, a new Message-ID, a stream
// pipeline), which the relay profile showed as more than half of each send.
// The connection URL means what it means to nodemailer (parseConnectionUrl):
// smtp:// with STARTTLS when offered, smtps:// for TLS from the start,
// user:password@ for AUTH, ?tls.rejectUnauthorized=false and the like.
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import { nodemailerPart } from '../vendor';
import type { Refusal } from './send-outcome';

const SMTPConnectionClass = nodemailerPart<typeof SMTPConnection>('SMTPConnection', 'smtp-connection');
const { parseConnectionUrl } = nodemailerPart<typeof import('nodemailer/lib/shared')>('shared', 'shared');

const MAX_MESSAGES_PER_CONNECTION = 100; // then a fresh connection, as nodemailer's pool does
const CONNECTION_TIMEOUT_MS = 30_000;
const GREETING_TIMEOUT_MS = 30_000;
const SOCKET_TIMEOUT_MS = 60_000;

export interface SendResult {
  /** Recipients the server refused while accepting the mail for the rest, with its reply to each. */
  refusals: Refusal[];
}

/** nodemailer's per-recipient errors (on a result, or on the error when every recipient was refused) as refusals. */
export function refusalsOf(x: unknown): Refusal[] {
  const errors = (x as { rejectedErrors?: Array<{ recipient?: string; responseCode?: number; response?: string; message?: string }> })?.rejectedErrors ?? [];
  return errors.map((e) => ({ recipient: String(e.recipient), responseCode: e.responseCode, response: (e.response ?? e.message ?? '').split('\n')[0]! }));
}

interface Lane {
  connection: SMTPConnection;
  messages: number;
  /** Set when the server or the network ended the connection; it is never used again. */
  gone: boolean;
}

export interface SmtpSender {
  send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<SendResult>;
  /** Checks that the server answers and takes the credentials (doctor). */
  verify(): Promise<void>;
  /** Ends every connection, a send in flight too (it fails, and is tried again later). */
  close(): void;
}

export function createSmtpSender(url: string, o: { connectTimeoutMs?: number } = {}): SmtpSender {
  // user:password in the URL come back as `auth`, which SMTPConnection takes at login, not in its options
  const { auth, ...parsed } = parseConnectionUrl(url) as SMTPConnection.Options & { auth?: SMTPConnection.Credentials };
  const options: SMTPConnection.Options = {
    ...parsed,
    connectionTimeout: o.connectTimeoutMs ?? CONNECTION_TIMEOUT_MS,
    greetingTimeout: o.connectTimeoutMs ?? GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  };
  const idle: Lane[] = [];
  const busy = new Set<Lane>(); // a send in flight: close() ends it too, so a stop is not held up by a slow server
  let closed = false;

  /** Never hands the lane out again, and ends its connection: politely (QUIT), or at once after an error. */
  function retire(lane: Lane, how: 'quit' | 'close' = 'quit'): void {
    lane.gone = true;
    busy.delete(lane);
    const i = idle.indexOf(lane);
    if (i >= 0) idle.splice(i, 1);
    lane.connection[how]();
  }

  function open(): Promise<Lane> {
    return new Promise((resolve, reject) => {
      const lane: Lane = { connection: new SMTPConnectionClass(options), messages: 0, gone: false };
      let settled = false;
      const settle = (err?: Error | null) => {
        if (settled) return;
        settled = true;
        if (!err) return resolve(lane);
        retire(lane, 'close');
        reject(err);
      };
      // An idle connection the server times out ends here; a connection never left without an error listener.
      lane.connection.on('error', (err: Error) => {
        retire(lane, 'close');
        settle(err);
      });
      lane.connection.on('end', () => retire(lane, 'close'));
      lane.connection.connect((err?: Error | null) => {
        if (err || !auth) return settle(err);
        lane.connection.login(auth, settle);
      });
    });
  }

  function release(lane: Lane): void {
    busy.delete(lane);
    if (closed || lane.gone || lane.messages >= MAX_MESSAGES_PER_CONNECTION) retire(lane);
    else idle.push(lane);
  }

  function transmit(lane: Lane, envelope: { from: string; to: string[] }, raw: Buffer): Promise<SendResult> {
    busy.add(lane);
    return new Promise((resolve, reject) => {
      // SMTPConnection keeps the transaction's state on the envelope object it is given: each send gets its own
      lane.connection.send({ from: envelope.from, to: [...envelope.to] }, raw, (err, info) => {
        lane.messages += 1;
        if (err) {
          // the mail or its recipients were refused, or the connection broke: start the next mail afresh
          retire(lane, 'close');
          return reject(err);
        }
        release(lane);
        resolve({ refusals: refusalsOf(info) });
      });
    });
  }

  return {
    async send(envelope, raw) {
      if (closed) throw new Error('the SMTP sender is closed');
      const reused = idle.pop();
      if (reused) {
        try {
          return await transmit(reused, envelope, raw);
        } catch (err) {
          // A kept-open connection the server dropped between mails closes without a reply:
          // that says nothing about this mail, so it goes out once more on a new connection.
          const e = err as { code?: string; responseCode?: number };
          if (e.code !== 'ECONNECTION' || e.responseCode !== undefined) throw err;
        }
      }
      return transmit(await open(), envelope, raw);
    },
    async verify() {
      retire(await open());
    },
    close() {
      closed = true;
      for (const lane of [...idle]) retire(lane);
      for (const lane of [...busy]) retire(lane, 'close');
    },
  };
}
