// The bundles scripts/build.mjs makes of heavy npm packages (dist/vendor/,
// src/vendor.ts) must behave as the packages do: the compiled program runs
// them, every other test runs the packages. Under `npm test` the fresh test
// build (dist/ beside DESKBRIDGE_TEST_BIN's bin/) holds them; vitest alone has none.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import { makeKey, plainMail, signMail, zoneResolver } from './helpers/dkim';

const dir = process.env.DESKBRIDGE_TEST_BIN ? join(dirname(process.env.DESKBRIDGE_TEST_BIN), '..', 'dist', 'vendor') : null;
const present = dir !== null && existsSync(join(dir, 'knex.js'));
if (!present) console.warn('!! test/vendor.test.ts: no test build (run `npm test`, which makes one): the vendor bundles are NOT checked');
type VendorModule = typeof import('../src/vendor');
// the build's own loader (dist/src/vendor.js), as the compiled program loads them: with their code cache
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loader = () => require(join(dir!, '..', 'src', 'vendor.js')) as VendorModule;
const load = <T>(name: string) => loader().vendored(name as never, () => { throw new Error(`no bundle ${name}`); }) as T;

describe.runIf(present)('vendor bundles', () => {
  it("knex: opens SQLite through better-sqlite3 (bundled with it, its addon named as db.ts names it) and runs a query", async () => {
    const work = mkdtempSync(join(tmpdir(), 'deskbridge-vendor-'));
    // the build's own configuration (dist/src/store/db.js): the bundle's better-sqlite3 is given its addon's path
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = (require(join(dir!, '..', 'src', 'store', 'db.js')) as typeof import('../src/store/db')).knexConfig(join(work, 'v.sqlite'));
    const knex = load<typeof import('knex')>('knex').knex({ ...config, pool: { min: 1, max: 1 } });
    try {
      await knex.schema.createTable('t', (t) => {
        t.increments('id');
        t.string('name');
      });
      await knex('t').insert([{ name: 'a' }, { name: 'b' }]);
      expect(await knex('t').count({ n: '*' }).first()).toEqual({ n: 2 });
    } finally {
      await knex.destroy();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('handlebars: compiles strictly and escapes', () => {
    const hb = load<typeof import('handlebars')>('handlebars').create();
    expect(hb.compile('<p>{{a}}</p>', { strict: true })({ a: '<b>' })).toBe('<p>&lt;b&gt;</p>');
    expect(() => hb.compile('{{b}}', { strict: true })({})).toThrow(/"b" not defined/);
  });

  it('mailauth: verifies a real DKIM signature and DMARC alignment', async () => {
    const v = load<{ dkimVerify: typeof import('mailauth/lib/dkim/verify').dkimVerify; dmarc: typeof import('mailauth/lib/dmarc').dmarc }>('mailauth-verify');
    const key = makeKey();
    const raw = Buffer.from(await signMail(plainMail(['From: a@bill.example', 'To: b@support.example', 'Subject: hi', 'Message-ID: <v1@bill.example>']), 'bill.example', key));
    const resolver = zoneResolver({ 'sel._domainkey.bill.example': key.record, '_dmarc.bill.example': 'v=DMARC1; p=reject' });
    const checked = await v.dkimVerify(raw, { resolver });
    expect(checked.results.map((r) => r.status.result)).toEqual(['pass']);
    const tampered = Buffer.from(raw.toString('latin1').replace('Subject: hi', 'Subject: ho'), 'latin1');
    expect((await v.dkimVerify(tampered, { resolver })).results.map((r) => r.status.result)).toEqual(['fail']);
  });

  it('mail: mailparser, libmime, html-to-text and sanitize-html, each from the one bundle', async () => {
    const mail = load<{ mailparser: typeof import('mailparser'); libmime: { decodeWords(s: string): string }; htmlToText: typeof import('html-to-text'); sanitizeHtml: typeof import('sanitize-html') }>('mail');
    const parsed = await mail.mailparser.simpleParser(Buffer.from('From: a@x.example\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi<script>x</script></p>\r\n'));
    expect(parsed.subject).toBe('café');
    expect(mail.libmime.decodeWords('=?iso-8859-1?q?caf=E9?=')).toBe('café');
    expect(mail.htmlToText.htmlToText('<p>Hi</p>')).toBe('Hi');
    expect(mail.sanitizeHtml(String(parsed.html))).toBe('<p>Hi</p>\n');
  });

  it("mail: the start-up rewrites (scripts/bundle-startup.mjs) keep the packages' results: double-byte charsets, links in text, HTML-only text", async () => {
    const mail = load<{ mailparser: typeof import('mailparser') }>('mail');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('mailparser') as typeof import('mailparser');
    const part = (charset: string, bytes: number[]) => `Content-Type: text/plain; charset=${charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(bytes).toString('base64')}\r\n`;
    const mails = [
      part('gbk', [0xc4, 0xe3, 0xba, 0xc3]),
      part('big5', [0xa7, 0x41, 0xa6, 0x6e]),
      part('shift_jis', [0x82, 0xb1, 0x82, 0xf1]),
      part('windows-1252', [0x63, 0x61, 0x66, 0xe9, 0x80]),
      part('gb18030', [0x95, 0x32, 0x82, 0x36, 0x20, 0x41]),
      'Content-Type: text/plain; charset=utf-8\r\n\r\nsee https://example.com/x?a=1, www.example.org, mail anna@example.com or ask @bob\r\n',
      // HTML and no text part: mailparser makes the text with html-to-text, which the bundle loads at this first use
      'Content-Type: text/html; charset=utf-8\r\n\r\n<h1>Disk</h1><p>The <b>server</b> answers slowly&nbsp;&amp; often.</p><ul><li>one</li><li>two</li></ul>\r\n',
    ].map((body) => Buffer.from(`From: a@x.example\r\nSubject: t\r\n${body}`));
    for (const raw of mails) {
      const [fromBundle, fromPackage] = await Promise.all([mail.mailparser.simpleParser(raw), pkg.simpleParser(raw)]);
      expect({ text: fromBundle.text, html: fromBundle.textAsHtml }).toEqual({ text: fromPackage.text, html: fromPackage.textAsHtml });
    }
    expect((await mail.mailparser.simpleParser(mails[0]!)).text).toBe('\u4f60\u597d');
    // libmime's guard for iconv-lite's double-byte decoders (the comparison the rewrite made lazy): a lead byte
    // ending one chunk and a space starting the next lost the rest of the chunk without it
    const { libmime } = load<{ libmime: { createDecodeStream(charset: string): import('node:stream').Transform } }>('mail');
    const decoded = await new Promise<string>((resolve, reject) => {
      const stream = libmime.createDecodeStream('gb18030');
      const out: Buffer[] = [];
      stream.on('data', (d: Buffer) => out.push(d)).on('end', () => resolve(Buffer.concat(out).toString('utf8'))).on('error', reject);
      stream.write(Buffer.from([0x41, 0x81]));
      stream.end(Buffer.from([0x20, 0x42, 0x43]));
    });
    expect(decoded).toBe('A\ufffd BC');
    expect((await mail.mailparser.simpleParser(mails[5]!)).textAsHtml).toContain('<a href="https://twitter.com/bob">@bob</a>');
    expect((await mail.mailparser.simpleParser(mails[6]!)).text).toContain('The server answers slowly\u00a0& often.');
    // and in a fresh process, where this HTML-only mail is the first use of html-to-text (above, an earlier test loaded it)
    const first = spawnSync(process.execPath, ['-e', `
      const mail = require(${JSON.stringify(join(dir!, '..', 'src', 'vendor.js'))}).vendored('mail', () => null);
      mail.mailparser.simpleParser(Buffer.from(process.argv[1], 'base64')).then((m) => process.stdout.write(JSON.stringify({ text: m.text })));
    `, mails[6]!.toString('base64')], { encoding: 'utf8' });
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ text: (await pkg.simpleParser(mails[6]!)).text });
  });

  it("nodemailer: its pieces from the one bundle write what the package writes", async () => {
    type Parts = { addressparser: typeof import('nodemailer/lib/addressparser').default; MimeNode: typeof import('nodemailer/lib/mime-node').default; MailComposer: typeof import('nodemailer/lib/mail-composer').default; shared: typeof import('nodemailer/lib/shared') };
    const nm = load<Parts>('nodemailer');
    /* eslint-disable @typescript-eslint/no-require-imports */
    const pkg = { addressparser: require('nodemailer/lib/addressparser'), MimeNode: require('nodemailer/lib/mime-node'), MailComposer: require('nodemailer/lib/mail-composer') } as Omit<Parts, 'shared'>;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const list = 'Anna Staff <anna@desk.example>, "Bob, B." <bob@desk.example>, group: c@x.example;';
    expect(nm.addressparser(list, { flatten: true })).toEqual(pkg.addressparser(list, { flatten: true }));
    expect(new nm.MimeNode('text/plain').encodeHeaderValue('Subject', 'Caf\u00e9 \u{1F600} ticket')).toBe(new pkg.MimeNode('text/plain').encodeHeaderValue('Subject', 'Caf\u00e9 \u{1F600} ticket'));
    const mail = { from: 'a@x.example', to: 'b@x.example', subject: 'S\u00fc', text: 't\u00e9xt', date: new Date(0), baseBoundary: 'b', messageId: '<m@x>', attachments: [{ filename: 'a.txt', content: 'A' }] };
    const build = (C: Parts['MailComposer']) => new Promise<Buffer>((resolve, reject) => new C(mail).compile().build((err, out) => (err ? reject(err) : resolve(out))));
    expect((await build(nm.MailComposer)).toString()).toBe((await build(pkg.MailComposer)).toString());
    expect(nm.shared.parseConnectionUrl('smtp://u:p@127.0.0.1:2525')).toMatchObject({ host: '127.0.0.1', port: 2525, auth: { user: 'u', pass: 'p' } });
    // content given by URL: nodemailer's fetch, which the bundle loads at this first call (scripts/bundle-startup.mjs)
    const server = createServer((_, res) => res.end('served over HTTP'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const href = `http://127.0.0.1:${(server.address() as AddressInfo).port}/a.txt`;
      const byUrl = { ...mail, attachments: [{ filename: 'a.txt', href }] };
      const buildByUrl = (C: Parts['MailComposer']) => new Promise<Buffer>((resolve, reject) => new C(byUrl).compile().build((err, out) => (err ? reject(err) : resolve(out))));
      const fromBundle = (await buildByUrl(nm.MailComposer)).toString();
      expect(fromBundle).toBe((await buildByUrl(pkg.MailComposer)).toString());
      expect(fromBundle).toContain(Buffer.from('served over HTTP').toString('base64'));
      const resolved = await new Promise<unknown>((resolve, reject) => nm.shared.resolveContent({ c: { href } }, 'c', (err: Error | null, v: unknown) => (err ? reject(err) : resolve(v))));
      expect(String(resolved)).toBe('served over HTTP');
    } finally {
      server.close();
    }
  });

  it("every package's bundle is pure ASCII (read without UTF-8 decoding); each bundle compiles with the code cache the build wrote", () => {
    const bundles = readdirSync(dir!).filter((f) => f.endsWith('.js'));
    expect(bundles.sort()).toEqual(['handlebars.js', 'ingest.js', 'knex.js', 'mail.js', 'mailauth-verify.js', 'nodemailer.js']);
    for (const b of bundles) {
      // the CLI's ingest path keeps words in other scripts in its reply-quote patterns (String.raw: no escapes)
      if (b !== 'ingest.js') expect(readFileSync(join(dir!, b)).every((byte) => byte < 0x80), b).toBe(true);
      expect(existsSync(join(dir!, `${b}.v8cache`)), b).toBe(true);
    }
    // the tests above loaded each through the loader, in this thread
    expect(loader().loadedBundles().sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'handlebars', cache: 'used' },
      { name: 'knex', cache: 'used' },
      { name: 'mail', cache: 'used' },
      { name: 'mailauth-verify', cache: 'used' },
      { name: 'nodemailer', cache: 'used' },
    ]);
  });

  it('a cache that does not fit is ignored: the bundle compiles from its source, runs its own code, and says why', () => {
    // the loader and bundles laid out as in dist/, each with a cache that must not be used
    const work = mkdtempSync(join(tmpdir(), 'deskbridge-vendor-cache-'));
    const MAGIC = Buffer.from('deskbridge-v8cache-1\n'); // the file format: magic, SHA-256 of bundle + V8 data, V8 data
    const cacheFile = (source: Buffer, v8: Buffer) => Buffer.concat([MAGIC, createHash('sha256').update(source).update(v8).digest(), v8]);
    const v8Data = (name: string) => readFileSync(join(dir!, `${name}.js.v8cache`)).subarray(MAGIC.length + 32);
    try {
      mkdirSync(join(work, 'src'));
      mkdirSync(join(work, 'vendor'));
      for (const f of ['vendor.js', 'errors.js']) copyFileSync(join(dir!, '..', 'src', f), join(work, 'src', f));
      const at = (name: string) => join(work, 'vendor', name);
      // handlebars: edited after the build, same length (V8 alone would run the cached, old code), its cache left as built
      const edited = Buffer.from(readFileSync(join(dir!, 'handlebars.js'), 'latin1').replace('"<": "&lt;"', '"<": "&LT;"'), 'latin1');
      expect(edited.length).toBe(readFileSync(join(dir!, 'handlebars.js')).length);
      writeFileSync(at('handlebars.js'), edited);
      copyFileSync(join(dir!, 'handlebars.js.v8cache'), at('handlebars.js.v8cache'));
      // knex: no cache; nodemailer: its cache damaged past the header (V8 does not check the data: it crashed on it)
      copyFileSync(join(dir!, 'knex.js'), at('knex.js'));
      copyFileSync(join(dir!, 'nodemailer.js'), at('nodemailer.js'));
      const damaged = readFileSync(join(dir!, 'nodemailer.js.v8cache'));
      for (let i = 2_000; i < damaged.length; i += 997) damaged[i]! ^= 0xff;
      writeFileSync(at('nodemailer.js.v8cache'), damaged);
      // mail: a well-formed file whose V8 data is another bundle's (as from another Node.js: V8 refuses it)
      copyFileSync(join(dir!, 'mail.js'), at('mail.js'));
      writeFileSync(at('mail.js.v8cache'), cacheFile(readFileSync(at('mail.js')), v8Data('knex')));
      // mailauth-verify: garbage
      copyFileSync(join(dir!, 'mailauth-verify.js'), at('mailauth-verify.js'));
      writeFileSync(at('mailauth-verify.js.v8cache'), Buffer.alloc(4096, 7));

      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const copy = require(join(work, 'src', 'vendor.js')) as VendorModule;
      const hb = copy.vendored<typeof import('handlebars')>('handlebars', () => { throw new Error('no bundle'); });
      expect(hb.compile('<p>{{a}}</p>')({ a: '<b>' })).toBe('<p>&LT;b&gt;</p>'); // the edited code runs
      expect(copy.vendored('handlebars', () => null)).toBe(hb); // loaded once
      const nm = copy.vendored<{ addressparser: typeof import('nodemailer/lib/addressparser').default }>('nodemailer', () => { throw new Error('no bundle'); });
      expect(nm.addressparser('a@x.example', { flatten: true })).toEqual([{ name: '', address: 'a@x.example' }]);
      expect(copy.loadedBundles()).toEqual([
        { name: 'handlebars', cache: 'mismatch' },
        { name: 'nodemailer', cache: 'mismatch' },
      ]);
      // what `deskbridge doctor` reads: for a bundle loaded, its verdict then; for the others, compiled (not run) now
      expect(copy.checkBundles()).toEqual([
        { name: 'handlebars', cache: 'mismatch' },
        { name: 'knex', cache: 'none' },
        { name: 'mail', cache: 'rejected' },
        { name: 'mailauth-verify', cache: 'mismatch' },
        { name: 'nodemailer', cache: 'mismatch' },
      ]);
      expect(loader().checkBundles()?.map((b) => b.cache)).toEqual(['used', 'used', 'used', 'used', 'used', 'used']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("a bundle cut short or damaged stops the call with a message naming the file; doctor's check lists it", () => {
    const work = mkdtempSync(join(tmpdir(), 'deskbridge-vendor-damaged-'));
    try {
      mkdirSync(join(work, 'src'));
      mkdirSync(join(work, 'vendor'));
      for (const f of ['vendor.js', 'errors.js']) copyFileSync(join(dir!, '..', 'src', f), join(work, 'src', f));
      const at = (name: string) => join(work, 'vendor', name);
      for (const name of ['handlebars', 'knex', 'mail', 'mailauth-verify', 'nodemailer']) copyFileSync(join(dir!, `${name}.js`), at(`${name}.js`));
      // knex: its last bytes lost (a full disk, an interrupted copy); mail: a byte changed inside, so it no longer parses
      const knex = readFileSync(at('knex.js'));
      writeFileSync(at('knex.js'), knex.subarray(0, knex.length - 4));
      const mail = readFileSync(at('mail.js'), 'latin1');
      const fn = mail.indexOf('function', 1000);
      writeFileSync(at('mail.js'), `${mail.slice(0, fn)}functio(${mail.slice(fn + 8)}`, 'latin1');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const copy = require(join(work, 'src', 'vendor.js')) as VendorModule;
      const fail = (name: string) => () => copy.vendored(name as never, () => null);
      expect(fail('knex')).toThrow(`${at('knex.js')} is cut short (it does not end as the build writes it): this installation of deskbridge is damaged`);
      expect(fail('mail')).toThrow(new RegExp(`^${at('mail.js').replace(/[.\\/]/g, '\\$&')} does not compile \\(.+\\): this installation of deskbridge is damaged`));
      expect(fail('knex')).toThrow(expect.objectContaining({ code: 'EINTERNAL' }));
      expect(copy.vendored<typeof import('handlebars')>('handlebars', () => { throw new Error('no bundle'); }).compile('{{a}}')({ a: 1 })).toBe('1'); // the others load
      expect(copy.checkBundles()?.map((b) => [b.name, b.damaged ? 'damaged' : b.cache])).toEqual([
        ['handlebars', 'none'], // no cache copied: compiled from source
        ['knex', 'damaged'],
        ['mail', 'damaged'],
        ['mailauth-verify', 'none'],
        ['nodemailer', 'none'],
      ]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('deskbridge doctor says the bundles compile from their code cache', async () => {
    const work = mkdtempSync(join(tmpdir(), 'deskbridge-vendor-doctor-'));
    try {
      const r = await runCli(['doctor'], { env: { PATH: process.env.PATH, HOME: work, DESKBRIDGE_DATABASE: join(work, 'none.sqlite') }, cwd: work });
      expect(r.stdout).toMatch(/^ok\s+start-up cache\s+6 bundle\(s\), each compiled from its code cache$/m);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
