// How commands print: --json gives an array (or one object) with camelCase
// keys for scripts; otherwise plain aligned columns that grep and cut can read
// (no box drawing, one row per line). Mail text reaches these tables (subjects,
// names, reasons): in human output every control character is shown escaped
// (\x1b, not an ESC that repaints the admin's terminal); JSON stays exact.
import { DeskbridgeError } from '../errors';

// C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_KEEP_LINES_RE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const escapeChar = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** Text for a terminal: control characters shown as \xNN (line breaks and tabs kept when `multiline`). */
export function terminalText(text: string, multiline = false): string {
  return text.replace(multiline ? CONTROL_KEEP_LINES_RE : CONTROL_RE, escapeChar);
}

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

const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'boolean' ? (v ? 'on' : 'off') : terminalText(String(v).replace(/[\r\n\t]+/g, ' ')));

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
    const text = Array.isArray(value)
      ? value.join(', ')
      : value !== null && typeof value === 'object'
        ? Object.entries(value).map(([k, v]) => `${k}=${cell(v)}`).join(' ') // a nested record (auth) on one line
        : cell(value);
    process.stdout.write(`${`${key}:`.padEnd(width + 2)}${text}\n`);
  }
}

/** One line on stderr when tickets would be stored with no staff told: without an address and a secret nothing can be sent. */
export function warnNoNotifications(config: { address?: string; secret?: string }): void {
  const missing = [!config.address && 'DESKBRIDGE_ADDRESS', !config.secret && 'DESKBRIDGE_SECRET'].filter(Boolean).join(' and ');
  process.stderr.write(`deskbridge: warning: ${missing} not set: tickets are stored, but no staff notification or relay is queued\n`);
}
