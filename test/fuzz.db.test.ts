// Seeded fuzzing of the intake (issue 10): mutations of the real-mail corpus
// (truncation, byte flips, broken boundaries, deep nesting, giant headers,
// bogus encodings, spliced mails), a third of them sent as a known system so
// the profile patterns run too. Every mail must end in a ledger state within
// its deadline, with no unhandled rejection, and a good mail right after them
// must still become a ticket. DESKBRIDGE_FUZZ_SEED reproduces a run
// (printed), DESKBRIDGE_FUZZ_COUNT changes its size (default 2,000). The
// corpus is found as in corpus.db.test.ts; absent, this says so loudly and
// fails under CI.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParsePool } from '../src/mail/parse-pool';
import { createPipeline, inBatches, type IncomingMail, type MailResult } from '../src/pipeline';
import { LEDGER_STATES } from '../src/store/inbound';
import { BACKEND, openTestDatabase } from './helpers/database';
import { fixture } from './helpers/mail';
import { seedRouting } from './helpers/seed';

const CORPUS = resolve(process.env.DESKBRIDGE_CORPUS ?? join(__dirname, '..', '..', 'shared', 'corpus'));
const present = existsSync(join(CORPUS, 'index.json'));
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (!present) console.error(`\n!!!!!!!! corpus not found at ${CORPUS}: the fuzz test does not run (set DESKBRIDGE_CORPUS) !!!!!!!!\n`);
const SEED = Number(process.env.DESKBRIDGE_FUZZ_SEED ?? 20261130);
const COUNT = Number(process.env.DESKBRIDGE_FUZZ_COUNT ?? 2000);
const BATCH = 50;

/** mulberry32: a small seeded generator, so a failing run can be replayed exactly. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(list: readonly T[]) => list[int(list.length)]! };
}
type Rng = ReturnType<typeof generator>;

const latin1 = (b: Buffer) => b.toString('latin1');
const bytes = (s: string) => Buffer.from(s, 'latin1');

const MUTATIONS: Record<string, (raw: Buffer, rng: Rng, other: Buffer) => Buffer> = {
  truncate: (raw, rng) => raw.subarray(0, rng.int(raw.length + 1)),
  flipBytes: (raw, rng) => {
    const out = Buffer.from(raw);
    for (let i = 0, n = 1 + rng.int(40); i < n && out.length > 0; i++) out[rng.int(out.length)] = rng.int(256);
    return out;
  },
  brokenBoundaries: (raw, rng) => {
    const text = latin1(raw);
    const m = /boundary="?([^";\r\n]+)"?/i.exec(text);
    if (!m) return bytes(text.replace(/\r?\n\r?\n/, '\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n'));
    const b = m[1]!;
    return bytes(rng.next() < 0.5 ? text.split(`--${b}--`).join('') : text.split(`--${b}`).join(`--${b}${rng.int(10)}`));
  },
  deepNesting: (raw, rng) => {
    const depth = 20 + rng.int(200);
    const open = Array.from({ length: depth }, (_, i) => `Content-Type: multipart/mixed; boundary="d${i}"\r\n\r\n--d${i}\r\n`).join('');
    const close = Array.from({ length: depth }, (_, i) => `\r\n--d${depth - 1 - i}--\r\n`).join('');
    return bytes(`From: nest@x.example\r\nSubject: nested\r\nMIME-Version: 1.0\r\n${open}${latin1(raw)}${close}`);
  },
  giantHeader: (raw, rng) =>
    rng.next() < 0.5
      ? bytes(`X-Giant: ${'g'.repeat(100_000 + rng.int(400_000))}\r\n${latin1(raw)}`)
      : bytes(`${Array.from({ length: 5_000 + rng.int(20_000) }, (_, i) => `X-Many-${i}: v`).join('\r\n')}\r\n${latin1(raw)}`),
  bogusEncodings: (raw, rng) => {
    const text = latin1(raw);
    const bogus = rng.pick(['Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable', 'Content-Type: text/plain; charset=x-bogus-7', 'Content-Type: text/html; charset=utf-7', 'Subject: =?utf-8?B?////?= =?x-bogus?Q?=FF=00?=']);
    return bytes(`${bogus}\r\n${text.replace(/=\?[^?]+\?/g, '=?unknown-charset?')}`);
  },
  splice: (raw, rng, other) => Buffer.concat([raw.subarray(0, rng.int(raw.length + 1)), other.subarray(rng.int(other.length + 1))]),
  nulAndControls: (raw, rng) => bytes(latin1(raw).replace(/\r\n/g, () => (rng.next() < 0.05 ? '\r\n\x00\x1b[2J' : '\r\n'))),
};

/** A third of the mails come from a known system, so its profile's patterns run on the mutated body. */
function asSystem(raw: Buffer, id: number): Buffer {
  const text = latin1(raw).replace(/^(from|subject):.*(\r?\n[ \t].*)*\r?\n/gim, '');
  return bytes(`From: Technical Support <support@billing.acme.example>\r\nSubject: [Ticket ID: F${String(id).padStart(5, '0')}] fuzz\r\n${text}`);
}

