// How far V8 lets the heap grow between full collections, for a call that
// may run long: `deskbridge ingest` over files. V8 lets the old generation
// grow to several times what survived the last full collection (its factor
// rises with the allocation rate, up to 4). deskbridge keeps little alive
// (~15 MB), and a long call carried the rest as garbage: one `ingest` over
// 20,000 files peaked ~35 MB above one over 5,000 (measured, issue 15; a heap
// snapshot of the larger held 14 MB live). Capped at twice the live heap
// (Go's default, GOGC=100), the same calls peaked at 174 and 190 MB instead
// of 184 and 219, as fast.
//
// Set once the call is under way, never at the process's start: V8 keys its
// code caches (and Node.js its worker snapshot) to the flags, and a flag set
// at start made every bundle's cache miss or, made under it, cost each worker
// thread's start ~20 ms (a piped mail ~45 ms: measured). By the time the files
// are read, the bundles the call needs are loaded.
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

// process-wide, not this module's: the ingest bundle carries a copy of this module of its own
const SETTLED = Symbol.for('deskbridge.heap-tuning');
const settled = globalThis as { [SETTLED]?: 'tuned' | 'held' };

/** Bounds the heap's growing factor for the rest of this process, unless its command line chose one, or it is held. */
export function tuneHeapForLongRun(execArgv: readonly string[] = process.execArgv): void {
  if (settled[SETTLED] || execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return;
  settled[SETTLED] = 'tuned';
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** Keeps this process's flags as they started (the code-cache writer, whose caches every process must accept). */
export function holdHeapTuning(): void {
  settled[SETTLED] ??= 'held';
}
