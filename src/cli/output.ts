// How commands print: --json gives an array (or one object) with camelCase
// keys for scripts; otherwise plain aligned columns that grep and cut can read
// (no box drawing, one row per line).
import { DeskbridgeError } from '../errors';

/** An option value that must be one of a fixed list (a state, a kind): EINVALID naming it and the list otherwise. */
export function checkChoice<T extends string>(option: string, value: string, allowed: readonly T[], noun?: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const list = allowed.join(', ');
  throw new DeskbridgeError('EINVALID', `${option}: "${value}" is ${noun ? `not ${noun} (one of ${list})` : `not one of ${list}`}`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
}

const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v));

export function formatTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row)).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

export function printList<T>(rows: T[], options: { json?: boolean }, columns: Column<T>[], view: (row: T) => unknown, empty: string): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows.map(view), null, 2)}\n`);
  } else if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
  } else {
    process.stdout.write(`${formatTable(rows, columns)}\n`);
  }
}

/** One object: JSON, or `key: value` lines. */
export function printRecord(record: Record<string, unknown>, options: { json?: boolean }): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [key, value] of Object.entries(record)) {
    const text = Array.isArray(value) ? value.join(', ') : cell(value);
    process.stdout.write(`${`${key}:`.padEnd(width + 2)}${text}\n`);
  }
}

/** One line on stderr when tickets would be stored with no staff told: without an address and a secret nothing can be sent. */
export function warnNoNotifications(config: { address?: string; secret?: string }): void {
  const missing = [!config.address && 'DESKBRIDGE_ADDRESS', !config.secret && 'DESKBRIDGE_SECRET'].filter(Boolean).join(' and ');
  process.stderr.write(`deskbridge: warning: ${missing} not set: tickets are stored, but no staff notification or relay is queued\n`);
}
