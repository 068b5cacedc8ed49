// The relay half of `npm run bench`: N staff replies in → N relays accepted
// by a local SMTP sink (smtp-server in its own process), beside nodemailer
// alone composing and sending the very same relay mails (same headers, text,
// HTML and attachments) to the same sink, with the same concurrency, in the
// same run. The ratio is the figure; first bar >= 0.50.
//
//   sink                       an smtp-server that accepts everything; prints its port, then counts
//   bridge PORT DB N           tickets seeded (untimed), then N staff replies → pipeline → outbox → SMTP
//   nodemailer PORT DB         the relays the bridge sent, as message objects that a pooled nodemailer
//                              transport composes and sends (as an application using nodemailer would)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createLogger } from '../src/log';
import { createParsePool } from '../src/mail/parse-pool';
import { outboundFrom } from '../src/outbound/notify';
import { createOutboxWorker, openTransport, SEND_CONCURRENCY } from '../src/outbound/outbox-worker';
import { loadTemplates } from '../src/outbound/render';
import { makeToken } from '../src/outbound/reply-token';
import { createPipeline, inBatches, type IncomingMail } from '../src/pipeline';
import { openDatabase } from '../src/store/db';
import { notification } from '../test/helpers/notifications';
import { benchChild, killAll } from './child';
import { seededBenchDatabase } from './seed';

const SECRET = 'bench-secret-0123456789';
const PER_TICKET = 5;
const emit = (data: unknown) => process.stdout.write(`${JSON.stringify(data)}\n`);

async function roleSink() {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  emit({ port: (server.server.address() as { port: number }).port });
  setInterval(() => emit({ received }), 200).unref();
  await new Promise(() => {});
}

function staffReply(ticketId: number, i: number): string {
  return [
    'From: Anna Admin <anna@support.example>',
    `To: bridge+${makeToken(ticketId, 'anna@support.example', SECRET)}@support.example`,
    `Subject: Re: [DB#${ticketId}] slow server`,
    `Message-ID: <bench-reply-${i}@mail.support.example>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Reply ${i}: we moved the VPS to a less loaded node; it should be fast again.`,
    '',
    '-- ',
    'Anna Admin',
    '',
    'On Wed, Nov 25, 2026 at 10:00 AM Deskbridge <bridge@support.example> wrote:',
    '> The server answers slowly since this morning.',
    '',
  ].join('\r\n');
}

async function roleBridge(port: number, database: string, n: number) {
  const db = await seededBenchDatabase(database);
  const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'bench' }, () => loadTemplates());
  // untimed: one ticket per PER_TICKET replies, without staff notifications
  const seed = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024 });
  const tickets = Math.ceil(n / PER_TICKET);
  for (let i = 0; i < tickets; i += 100) {
    await seed.ingest(Array.from({ length: Math.min(100, tickets - i) }, (_, k): IncomingMail => ({ raw: Buffer.from(notification((i + k) * PER_TICKET, PER_TICKET, 'seed')), label: 'seed', source: 'file' })));
  }
  const ids = (await db.knex('tickets').select('id').orderBy('id')).map((r: { id: number }) => Number(r.id));
  const pool = createParsePool();
  const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, parse: pool.parse, outbound });
  const transport = openTransport(`smtp://127.0.0.1:${port}`);
  const worker = createOutboxWorker({ db, transport, from: 'bridge@support.example', owner: 'bench:1:x', log: createLogger({ level: 'silent', destination: process.stderr }) });
  const replies = Array.from({ length: n }, (_, i): IncomingMail => ({ raw: Buffer.from(staffReply(ids[Math.floor(i / PER_TICKET)]!, i)), label: `reply ${i}`, source: 'file' }));
  const start = process.hrtime.bigint();
  // as `run` does: each committed batch wakes the sender, which works while the next batch is read
  const stop = new AbortController();
  const sending = worker.run(stop.signal);
  await pipeline.ingestInTurn(inBatches(replies, 100), () => worker.nudge());
  for (;;) {
    const sent = Number((await db.knex('outbox').where({ state: 'sent' }).count({ n: '*' }).first())!.n);
    if (sent >= n) break;
    worker.nudge();
    await new Promise((r) => setTimeout(r, 10));
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  stop.abort();
  await sending;
  await pool.close();
  const states = await db.knex('outbox').select('state').count({ n: '*' }).groupBy('state');
  await db.close();
  emit({ mails: n, seconds, mailsPerSecond: n / seconds, peakRssMb: process.resourceUsage().maxRSS / 1024, states });
}

