// Connection URLs carry passwords (imap://user:pass@host, smtp://…,
// postgres://…). Two things go wrong with them by hand: a password holding
// `#`, `/`, `?` or `@` is not a valid URL unless percent-encoded, and an error
// that quotes the value prints the password. Here the userinfo is taken as
// everything between `scheme://` and the LAST `@` (a host never holds an `@`),
// which is right for every such password, encoded or not.
const WITH_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@]*)@([^@]*)$/is;
const CREDENTIALS_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)(\S*)@/gi;

/** Percent-encodes the characters a URL parser would take for the end of the userinfo (an encoded `%XX` stays as it is). */
export function encodeUserinfo(value: string): string {
  const m = WITH_USERINFO.exec(value);
  if (!m) return value;
  const userinfo = m[2]!.replace(/%(?![0-9a-f]{2})|[#/?@\s[\]]/gi, (c) => encodeURIComponent(c));
  return `${m[1]}${userinfo}@${m[3]}`;
}

/** The value with its password shown as ****, whether or not it parses as a URL. */
export function redactUrl(value: string): string {
  const m = WITH_USERINFO.exec(value);
  if (!m) return value;
  const colon = m[2]!.indexOf(':');
  return colon < 0 ? value : `${m[1]}${m[2]!.slice(0, colon)}:****@${m[3]}`;
}

/** Any `scheme://user:password@` inside a longer text (an error message from a driver) with the password masked. */
export function redactCredentials(text: string): string {
  return text.replace(CREDENTIALS_IN_TEXT, '$1****@');
}
