// The SMTP sender against a real smtp-server: kept-open connections carry
// many mails byte for byte, a connection is replaced after its share of
// mails or when the server drops it while idle, AUTH from the URL, a refused
// login and partly refused recipients.
import { afterEach, describe, expect, it } from 'vitest';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { createSmtpSender, type SmtpSender } from '../../src/outbound/smtp-sender';

interface Server {
  port: number;
  connections: number;
  users: string[];
  received: Array<{ to: string[]; raw: Buffer }>;
  close(): Promise<void>;
}

const servers: Server[] = [];
const senders: SmtpSender[] = [];
afterEach(async () => {
  for (const s of senders.splice(0)) s.close();
  for (const s of servers.splice(0)) await s.close();
});

async function startServer(options: Partial<SMTPServerOptions> = {}): Promise<Server> {
  const state: Server = { port: 0, connections: 0, users: [], received: [], close: async () => {} };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      state.connections += 1;
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('nobody@')) return callback(Object.assign(new Error('No such user here'), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        callback();
      });
    },
    ...options,
  });
  server.on('error', () => {}); // a client that resets its connection is not the test's failure
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.port = (server.server.address() as { port: number }).port;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  servers.push(state);
  return state;
}

const sender = (url: string) => {
  const s = createSmtpSender(url);
  senders.push(s);
  return s;
};

const raw = (i: number) => Buffer.from(`From: bridge@support.example\r\nTo: anna@support.example\r\nSubject: mail ${i}\r\nMessage-ID: <m${i}@support.example>\r\n\r\nline one of ${i}\r\n.a line that starts with a dot\r\n`);
const envelope = { from: 'bridge@support.example', to: ['anna@support.example'] };

describe('smtp sender', () => {
  it('sends many mails over one kept-open connection, each byte for byte', async () => {
    const server = await startServer();
    const s = sender(`smtp://127.0.0.1:${server.port}`);
    for (let i = 0; i < 10; i++) await s.send(envelope, raw(i));
    expect(server.connections).toBe(1);
    expect(server.received.map((r) => r.raw.toString())).toEqual(Array.from({ length: 10 }, (_, i) => raw(i).toString()));
  });

  it('four at once use four connections; after 100 mails a connection is replaced', async () => {
    const server = await startServer();
    const s = sender(`smtp://127.0.0.1:${server.port}`);
    await Promise.all([0, 1, 2, 3].map((i) => s.send(envelope, raw(i))));
    expect(server.connections).toBe(4);
    for (let i = 4; i < 500; i++) await s.send(envelope, raw(i)); // one at a time now, over the kept connections
    expect(server.received).toHaveLength(500);
    expect(server.connections).toBe(5); // four connections carry 100 mails each, the fifth the rest
  });

  it('a connection the server closed while idle is not used again: the next mail goes out', async () => {
    const server = await startServer({ socketTimeout: 300 });
    const s = sender(`smtp://127.0.0.1:${server.port}`);
    await s.send(envelope, raw(1));
    await new Promise((r) => setTimeout(r, 800)); // the server times the idle connection out
    await s.send(envelope, raw(2));
    expect(server.received).toHaveLength(2);
    expect(server.connections).toBe(2);
  });

  it('logs in with the user and password from the URL; a wrong password is EAUTH with the reply code', async () => {
    const server = await startServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'bridge' && auth.password === 'p@ss word') {
          server.users.push(auth.username!);
          return callback(null, { user: auth.username });
        }
        callback(new Error('Invalid username or password'));
      },
    });
    await sender(`smtp://bridge:${encodeURIComponent('p@ss word')}@127.0.0.1:${server.port}`).send(envelope, raw(1));
    expect(server.users).toEqual(['bridge']);
    expect(server.received).toHaveLength(1);
    await expect(sender(`smtp://bridge:wrong@127.0.0.1:${server.port}`).send(envelope, raw(2))).rejects.toMatchObject({ code: 'EAUTH', responseCode: 535 });
    expect(server.received).toHaveLength(1);
  });

  it('takes the mail for the recipients the server accepts and reports the refused ones; all refused is an error with the reply code', async () => {
    const server = await startServer();
    const s = sender(`smtp://127.0.0.1:${server.port}`);
    expect(await s.send({ from: envelope.from, to: ['anna@support.example', 'nobody@support.example'] }, raw(1))).toEqual({ refusals: [{ recipient: 'nobody@support.example', responseCode: 550, response: expect.stringMatching(/^550/) }] });
    expect(server.received.map((r) => r.to)).toEqual([['anna@support.example']]);
    await expect(s.send({ from: envelope.from, to: ['nobody@support.example'] }, raw(2))).rejects.toMatchObject({ responseCode: 550 });
    await s.send(envelope, raw(3)); // the sender goes on after a refusal
    expect(server.received).toHaveLength(2);
  });

  it('a refused connection is an error without a reply code (transient for the outbox)', async () => {
    const server = await startServer();
    const port = server.port;
    await server.close();
    servers.splice(0);
    const err = await sender(`smtp://127.0.0.1:${port}`).send(envelope, raw(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/ECONNECTION|ESOCKET/) });
    expect((err as { responseCode?: number }).responseCode).toBeUndefined();
  });
});
