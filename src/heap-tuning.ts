// How far V8 lets the heap grow between full collections, for a call that
// runs long: `deskbridge ingest` over thousands of files. V8 lets the old generation
// grow to several times what survived the last full collection (its factor
// rises with the allocation rate, up to 4). deskbridge keeps little alive
// (~15 MB), and a long call carried the rest as garbage: one `ingest` over
// 20,000 files peaked ~35 MB above one over 5,000 (measured, issue 15; a heap
// snapshot of the larger held 14 MB live). Capped at twice the live heap
// (Go's default, GOGC=100), the same calls peaked at 174 and 190 MB instead
// of 184 and 219, as fast.
//
// Set once a call has shown it is long (LONG_RUN_MAILS ingested), never at
// the process's start: V8 keys its code caches (and Node.js its worker
// snapshot) to the flags. Set at start, every bundle's cache missed, or, with
// the caches made under it, each worker thread's start cost ~20 ms and a piped
// mail ~45 ms (measured). By then the bundles such a call uses (the parse
// worker's, nodemailer's address parser, mailauth's verifier after a signed
// mail) are loaded; one loaded later, or a parse worker started after a mail
// overran its deadline, compiles from source, once, a few tens of ms in a call
// of thousands of mails. `node --heap-growing-percent=N bin/deskbridge.js`
// chooses another value, at the price of every cache.
export const HEAP_GROWING_PERCENT = 100;
/** Mails a call ingests before it counts as long. */
export const LONG_RUN_MAILS = 1_000;

// process-wide, not this module's: the ingest bundle carries a copy of this module of its own
const SETTLED = Symbol.for('deskbridge.heap-tuning');
const settled = globalThis as { [SETTLED]?: 'tuned' | 'held' };

/** Bounds the heap's growing factor for the rest of this process, unless its command line chose one, or it is held. */
export function tuneHeapForLongRun(execArgv: readonly string[] = process.execArgv): void {
  if (settled[SETTLED] || execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return;
  settled[SETTLED] = 'tuned';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('node:v8') as typeof import('node:v8')).setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`); // loaded here: a piped mail never needs it
}

/** Keeps this process's flags as they started (the code-cache writer, whose caches every process must accept). */
export function holdHeapTuning(): void {
  settled[SETTLED] ??= 'held';
}
