// The parse pool's worker thread (parse-pool.ts). Plain JavaScript so Node
// can start it directly, from src/ (tests, development: tsx is registered to
// load the TypeScript) or from dist/src/ (the installed package: the compiled
// modules sit beside it). It runs the same parseMail as the main thread
// would, then the mail's bounded work (mail-work.ts), one mail at a time, in
// the order they came (many parses interleaved only cost memory, and the
// pool's deadline is per mail).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');

const ext = existsSync(join(__dirname, 'parse-mail.js')) ? '.js' : '.ts';
if (ext === '.ts') require('tsx/cjs/api').register();
const { parseMail, loadParser } = require(`./parse-mail${ext}`);
const { doMailWork } = require(`./mail-work${ext}`);
// the libraries load now, while the pool's owner is still starting, not at the first mail (what only HTML
// needs too — html-to-text, the HTML sanitiser — except for a single piped mail: most have none, and the
// others load it when they do)
const single = Boolean(workerData && workerData.single);
loadParser({ html: !single });
if (!single) require(`./html-sanitize${ext}`).loadSanitizer();

const queue = [];
let busy = false;
// Facts of mails parsed ahead (parse-pool.ts parseAhead), by the id they came with, until the mail comes again for
// its work; a few at most (the oldest dropped: that mail is parsed again when it comes)
const kept = new Map();
const MAX_KEPT = 8;

async function drain() {
  busy = true;
  let first = true;
  while (queue.length > 0) {
    const { id, raw, candidates, keep, reuse } = queue.shift();
    // The pool's deadline for a mail runs from when this starts on it. Said only for the first mail after a pause:
    // a later one starts the moment the answer for the one before it is sent, and the pool arms its deadline on
    // that answer (a message a mail less each way: 2,500 fewer on a 2,500-file ingest).
    if (first) parentPort.postMessage({ id, started: true });
    first = false;
    try {
      let facts;
      if (reuse !== undefined) {
        facts = kept.get(reuse);
        kept.delete(reuse);
        if (!facts) {
          parentPort.postMessage({ id, missing: true }); // not kept here: the pool sends the mail again, to be parsed
          continue;
        }
      } else {
        const t0 = performance.now();
        facts = await parseMail(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
        if (keep) {
          kept.set(id, facts);
          if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value);
          parentPort.postMessage({ id, kept: true, ms: performance.now() - t0 }); // the part of the mail's deadline spent
          continue;
        }
      }
      facts.work = doMailWork(facts, candidates || []);
      parentPort.postMessage(reuse !== undefined ? { id, facts, reused: true } : { id, facts });
    } catch (err) {
      parentPort.postMessage({ id, error: { message: String((err && err.message) || err), code: err && typeof err.code === 'string' ? err.code : undefined } });
    }
  }
  busy = false;
}

// The candidates come with a batch's first mail; the mails after it, until the next set, are read against them.
let candidates = [];
parentPort.on('message', (message) => {
  if (message.candidates) candidates = message.candidates;
  queue.push({ id: message.id, raw: message.raw, candidates, keep: message.keep, reuse: message.reuse });
  if (!busy) drain();
});