const entries: Array<{ file: string; kinds: string[] }> = present ? JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')).filter((e: { kinds: string[] }) => !e.kinds.includes('fragment')) : [];

describe.skipIf(!present && !ci)(`fuzzing the intake on ${BACKEND} (seed ${SEED}, ${COUNT} mails)`, () => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;
  const pool = createParsePool();
  const results: MailResult[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  const took: Array<{ label: string; ms: number }> = [];

  beforeAll(async () => {
    expect(present, `corpus missing at ${CORPUS}`).toBe(true);
    process.on('unhandledRejection', onUnhandled);
    db = await openTestDatabase('fuzz');
    await seedRouting(db);
    const rng = generator(SEED);
    const names = Object.keys(MUTATIONS);
    const mails: IncomingMail[] = [];
    for (let i = 0; i < COUNT; i++) {
      const raw = readFileSync(join(CORPUS, rng.pick(entries).file));
      const other = readFileSync(join(CORPUS, rng.pick(entries).file));
      const name = rng.pick(names);
      let mutated = MUTATIONS[name]!(raw, rng, other);
      if (rng.next() < 1 / 3) mutated = asSystem(mutated, i);
      mails.push({ raw: mutated, label: `#${i} ${name}`, source: 'file', sourceRef: `fuzz-${SEED}-${i}` });
    }
    // the worker takes mails one at a time, in order: the gap between two answers is the later mail's time
    let last = 0;
    const timed = async (raw: Buffer, candidates?: Parameters<typeof pool.parse>[1]) => {
      const asked = Date.now();
      try {
        return await pool.parse(raw, candidates);
      } finally {
        const now = Date.now();
        if (last > 0) took.push({ label: `${raw.length} bytes`, ms: now - Math.max(asked, last) }); // the first one also waited for the worker to start
        last = now;
      }
    };
    const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, parse: timed });
    results.push(...(await pipeline.ingestInTurn(inBatches(mails, BATCH))));
    results.push(...(await pipeline.ingest([{ raw: fixture('whmcs-new.eml'), label: 'good mail after', source: 'file' }])));
  }, 900_000);

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await pool.close();
    await db?.drop();
  });

  it('every mail ends in a ledger state within its deadline, with no unhandled rejection', () => {
    const counts: Record<string, number> = {};
    for (const r of results) counts[r.state] = (counts[r.state] ?? 0) + 1;
    const slowest = took.reduce((a, b) => (b.ms > a.ms ? b : a), { label: '-', ms: 0 });
    console.log(`fuzz on ${BACKEND}, seed ${SEED}: ${results.length - 1} mails`, JSON.stringify(counts), `slowest mail ${slowest.ms} ms (${slowest.label})`);
    expect(results.length).toBe(COUNT + 1);
    expect(results.filter((r) => !(LEDGER_STATES as readonly string[]).includes(r.state))).toEqual([]);
    expect(results.filter((r) => /took longer than/.test(r.reason ?? '')).map((r) => r.label)).toEqual([]);
    // a failure of ours, not of the mail, would show as `failed`: each one is listed with its reason
    expect(results.filter((r) => r.state === 'failed' || r.state === 'parked_failed').map((r) => `${r.label}: ${r.reason}`)).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('a good mail right after them still becomes a ticket', () => {
    expect(results.at(-1)).toMatchObject({ label: 'good mail after', state: 'ticket_created' });
  });
});