async function roleNodemailer(port: number, database: string) {
  const db = openDatabase(database);
  const rows: Array<{ raw: Uint8Array; to_addresses: string }> = await db.knex('outbox').select('raw', 'to_addresses').where({ state: 'sent' }).orderBy('id');
  await db.close();
  // The same mails as message objects (untimed): nodemailer composes and sends each, as an application using it directly would.
  const messages = await Promise.all(
    rows.map(async (r) => {
      const m = await simpleParser(Buffer.from(r.raw));
      return {
        envelope: { from: 'bridge@support.example', to: JSON.parse(r.to_addresses) as string[] },
        from: m.from?.text,
        to: JSON.parse(r.to_addresses) as string[],
        subject: m.subject,
        messageId: m.messageId,
        inReplyTo: m.inReplyTo,
        references: m.references,
        headers: { 'X-Deskbridge-Loop': String(m.headers.get('x-deskbridge-loop') ?? '') },
        text: m.text,
        html: m.html || undefined,
        attachments: m.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
      };
    }),
  );
  const transport = createTransport({ host: '127.0.0.1', port, secure: false, pool: true, maxConnections: SEND_CONCURRENCY });
  const start = process.hrtime.bigint();
  // the same concurrency as the outbox worker: SEND_CONCURRENCY mails in flight over as many pooled connections
  let next = 0;
  const lane = async () => {
    while (next < messages.length) await transport.sendMail(messages[next++]!);
  };
  await Promise.all(Array.from({ length: SEND_CONCURRENCY }, lane));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  transport.close();
  emit({ mails: messages.length, seconds, mailsPerSecond: messages.length / seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 });
}

const child = (args: string[]) => benchChild(__filename, args);

export async function relayBench(n: number, print: (line: string) => void = console.log): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'deskbridge-bench-relay-'));
  const sink = child(['sink']);
  try {
    const port = String((await sink.until((l) => 'port' in l)).port);
    const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
    const pairs: Array<{ bridge: Record<string, unknown>; alone: Record<string, unknown>; ratio: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const database = join(work, `relay-${r}.sqlite`);
      const bridge = child(['bridge', port, database, String(n)]);
      const b = await bridge.until((l) => 'mailsPerSecond' in l, 600_000);
      await bridge.exited;
      const alone = child(['nodemailer', port, database]);
      const a = await alone.until((l) => 'mailsPerSecond' in l, 600_000);
      await alone.exited;
      pairs.push({ bridge: b, alone: a, ratio: Number(b.mailsPerSecond) / Number(a.mailsPerSecond) });
    }
    pairs.sort((x, y) => x.ratio - y.ratio);
    const { bridge, alone, ratio } = pairs[Math.floor(pairs.length / 2)]!;
    const f = (x: unknown) => Number(x).toFixed(0);
    print(`relay: ${n} staff replies in → relays accepted by a local SMTP sink; median of ${rounds} pairs (ratios ${pairs.map((p) => p.ratio.toFixed(2)).join(', ')})`);
    print(`  nodemailer alone, composing and sending the same mails: ${f(alone.mailsPerSecond)} mails/s`);
    print(`  bridge, staff reply in → relay accepted:               ${f(bridge.mailsPerSecond)} mails/s   (peak RSS ${f(bridge.peakRssMb)} MB; outbox ${JSON.stringify(bridge.states)})`);
    print(`  ratio bridge/nodemailer:                                ${ratio.toFixed(2)}   (bar >= 0.65: ${ratio >= 0.65 ? 'met' : 'NOT met'})`);
  } finally {
    killAll();
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const [role, ...args] = process.argv.slice(2);
  if (role === 'sink') return roleSink();
  if (role === 'bridge') return roleBridge(Number(args[0]), args[1]!, Number(args[2]));
  if (role === 'nodemailer') return roleNodemailer(Number(args[0]), args[1]!);
  await relayBench(Number(process.env.BENCH_RELAY_N ?? 2000));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
