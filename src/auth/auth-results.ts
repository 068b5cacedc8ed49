// Authentication-Results (RFC 8601) parsing: the header a receiving server
// stamps with what it verified (dkim, spf, dmarc …). Hand-written because no
// maintained npm package parses it (mailauth writes the header, it does not
// read it); the grammar is small: `authserv-id [version] ; method=result
// ptype.property=value … ; …` with CFWS (comments, nestable, with quoted
// pairs) allowed between tokens, values possibly quoted strings. Anything
// that does not parse yields fewer results, never more: a result we cannot
// read is a result we do not trust.
export interface AuthResult {
  method: string;
  result: string;
  /** ptype.property → value, lower-case keys (header.d, header.from, smtp.mailfrom …). */
  props: Record<string, string>;
}

export interface ParsedAuthResults {
  authservId: string;
  results: AuthResult[];
}

interface Token {
  t: string;
  /** Whitespace or a comment came before it: a value such as an SRS address may hold `=` and `/`, but not a space. */
  gap: boolean;
}

/** Splits into tokens: words, quoted strings (marked by a leading "), and the separators ; = /; comments dropped. */
function tokens(value: string): Token[] | null {
  const out: Token[] = [];
  let gap = false;
  let i = 0;
  const push = (t: string) => {
    out.push({ t, gap });
    gap = false;
  };
  while (i < value.length) {
    const c = value[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      gap = true;
      i++;
    } else if (c === '(') {
      gap = true;
      let depth = 0;
      for (; i < value.length; i++) {
        if (value[i] === '\\') i++;
        else if (value[i] === '(') depth++;
        else if (value[i] === ')' && --depth === 0) break;
      }
      if (depth !== 0) return null; // unterminated comment: the header is malformed
      i++;
    } else if (c === '"') {
      let s = '';
      for (i++; i < value.length && value[i] !== '"'; i++) s += value[i] === '\\' ? value[++i] ?? '' : value[i];
      if (i >= value.length) return null;
      push(`"${s}`); // marked as quoted, so `"a;b"` is never read as separators
      i++;
    } else if (c === ';' || c === '=' || c === '/') {
      push(c);
      i++;
    } else {
      let s = '';
      while (i < value.length && !/[\s();="/]/.test(value[i]!)) s += value[i++];
      push(s);
    }
  }
  return out;
}

const text = (t: string | undefined) => (t === undefined ? '' : t.startsWith('"') ? t.slice(1) : t);

/** Parses one A-R header value; null when even the authserv-id cannot be read. */
export function parseAuthResults(value: string): ParsedAuthResults | null {
  const all = tokens(value);
  if (!all || all.length === 0 || /^[;=/]$/.test(all[0]!.t)) return null;
  if (all[1]?.t === '=') return null; // no authserv-id at all (`spf=pass …`, as Exchange Online writes it): nobody's to trust
  const authservId = text(all[0]!.t).toLowerCase();
  const results: AuthResult[] = [];
  let i = 1;
  while (i < all.length && all[i]!.t !== ';') i++; // an optional version after the authserv-id
  while (i < all.length) {
    i++; // past ';'
    const start = i;
    while (i < all.length && all[i]!.t !== ';') i++;
    const part = all.slice(start, i).map((x) => x.t);
    const gaps = all.slice(start, i).map((x) => x.gap);
    // method[/version]=result, then ptype.property=value pairs (and reason=…)
    let j = 0;
    const method = text(part[j++]).toLowerCase();
    if (part[j] === '/') j += 2;
    if (part[j++] !== '=') continue; // `none`, or not a result
    const result = text(part[j++]).toLowerCase();
    const props: Record<string, string> = {};
    while (j + 2 < part.length && part[j + 1] === '=') {
      const key = text(part[j]).toLowerCase();
      let v = text(part[j + 2]);
      j += 3;
      while (j < part.length && !gaps[j]) v += text(part[j++]); // the rest of an unbroken value: SRS0=…=x@y
      props[key] = v;
    }
    if (method && result) results.push({ method, result, props });
  }
  return { authservId, results };
}

/**
 * The topmost Authentication-Results header whose authserv-id is one of
 * `trusted` (case ignored), parsed; every other A-R header is ignored — the
 * ones below it were written before the mail reached our server, by anyone.
 */
export function trustedAuthResults(values: readonly string[], trusted: readonly string[]): ParsedAuthResults | null {
  if (trusted.length === 0) return null;
  const ids = new Set(trusted.map((id) => id.toLowerCase()));
  for (const value of values) {
    const parsed = parseAuthResults(value);
    if (parsed && ids.has(parsed.authservId)) return parsed;
  }
  return null;
}
