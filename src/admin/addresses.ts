// Address checks shared by systems (sender allowlist, relay address) and
// departments (staff). Pure: strings in, normalised strings out, or an input
// error that names the bad value.
import { DeskbridgeError } from '../errors';
import { loadOnce } from '../load-once';
import { checkName } from './slug';
import { nodemailerPart } from '../vendor';

// at the first address checked, as zod below: every CLI command imports this module
const addressparser = loadOnce(() => nodemailerPart<typeof import('nodemailer/lib/addressparser').default>('addressparser', 'addressparser'));

// zod is loaded at the first address checked, not with this module: every
// CLI command imports it, and zod alone was half of `deskbridge --help`'s start.
/* eslint-disable @typescript-eslint/no-require-imports */
const emailSchema = loadOnce(() => (require('zod') as typeof import('zod')).z.email());
// A DNS name of at least two labels: what an `@domain` allowlist entry names.
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

export function normaliseAddress(value: string, option: string): string {
  const address = value.trim().toLowerCase();
  if (!emailSchema().safeParse(address).success) {
    throw new DeskbridgeError('EINVALID', `${option}: "${value}" is not a valid e-mail address (expected name@example.com)`);
  }
  return address;
}

/** An allowlist entry: a full address, or `@domain` for every address of that domain. */
export function normaliseAllowEntry(value: string, option: string): string {
  const entry = value.trim().toLowerCase();
  if (entry.startsWith('@')) {
    if (!DOMAIN_RE.test(entry.slice(1))) {
      throw new DeskbridgeError('EINVALID', `${option}: "${value}" is not a valid domain entry (expected @example.com)`);
    }
    return entry;
  }
  if (!emailSchema().safeParse(entry).success) {
    throw new DeskbridgeError(
      'EINVALID',
      `${option}: "${value}" is not a valid address or domain (expected name@example.com or @example.com)`,
    );
  }
  return entry;
}

/** Splits a comma-separated option value, drops empty items and repeats, keeps the order. */
export function splitList(value: string, option: string, normalise: (v: string, o: string) => string): string[] {
  const items = value.split(',').map((v) => v.trim()).filter(Boolean).map((v) => normalise(v, option));
  if (items.length === 0) throw new DeskbridgeError('EINVALID', `${option}: "${value}" names no address`);
  return [...new Set(items)];
}

/**
 * A staff list: `Anna Staff <anna@desk.test>, bob@desk.test` (nodemailer's
 * address parser, so a quoted name may hold a comma). Addresses lower-cased,
 * repeats dropped, order kept; the names of those who were given one.
 */
export function parseStaffList(value: string, option: string): { staff: string[]; names: Record<string, string> } {
  const staff: string[] = [];
  const names: Record<string, string> = {};
  for (const entry of addressparser()(value, { flatten: true })) {
    if (!entry.address && !entry.name) continue;
    const address = normaliseAddress(entry.address || entry.name, option);
    if (!staff.includes(address)) staff.push(address);
    const name = entry.address ? entry.name.trim() : '';
    // the column holds 200 characters (PostgreSQL refused a longer one with its own error, SQLite kept it whole)
    if (name) checkName(name, `${option}: the name of ${address}`);
    if (name && !names[address]) names[address] = name;
  }
  if (staff.length === 0) throw new DeskbridgeError('EINVALID', `${option}: "${value}" names no address`);
  return { staff, names };
}
