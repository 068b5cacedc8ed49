// Sends finished mails (the outbox's stored bytes) over a few kept-open SMTP
// connections: nodemailer's SMTPConnection, one per send lane, reused for up
// to MAX_MESSAGES_PER_CONNECTION mails. The outbox already holds each mail
// whole, so nothing is composed here; nodemailer's pooled transport would
// compose every raw mail again (a MIME tree, a new Message-ID, a stream
// pipeline), which the relay profile showed as more than half of each send.
// The connection URL means what it means to nodemailer (parseConnectionUrl):
// smtp:// with STARTTLS when offered, smtps:// for TLS from the start,
// user:password@ for AUTH, ?tls.rejectUnauthorized=false and the like.
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseConnectionUrl } from 'nodemailer/lib/shared';

const MAX_MESSAGES_PER_CONNECTION = 100; // then a fresh connection, as nodemailer's pool does
const CONNECTION_TIMEOUT_MS = 30_000;
const GREETING_TIMEOUT_MS = 30_000;
const SOCKET_TIMEOUT_MS = 60_000;

export interface SendResult {
  /** Recipients the server refused while accepting the mail for the rest. */
  rejected: string[];
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
  let closed = false;

  function open(): Promise<Lane> {
    return new Promise((resolve, reject) => {
      const lane: Lane = { connection: new SMTPConnection(options), messages: 0, gone: false };
      const drop = () => {
        lane.gone = true;
        const i = idle.indexOf(lane);
        if (i >= 0) idle.splice(i, 1);
      };
      let settled = false;
      // An idle connection the server times out ends here; a connection never left without an error listener.
      lane.connection.on('error', (err: Error) => {
        drop();
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      lane.connection.on('end', drop);
      lane.connection.connect((err?: Error | null) => {
        if (err) {
          drop();
          if (!settled) reject(err);
          settled = true;
          return;
        }
        const ready = () => {
          settled = true;
          resolve(lane);
        };
        if (!auth) return ready();
        lane.connection.login(auth, (loginErr?: Error | null) => {
          if (!loginErr) return ready();
          settled = true;
          lane.connection.close();
          reject(loginErr);
        });
      });
    });
  }

  function release(lane: Lane): void {
    if (closed || lane.gone || lane.messages >= MAX_MESSAGES_PER_CONNECTION) {
      lane.gone = true;
      lane.connection.quit();
      return;
    }
    idle.push(lane);
  }

  function transmit(lane: Lane, envelope: { from: string; to: string[] }, raw: Buffer): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      lane.connection.send(envelope, raw, (err, info) => {
        lane.messages += 1;
        if (err) {
          // the mail or its recipients were refused, or the connection broke: start the next mail afresh
          lane.gone = true;
          lane.connection.close();
          return reject(err);
        }
        // the connection is still finishing this reply: hand it on only from the next turn, as nodemailer's pool does
        setImmediate(() => {
          release(lane);
          resolve({ rejected: (info.rejected ?? []).map(String) });
        });
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
      const lane = await open();
      lane.gone = true;
      lane.connection.quit();
    },
    close() {
      closed = true;
      for (const lane of idle.splice(0)) {
        lane.gone = true;
        lane.connection.quit();
      }
    },
  };
}
