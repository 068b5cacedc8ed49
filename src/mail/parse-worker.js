// The parse pool's worker thread (parse-pool.ts). Plain JavaScript so Node
// can start it directly; it registers tsx like bin/deskbridge.js does and
// runs the same parseMail as the main thread would, then the mail's bounded
// work (mail-work.ts), one mail at a time, in the order they came (many
// parses interleaved only cost memory, and the pool's deadline is per mail).
const { parentPort } = require('node:worker_threads');
require('tsx/cjs/api').register();
const { parseMail } = require('./parse-mail.ts');
const { doMailWork } = require('./mail-work.ts');

const queue = [];
let busy = false;

async function drain() {
  busy = true;
  while (queue.length > 0) {
    const { id, raw, candidates } = queue.shift();
    parentPort.postMessage({ id, started: true }); // the pool's deadline for this mail runs from here
    try {
      const facts = await parseMail(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      facts.work = doMailWork(facts, candidates || []);
      parentPort.postMessage({ id, facts });
    } catch (err) {
      parentPort.postMessage({ id, error: { message: String((err && err.message) || err), code: err && typeof err.code === 'string' ? err.code : undefined } });
    }
  }
  busy = false;
}

parentPort.on('message', (message) => {
  queue.push(message);
  if (!busy) drain();
});
