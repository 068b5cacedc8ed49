// Writes the V8 code cache of the vendor bundles (src/vendor.ts), beside them
// in dist/vendor/: run by scripts/build.mjs after bundling, with the Node.js
// that builds (and, in every set-up we know, runs) the package. Run it again
// with `node dist/src/code-cache.js` after changing Node.js: a cache V8
// refuses is only ignored, and the bundles compile from source as before.
//
// The cache is taken after the bundles did what the program does with them
// (V8 keeps every function compiled so far, not only the top level): a
// database made and migrated, a system, department and correspondence added,
// a new ticket and a reply ingested with a notification queued for each, a
// DKIM signature checked, and two mails ingested by the CLI's ingest bundle as
// `deskbridge ingest FILE…` runs it. All of it in a temporary folder, removed after.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { addMap } from './admin/correspondences';
import { addDepartment } from './admin/departments';
import { addSystem } from './admin/systems';
import { loadTemplates } from './outbound/render';
import { outboundFrom } from './outbound/notify';
import { holdHeapTuning } from './heap-tuning';
import { createPipeline } from './pipeline';
import { openDatabase } from './store/db';
import { migrateLatest } from './store/migrate';
import { loadedBundles, vendored, writeCodeCaches } from './vendor';

const CRLF = '\r\n';

function sampleMail(n: number, event: 'new' | 'reply'): Buffer {
  const boundary = `b${n}`;
  return Buffer.from(
    [
      'From: BILLmanager <noreply@bill.example>',
      'To: bridge@support.example',
      `Subject: =?utf-8?q?Ticket_4711:_caf=C3=A9_server?=`,
      `Message-ID: <cache-${n}@bill.example>`,
      'Date: Wed, 25 Nov 2026 10:00:00 +0000',
      'X-Ticket-ID: 4711',
      'X-Department-ID: 12',
      `X-Ticket-Event: ${event}`,
      'X-Customer-Email: customer@client.example',
      'MIME-Version: 1.0',
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'The server answers slowly since this morning; caf=E9.',
      '',
      '> an earlier message, quoted',
      `--${boundary}`,
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>The server answers <b>slowly</b> since this morning.</p><blockquote>an earlier message</blockquote>').toString('base64'),
      `--${boundary}--`,
      '',
    ].join(CRLF),
  );
}

/**
 * The CLI's ingest bundle, run as `deskbridge ingest FILE… --json` runs it (bin/deskbridge.js), on the
 * database made below: its settings from the environment alone (the caller's DESKBRIDGE_* set aside, and an
 * empty config file named, not the deskbridge.config.json of the folder the build runs in), its output
 * read, not printed. Both mails must become ticket events: a bundle that runs but fails every mail (a path
 * it gets wrong) stops this step, and the build says so.
 */
async function exerciseIngestBundle(work: string, database: string): Promise<void> {
  const files = (['new', 'reply'] as const).map((event, i) => {
    const file = join(work, `mail-${i}.eml`);
    writeFileSync(file, sampleMail(10 + i, event));
    return file;
  });
  const config = join(work, 'empty.config.json');
  writeFileSync(config, '{}\n');
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('DESKBRIDGE_')) delete process.env[key];
  Object.assign(process.env, { DESKBRIDGE_CONFIG: config, DESKBRIDGE_DATABASE: database, DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'code-cache-secret-0123456789', DESKBRIDGE_INSTANCE: 'cache', DESKBRIDGE_LOG_LEVEL: 'warn' });
  const write = process.stdout.write;
  let printed = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    const pipe = vendored<typeof import('./cli/ingest-pipe')>('ingest', () => require('./cli/ingest-pipe')); // eslint-disable-line @typescript-eslint/no-require-imports
    if (!(await pipe.pipeFastPath([...files, '--json']))) throw new Error('the ingest bundle left `ingest FILE… --json` to the command line');
  } finally {
    process.stdout.write = write;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  let states: string[] = [];
  try {
    states = (JSON.parse(printed) as Array<{ state: string }>).map((r) => r.state);
  } catch {
    // not JSON: told below with what it printed
  }
  if (process.exitCode || states.length !== 2 || !states.every((state) => state === 'ticket_updated' || state === 'ticket_created')) throw new Error(`\`deskbridge ingest\` from the ingest bundle did not make its two mails ticket events (exit ${process.exitCode ?? 0}): ${printed.slice(0, 2000) || 'nothing printed'}`);
}

/** Exercises the bundles as the program does, then writes their caches; the files written. */
export async function writeVendorCodeCaches(): Promise<string[]> {
  if (extname(__filename) !== '.js') throw new Error('the sources load no bundle: run the build\'s dist/src/code-cache.js');
  holdHeapTuning(); // the caches carry V8's flags: made under those every process starts with (its ingest exercise would tune them), or each refuses them
  const work = mkdtempSync(join(tmpdir(), 'deskbridge-code-cache-'));
  const db = openDatabase(join(work, 'cache.sqlite'));
  try {
    await migrateLatest(db);
    await addSystem(db, 'cache', 'billmgr', { name: 'BILLmanager', from: 'noreply@bill.example', relayTo: 'tickets@bill.example', profile: 'headers', auth: 'none' });
    await addDepartment(db, 'cache', 'hosting', { name: 'Hosting', staff: 'anna@support.example', staffAuth: 'token' });
    await addMap(db, 'cache', { system: 'billmgr', remoteId: '12', name: 'Technical support', department: 'hosting', enabled: true });
    const outbound = outboundFrom({ address: 'bridge@support.example', secret: 'code-cache-secret-0123456789', instance: 'cache' }, (overrides) => loadTemplates(undefined, overrides));
    const pipeline = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 1024 * 1024, outbound });
    await pipeline.ingest([
      { raw: sampleMail(1, 'new'), label: 'new', source: 'file' },
      { raw: sampleMail(2, 'reply'), label: 'reply', source: 'file' },
    ]);
    const verify = vendored<{ dkimVerify(raw: Buffer, o: object): Promise<unknown> }>('mailauth-verify', () => require('mailauth/lib/dkim/verify')); // eslint-disable-line @typescript-eslint/no-require-imports
    const signed = Buffer.concat([Buffer.from(`DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=bill.example; s=sel; h=from:subject; bh=AAAA; b=AAAA${CRLF}`), sampleMail(3, 'new')]);
    await verify.dkimVerify(signed, { resolver: () => Promise.reject(Object.assign(new Error('no such record'), { code: 'ENOTFOUND' })) });
    await exerciseIngestBundle(work, join(work, 'cache.sqlite'));
  } finally {
    await db.close();
    rmSync(work, { recursive: true, force: true });
  }
  const missing = (['knex', 'handlebars', 'mail', 'mailauth-verify', 'nodemailer', 'ingest'] as const).filter((name) => !loadedBundles().some((b) => b.name === name));
  if (missing.length > 0) throw new Error(`not loaded from a bundle: ${missing.join(', ')} (dist/vendor/ incomplete?)`);
  return writeCodeCaches();
}

if (require.main === module) {
  writeVendorCodeCaches().then(
    (files) => console.log(`code cache written: ${files.join(', ')}`),
    (err: Error) => {
      console.error(`code cache: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
}
