// How far V8 lets the heap grow between full collections, set the same in
// every process of the program: bin/deskbridge.js, scripts/deskbridge-dev.cjs
// and the build's code-cache writer (code-cache.ts). V8 lets the old
// generation grow to several times what survived the last full collection
// (its factor rises with the allocation rate, up to 4). deskbridge keeps
// little alive (~20 MB), and a long call carried the rest as garbage: one
// `ingest` over 20,000 files peaked ~40 MB above one over 5,000 (measured,
// issue 15; a heap snapshot of the larger held 14 MB live). Capped at twice
// the live heap (Go's default, GOGC=100), the same calls peaked at 174 and
// 190 MB instead of 184 and 219, as fast. Process-wide: the parse worker too,
// and a long `run` keeps the same bound. V8 keys its code caches to its
// flags, so a process with another value compiles the vendor bundles from
// source (`deskbridge doctor` says so): `node --heap-growing-percent=N
// bin/deskbridge.js` chooses another value at that price.
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

/** Sets the heap's growing factor for this process, unless its command line chose one. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): void {
  if (!execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
