// The parse pool's worker thread (parse-pool.ts). Plain JavaScript so Node
// can start it directly, from src/ (tests, development: tsx is registered to
// load the TypeScript) or from dist/src/ (the installed package: the compiled
// parse-mail.js sits beside it). It runs the same parseMail as the main
// thread would, one mail at a time, in the order they came (many parses
// interleaved only cost memory).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { parentPort } = require('node:worker_threads');

let parseMail;
if (existsSync(join(__dirname, 'parse-mail.js'))) {
  ({ parseMail } = require('./parse-mail.js'));
} else {
  require('tsx/cjs/api').register();
  ({ parseMail } = require('./parse-mail.ts'));
}

const queue = [];
let busy = false;

async function drain() {
  busy = true;
  while (queue.length > 0) {
    const { id, raw } = queue.shift();
    try {
      const facts = await parseMail(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      parentPort.postMessage({ id, facts });
    } catch (err) {
      parentPort.postMessage({ id, error: { message: String((err && err.message) || err) } });
    }
  }
  busy = false;
}

parentPort.on('message', (message) => {
  queue.push(message);
  if (!busy) drain();
});
