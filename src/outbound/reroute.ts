// `outbox retry --reroute`: a relay queued (or dead) for a system's old relay
// address goes to the address the system has now. The stored mail is kept
// byte for byte (same Message-ID, same body) except its To: header, so a
// resend is still the same mail to the remote helpdesk; the envelope follows
// the row's recipients. Pure: bytes in, bytes out.

/** The mail with its To: header (and any folded continuation lines) replaced by `to`, in the same place. */
export function replaceToHeader(raw: Buffer, to: string): Buffer {
  const text = raw.toString('latin1'); // byte-preserving: the body is not touched
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 2 : lf >= 0 ? lf + 1 : text.length;
  const eol = crlf >= 0 && (lf < 0 || crlf < lf) ? '\r\n' : '\n';
  const lines = text.slice(0, end).split(eol);
  const out: string[] = [];
  let replaced = false;
  for (let i = 0; i < lines.length; i++) {
    if (/^to:/i.test(lines[i]!)) {
      while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) i++; // its folded continuation
      if (!replaced) out.push(`To: ${to}`);
      replaced = true;
      continue;
    }
    out.push(lines[i]!);
  }
  if (!replaced) out.splice(Math.max(out.length - 1, 0), 0, `To: ${to}`);
  return Buffer.from(out.join(eol) + text.slice(end), 'latin1');
}
