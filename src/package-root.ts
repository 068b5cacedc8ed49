// Where the package's own files are (templates/, profiles/, package.json),
// whether the code runs from src/ through tsx or compiled from dist/src/:
// the two are one folder apart, so a fixed `../..` from __dirname is right
// for one of them only. Walking up to our package.json is right for both,
// in the checkout and in a global install.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'deskbridge') {
      root = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`cannot find deskbridge's package.json above ${__dirname}`);
  }
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
