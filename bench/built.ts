// The compiled modules (dist/src/), as an installed bridge runs them: `npm run bench` builds them first.
// The measured roles load these; tsx stays for the bench's own code, the seeding and the baselines.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const DIST = join(__dirname, '..', 'dist', 'src');

/** dist/src/<module>.js, typed as the source module it was compiled from. */
export function built<T>(module: string): T {
  const file = join(DIST, `${module}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (npm run bench does) first`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as T;
}
