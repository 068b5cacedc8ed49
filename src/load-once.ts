// A library that only some paths of a module use, loaded at its first use
// instead of with the module: a single-mail `deskbridge ingest` spent most of
// its time loading modules it never ran (the parser on the main thread of a
// process whose parse pool parses, DKIM code for a mail with no signature,
// the profile schema for a system on a shipped preset). Only npm packages go
// through here: Node's `require` finds them alike compiled (dist/), under tsx
// and under vitest, whereas one of our own .ts modules cannot be required
// under vitest. The type comes from `typeof import(…)` at the call site.
export function loadOnce<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}
