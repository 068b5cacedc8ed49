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
      const items = await notify.notificationItems(out, n);
      // each mail's bytes in an ArrayBuffer of their own, transferred: a small Buffer is a view on a shared
      // 8 KiB slab, which postMessage would otherwise copy whole for every notification
      const raws = items.map((item) => new Uint8Array(item.raw));
      parentPort.postMessage({ id, items: items.map((item, i) => ({ ...item, raw: raws[i] })) }, raws.map((r) => r.buffer));
    } catch (err) {
      parentPort.postMessage({ id, error: String((err && err.message) || err) });
    }
  });
});
