// The token in a staff notification's Reply-To (local+<token>@domain): the
// ticket id plus an HMAC of it under DESKBRIDGE_SECRET, so a reply names its
// ticket and a forged or mistyped address is refused. Lower-case base32
// (a-z, 2-7) only: some mail systems fold the local part's case, and `+` is
// the only separator every one of them keeps.
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

const mac = (ticketId: number, secret: string) => base32(createHmac('sha256', secret).update(`deskbridge-ticket:${ticketId}`).digest()).slice(0, MAC_CHARS);

export function makeToken(ticketId: number, secret: string): string {
  return `${ticketId}-${mac(ticketId, secret)}`;
}

/** The ticket id a token names, or null when the token is malformed or its HMAC does not match. */
export function verifyToken(token: string, secret: string): number | null {
  const m = /^(\d{1,12})-([a-z2-7]+)$/.exec(token.toLowerCase());
  if (!m) return null;
  const ticketId = Number(m[1]);
  const expected = Buffer.from(mac(ticketId, secret));
  const given = Buffer.from(m[2]!);
  return given.length === expected.length && timingSafeEqual(given, expected) ? ticketId : null;
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
