// The compose pool's worker thread (compose-pool.ts). Plain JavaScript so
// Node can start it directly, from src/ (tests, development: tsx is
// registered to load the TypeScript) or from dist/src/ (the installed
// package), as the parse pool's worker does. It loads the templates once and
// composes one notification at a time, in the order they came.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');

let notify;
let render;
if (existsSync(join(__dirname, 'notify.js'))) {
  notify = require('./notify.js');
  render = require('./render.js');
} else {
  require('tsx/cjs/api').register();
  notify = require('./notify.ts');
  render = require('./render.ts');
}

const out = notify.outboundFrom(
  { address: workerData.address, secret: workerData.secret, instance: workerData.instance, templates: workerData.templatesOverrides },
  (overrides) => render.loadTemplates(undefined, overrides),
);

/** Structured clone turns Buffers into plain Uint8Arrays: make them Buffers again. */
const asBuffer = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

let chain = Promise.resolve();
parentPort.on('message', ({ id, n }) => {
  for (const a of n.attachments) a.content = asBuffer(a.content);
  chain = chain.then(async () => {
    try {
      parentPort.postMessage({ id, items: await notify.notificationItems(out, n) });
    } catch (err) {
      parentPort.postMessage({ id, error: String((err && err.message) || err) });
    }
  });
});
