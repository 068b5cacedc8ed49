// The heavy npm packages that scripts/build.mjs bundles into one file each
// (dist/vendor/NAME.js): the compiled program loads the bundle, the sources
// (tsx, vitest, where no bundle sits beside them) load the package itself.
// A bundle is the same package, read from one file instead of hundreds
// (knex: ~330 files, most of a `deskbridge map list`'s start-up).
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';

export type VendoredName = 'knex' | 'handlebars' | 'mailauth-verify' | 'mail';

// dist/src/vendor.js → dist/vendor/; from src/vendor.ts (not compiled) there is none
const bundles = extname(__filename) === '.js' ? join(__dirname, '..', 'vendor') : null;

/**
 * The bundle NAME (its export `member`, for a bundle of several packages)
 * when the build made one, else `fromPackage()` (a plain `require` of the package).
 */
export function vendored<T>(name: VendoredName, fromPackage: () => T, member?: string): T {
  const file = bundles && join(bundles, `${name}.js`);
  if (!file || !existsSync(file)) return fromPackage();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bundle = require(file) as Record<string, unknown>;
  return (member === undefined ? bundle : bundle[member]) as T;
}
