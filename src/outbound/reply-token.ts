// The token in a staff notification's Reply-To (local+<token>@domain): the
// ticket id plus an HMAC of the ticket id AND the staff address it was sent
// to, under DESKBRIDGE_SECRET, so a reply names its ticket, a forged or
// mistyped address is refused, and one staff member's address is no use to
// another (each gets a notification of their own). DESKBRIDGE_SECRET may hold
// several keys, space-separated: the first signs, every one verifies, so a
// key is rotated by putting the new one first and dropping the old one once
// the replies in flight are in. Lower-case base32 (a-z, 2-7) only: some mail
// systems fold the local part's case, and `+` is the only separator every one
// of them keeps.
import { createHmac, timingSafeEqual } from 'node:crypto';

const MAC_CHARS = 12; // 60 bits: guessing one takes ~10^18 tries
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** The keys of DESKBRIDGE_SECRET: space-separated, the first signs. */
export const secretKeys = (secret: string): string[] => secret.split(/\s+/).filter(Boolean);

const mac = (ticketId: number, staff: string, key: string) =>
  base32(createHmac('sha256', key).update(`deskbridge-reply:${ticketId}:${staff.trim().toLowerCase()}`).digest()).slice(0, MAC_CHARS);

/** The token for `staff`'s reply to ticket `ticketId`, signed with the first key. */
export function makeToken(ticketId: number, staff: string, secret: string): string {
  return `${ticketId}-${mac(ticketId, staff, secretKeys(secret)[0]!)}`;
}

/** The ticket id a token names when it was issued to `staff` under any of the keys; null when malformed or not matching. */
export function verifyToken(token: string, staff: string, secret: string): number | null {
  const m = /^(\d{1,12})-([a-z2-7]+)$/.exec(token.toLowerCase());
  if (!m) return null;
  const ticketId = Number(m[1]);
  const given = Buffer.from(m[2]!);
  let ok = false;
  for (const key of secretKeys(secret)) {
    const expected = Buffer.from(mac(ticketId, staff, key));
    ok = (given.length === expected.length && timingSafeEqual(given, expected)) || ok; // every key is tried: the time does not tell which matched
  }
  return ok ? ticketId : null;
}

/** local+token@domain for the bridge address local@domain. */
export function replyAddress(bridgeAddress: string, token: string): string {
  const at = bridgeAddress.lastIndexOf('@');
  return `${bridgeAddress.slice(0, at)}+${token}${bridgeAddress.slice(at)}`;
}

/** The token part of local+token@domain, or null. */
export function tokenOf(address: string, bridgeAddress: string): string | null {
  const at = bridgeAddress.lastIndexOf('@');
  const prefix = `${bridgeAddress.slice(0, at)}+`.toLowerCase();
  const domain = bridgeAddress.slice(at).toLowerCase();
  const a = address.toLowerCase();
  return a.startsWith(prefix) && a.endsWith(domain) ? a.slice(prefix.length, a.length - domain.length) || null : null;
}

/**
 * The text with every reply-token address of this bridge (local+token@domain)
 * written as the bare bridge address. A token is the only credential of a
 * staff member under --staff-auth token: one quoted into a relay reached the
 * remote ticket, where its readers could answer as that member.
 */
export function withoutTokens(text: string, bridgeAddress: string): string {
  const at = bridgeAddress.lastIndexOf('@');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // the whole address: not the tail of a longer local part (helpdesk+x@…) nor the head of a longer domain (….org);
  // a token is ticket id and MAC, a few dozen characters: bounded, a long run after "local+" costs linear time
  const re = new RegExp(`(?<![\\w.%+-])${escape(bridgeAddress.slice(0, at))}\\+[^\\s@<>()"',;:]{1,64}${escape(bridgeAddress.slice(at))}(?!\\.?[\\w-])`, 'gi');
  return text.replace(re, bridgeAddress);
}
