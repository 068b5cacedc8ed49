// Value conversions at the storage edge, where SQLite and PostgreSQL differ:
// PostgreSQL returns timestamps as Date and booleans as boolean, SQLite as
// strings and 0/1; bigints come back as strings from pg. Repositories map
// rows through these so the rest of the code sees one shape.

let lastMs = -1;
let lastIso = '';
/**
 * Now, as an ISO 8601 string with milliseconds. The string of the last
 * millisecond asked for is kept: a batch asks several times a mail, mostly
 * within the same millisecond, and Date's toISOString took ~2 % of a
 * 2,500-file ingest's main thread (profiled).
 */
export function nowIso(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

export function toIso(value: unknown): string;
export function toIso(value: unknown, nullable: true): string | null;
export function toIso(value: unknown, nullable = false): string | null {
  if (value === null || value === undefined) {
    if (nullable) return null;
    throw new Error('expected a timestamp, got null');
  }
  if (value instanceof Date) return value.toISOString();
  const text = String(value);
  // SQLite may hand back what CURRENT_TIMESTAMP wrote ("YYYY-MM-DD HH:MM:SS", UTC).
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`).toISOString();
}

export const toBool = (value: unknown): boolean => value === true || value === 1 || value === '1' || value === 't';

export const toNumber = (value: unknown): number => (typeof value === 'number' ? value : Number(value));

/** A nullable integer column (pg returns bigints as strings). */
export const toNumberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export function parseJsonArray(value: unknown): string[] {
  const data: unknown = JSON.parse(String(value ?? '[]'));
  return Array.isArray(data) ? data.map(String) : [];
}

/**
 * Text as PostgreSQL accepts it: a NUL byte is refused in text columns (real
 * mail carries them in headers and bodies), so it is dropped here, for both
 * backends alike. The raw bytes in the ledger keep it.
 */
export function dbText(value: string): string;
export function dbText(value: string | null | undefined): string | null;
export function dbText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.includes('\u0000') ? value.replace(/\u0000/g, '') : value;
}
