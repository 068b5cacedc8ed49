// Rewrites in the `mail` and `nodemailer` bundles (scripts/build.mjs) that
// move work a package does when it loads to the moment it is first needed.
// Each parse worker loads the mail bundle as it starts, and the main thread
// of a single piped mail the nodemailer bundle, and for such a call both are
// on its critical path (profiled: ~35 ms of the worker's ~90 ms between the
// two, then ~25 ms more). None changes what the packages compute, only when:
//
//  - mailparser makes its linkify-it instance when it loads (compiling the
//    regular expressions of every top-level domain, ~20 ms), but uses it only
//    to turn text into HTML, which deskbridge never asks for
//    (skipTextToHtml, src/mail/mime-read.ts). It gets a stand-in that keeps
//    the configuring calls and makes the real instance, replaying them, at
//    its first other use;
//  - libmime builds iconv-lite's GBK codec when it loads (~15 ms of tables),
//    only to recognise a double-byte decoder when it decodes a charset other
//    than UTF-8. It is built at that first comparison instead.
//  - mailparser loads html-to-text when it loads, and with it htmlparser2
//    and its `entities` copy, which decodes its entity tables from base64
//    at load (~25 ms of a worker's start, profiled; atob is slow on Node.js
//    20), but calls it only for a mail with HTML and no text part. It gets a
//    stand-in whose properties load the real package at their first read
//    (a text-only mail, the common notification, never loads it; the HTML
//    sanitiser loads htmlparser2 when a mail has HTML);
//  - nodemailer's MIME builder and shared helpers load its fetch, and with
//    it node:http and node:https (~10 ms), for content given by URL, which
//    deskbridge never gives. They get a function that loads it when called.
//
// Each rewrite checks that the code it rewrites is there, once: a package
// update that changes it stops the build here rather than silently keeping
// the slower start (or breaking the comparison).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const LIBMIME_CHARSET = /node_modules[\\/]libmime[\\/]dist[\\/]cjs[\\/]charset\.js$/;
const GBK_AT_LOAD = "const DBCS_DECODER = iconv_lite_1.default.getCodec('gbk').decoder;";
const GBK_COMPARED = 'codec.decoder === DBCS_DECODER';

function once(text, needle, file) {
  const at = text.indexOf(needle);
  if (at < 0 || text.indexOf(needle, at + 1) >= 0) throw new Error(`bundle-startup: expected "${needle}" once in ${file}; the package changed: update or drop this rewrite (scripts/bundle-startup.mjs)`);
}

/** The stand-in for linkify-it, requiring the real one (by its resolved file, so this plugin does not catch it again). */
const lazyLinkify = (realFile) => `
const makeReal = require(${JSON.stringify(realFile)});
const CONFIGURING = new Set(['tlds', 'add', 'set']);
module.exports = function lazyLinkifyIt(...options) {
  let real = null;
  const calls = [];
  const made = () => {
    if (!real) {
      real = makeReal(...options);
      for (const [name, args] of calls) real[name](...args);
    }
    return real;
  };
  const standIn = new Proxy({}, {
    get(_, name) {
      if (!real && CONFIGURING.has(name)) return (...args) => (calls.push([name, args]), standIn);
      const value = made()[name];
      return typeof value === 'function' ? value.bind(real) : value;
    },
    set(_, name, value) {
      made()[name] = value;
      return true;
    },
  });
  return standIn;
};
`;

/** The stand-in for html-to-text: the real module, required (by its resolved file) at the first property read. */
const lazyModule = (realFile) => `
let real = null;
const made = () => (real ??= require(${JSON.stringify(realFile)}));
module.exports = new Proxy({}, {
  get: (_, name) => made()[name],
  has: (_, name) => name in made(),
  ownKeys: () => Reflect.ownKeys(made()),
  getOwnPropertyDescriptor: (_, name) => {
    const d = Reflect.getOwnPropertyDescriptor(made(), name);
    return d && { ...d, configurable: true };
  },
});
`;

/**
 * The stand-in for a module whose export is one function (nodemailer's
 * fetch): a function that requires the real one at its first call. (A Proxy
 * would not do: TypeScript's `__importDefault` reads `__esModule` off it
 * when the importer loads, which would load the real module at once.)
 */
