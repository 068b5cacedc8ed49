// The raw header block as unfolded (name, value) pairs, in order. Sender
// authentication needs what mailparser's header map does not keep: the order
// of repeated headers (the topmost Authentication-Results is the one our own
// receiving server wrote) and how many From headers there were (a second From
// is the classic way to show one address and authenticate another).
export interface HeaderLine {
  /** Lower-case name. */
  name: string;
  /** The value with folding undone (CRLF + WSP → the WSP), untrimmed inside. */
  value: string;
}

const MAX_HEADER_BYTES = 1024 * 1024; // a header block past this is not a mail we authenticate; the rest is ignored

export function headerLines(raw: Buffer): HeaderLine[] {
  // the header block ends at the first empty line: only it is turned into text, not the body behind it
  const head = raw.subarray(0, MAX_HEADER_BYTES);
  const lf = [head.indexOf('\n\n'), head.indexOf('\n\r\n')].filter((i) => i >= 0);
  const text = (lf.length ? head.subarray(0, Math.min(...lf) + 1) : head).toString('latin1');
  const end = /\r?\n\r?\n|\r?\n$/.exec(text);
  const block = end ? text.slice(0, end.index) : text;
  const out: HeaderLine[] = [];
  for (const line of block.split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // not a header field (a stray line); mailparser skips it too
    out.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, '').trim() });
  }
  return out;
}