const lazyFunction = (realFile) => `
let real = null;
module.exports = function lazyStandIn(...args) {
  return (real ??= require(${JSON.stringify(realFile)}))(...args);
};
`;
const EXPORTS_FUNCTION = 'module.exports = exports.default;';

/**
 * The esbuild plugin for the bundle `bundle` ('mail' or 'nodemailer');
 * `resolveDir` is where the bundle's packages are resolved from (the
 * project's root). Each rewrite must have been made once the bundle is
 * built: a package that moved or stopped importing the module would
 * otherwise keep the slower start without a word.
 */
export function startupPlugin(resolveDir, bundle) {
  const from = (pkg, within) => createRequire(`${resolveDir}/`).resolve(pkg, { paths: [createRequire(`${resolveDir}/`).resolve(within)] });
  const REWRITES = {
    mail: ['linkify-it stand-in', 'libmime GBK at first use', 'html-to-text at first use'],
    nodemailer: ['nodemailer fetch at first use'],
  };
  if (!REWRITES[bundle]) throw new Error(`bundle-startup: no rewrites for the bundle ${bundle}`);
  const applied = Object.fromEntries(REWRITES[bundle].map((what) => [what, 0]));
  return {
    name: 'deskbridge-startup',
    setup(b) {
      b.onEnd((result) => {
        const missing = Object.entries(applied).filter(([, n]) => n === 0).map(([what]) => what);
        if (missing.length > 0 && result.errors.length === 0) throw new Error(`bundle-startup: not applied: ${missing.join(', ')}; the packages changed: update or drop the rewrite (scripts/bundle-startup.mjs)`);
      });
      b.onLoad({ filter: /^lazy:/, namespace: 'deskbridge-startup' }, (args) => ({ contents: args.pluginData.contents, loader: 'js', resolveDir }));
      const standIn = (what, contents) => {
        applied[what]++;
        return { path: `lazy:${what}`, namespace: 'deskbridge-startup', pluginData: { contents } };
      };
      if (bundle === 'nodemailer') {
        // nodemailer's fetch (node:http and node:https with it, ~10 ms) serves only content given by URL, which deskbridge never gives
        b.onResolve({ filter: /^\.\.\/fetch\/index\.js$/ }, (args) => {
          if (!/[\\/]nodemailer[\\/]dist[\\/]cjs[\\/](mime-node|shared)[\\/]/.test(args.importer)) return undefined;
          const real = join(dirname(args.importer), '..', 'fetch', 'index.js');
          if (!readFileSync(real, 'utf8').includes(EXPORTS_FUNCTION)) throw new Error(`bundle-startup: ${real} no longer exports its function as module.exports; update this rewrite`);
          return standIn('nodemailer fetch at first use', lazyFunction(real));
        });
        return;
      }
      b.onResolve({ filter: /^linkify-it$/ }, (args) => {
        if (!/[\\/]mailparser[\\/]/.test(args.importer)) return undefined;
        return standIn('linkify-it stand-in', lazyLinkify(from('linkify-it', 'mailparser')));
      });
      b.onResolve({ filter: /^html-to-text$/ }, (args) => {
        if (!/[\\/]mailparser[\\/]/.test(args.importer)) return undefined;
        return standIn('html-to-text at first use', lazyModule(from('html-to-text', 'mailparser')));
      });
      b.onLoad({ filter: LIBMIME_CHARSET }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        once(text, GBK_AT_LOAD, args.path);
        once(text, GBK_COMPARED, args.path);
        const contents = text
          .replace(GBK_AT_LOAD, "let dbcsDecoderBuilt; const dbcsDecoder = () => (dbcsDecoderBuilt ??= iconv_lite_1.default.getCodec('gbk').decoder); // deskbridge build: at first use (scripts/bundle-startup.mjs)")
          .replace(GBK_COMPARED, 'codec.decoder === dbcsDecoder()');
        if (contents.includes('DBCS_DECODER')) throw new Error(`bundle-startup: ${args.path} uses DBCS_DECODER elsewhere; update this rewrite`);
        applied['libmime GBK at first use']++;
        return { contents, loader: 'js' };
      });
    },
  };
}
