// The staff member's own words out of a reply: everything from the first
// embedded-mail marker on goes ("On … wrote:" in the languages the corpus
// shows, Outlook's From/Sent header blocks, "Original Message" and
// "Forwarded message" delimiters, a trailing block of > quotes, "reply above
// this line" markers), then trailing signatures ("-- "), "Sent from my …"
// lines and delimiter lines. A reply that would come out empty is kept whole
// by stripReply; ownWords (what a relay carries) says it has none.
//
// Written here rather than taken from npm: email-reply-parser (the one
// maintained JavaScript parser that runs on Node 20) strips 54% of the
// email_reply_trimmer and talon fixtures exactly; these rules, a line
// classifier in the manner of Discourse's email_reply_trimmer, do better
// (the corpus test prints the figure).

const WROTE = String.raw`(wrote|a écrit|schrieb|escribió|ha scritto|schreef|geschreven|escreveu|skrev|napisał\(a\)|napisał|napisala|написал\(а\)|написала|написал|написав|пише|写道|寫道)`;
const ON_WROTE_RE = new RegExp(String.raw`^[-\s]*(on|le|am|el|il|op|em|den|på|w dniu|dnia|в|у|\d).{0,300}?${WROTE}\s*:?[-\s]*$`, 'iu');
const HEADER_ANY_RE = new RegExp(String.raw`^[-\s]*(on|le|am|el|il|op|em|den|på|w dniu)\s.{0,200}\s${WROTE}\s.{0,160}:\s*$`, 'iu');
const WROTE_END_RE = new RegExp(String.raw`${WROTE}\s*:\s*$`, 'iu');
const GERMAN_INBOX_RE = /schrieb am .{0,80}(uhr)?\s*:\s*$/iu;
const DATE_NAME_RE = /^(\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}\s+GMT[+-]\d{1,2}:\d{2}\s+\S.*|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\s+.*<[^>\s]+@[^>\s]+>:?)$/u;
const DELIMITER_HEADER_RE =
  /^[\s>]*[-_=*]{2,}\s*(original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht|message d'origine|message transféré|mensaje original|mensaje reenviado|messaggio originale|messaggio inoltrato|oorspronkelijk bericht|doorgestuurd bericht|opprinnelig melding|ursprungligt meddelande|vidarebefordrat meddelande|wiadomość oryginalna|przekazana wiadomość|исходное сообщение|пересланное сообщение|оригінальне повідомлення|原始邮件|转发的邮件)\s*[-_=*]{2,}\s*$/iu;
const BEGIN_FORWARD_RE = /^(begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié)\s*:\s*$/iu;
const FROM_RE = /^\s*\*?(from|von|de|da|van|från|fra|od|от|від|发件人|寄件者)\*?\s*:\s*\S/iu;
const SENT_RE = /^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|fecha|inviato|data|verzonden|skickat|sendt|wysłano|отправлено|дата|надіслано|发送时间|日期|to|an|à|para|a|aan|till|til|do|кому|subject|betreff|objet|asunto|oggetto|onderwerp|ämne|emne|temat|тема)\*?\s*:/iu;
const SEPARATOR_RE = /^\s*([-_=*#~+]{3,}|—+)\s*$/u;
const DELIMITER_LINE_RE = /^\s*([-_=*#~+]{2,}|—+|ᐧ)\s*$/u;
const SIGNATURE_RE = /^(-- ?|__)$/u;
const SENT_FROM_RE = /^\s*(sent (from|via|with) |get outlook for|envoyé (de|depuis) mon|von meinem .* gesendet|diese nachricht wurde von meinem|from my (iphone|ipad|android|mobile)|sendt fra min|skickat från min|enviado desde mi|inviato da|verzonden met|skickat från min|wysłane z|отправлено с|надіслано з)/iu;
const ABOVE_THIS_LINE_RE = /(reply|write|type) above this line/iu;

const isQuote = (line: string) => /^\s*>/.test(line);
const isBlank = (line: string) => line.trim() === '';

/** Where the embedded mail starts at line i, if one does: i, or an earlier separator line that belongs to it. */
function embeddedStart(lines: string[], i: number): number | null {
  const line = lines[i]!.trim();
  if (ABOVE_THIS_LINE_RE.test(line) || DELIMITER_HEADER_RE.test(line) || BEGIN_FORWARD_RE.test(line) || DATE_NAME_RE.test(line)) return i;
  // "On <date>, <name> <address> wrote:", wrapped over up to six lines by some clients, quoted or not
  const bare = line.replace(/^(>\s*)+/u, '');
  if (HEADER_ANY_RE.test(bare)) return i;
  if (/^[-\s]*\S/.test(bare)) {
    // a line that starts like a dated header may be wrapped across blank lines (mailto: layouts); others may not
    const headerish = /^[-\s]*(on|le|am|el|il|op|em|den|på|w dniu)\s.{0,40}\d/iu.test(bare);
    let joined = '';
    for (let j = i; j < Math.min(lines.length, i + 6); j++) {
      if (j > i && isBlank(lines[j]!)) {
        if (headerish) continue;
        break;
      }
      joined = `${joined} ${lines[j]!.replace(/^(>\s*)+/u, '').trim()}`.trim();
      if (j > i && HEADER_ANY_RE.test(joined)) return i;
      if (WROTE_END_RE.test(joined) || GERMAN_INBOX_RE.test(joined) || /wrote\s*-+$/iu.test(joined)) {
        if (ON_WROTE_RE.test(joined) || GERMAN_INBOX_RE.test(joined) || /пользователь|користувач/iu.test(joined) || j === i) return i;
        break;
      }
    }
  }
  // Outlook: From: … with Sent:/To:/Subject: close below
  if (FROM_RE.test(line)) {
    for (let j = i + 1; j < Math.min(lines.length, i + 6); j++) {
      if (SENT_RE.test(lines[j]!)) {
        let k = i - 1;
        while (k >= 0 && isBlank(lines[k]!)) k--;
        return k >= 0 && SEPARATOR_RE.test(lines[k]!) ? k : i;
      }
    }
  }
  return null;
}

/** The header block of a forwarded mail at the top: its end (the first blank line after it). */
function skipForwardHeader(lines: string[], start: number): number {
  let i = start + 1;
  while (i < lines.length && !isBlank(lines[i]!)) i++;
  while (i < lines.length && isBlank(lines[i]!)) i++;
  return i;
}

function trimTail(lines: string[]): string[] {
  let end = lines.length;
  const sig = lines.findIndex((l, i) => i > 0 && SIGNATURE_RE.test(l.trimEnd()));
  if (sig > 0) end = sig;
  const sentFrom = lines.findIndex((l, i) => i > 0 && i < end && SENT_FROM_RE.test(l));
  if (sentFrom > 0) end = sentFrom;
  while (end > 0 && (isBlank(lines[end - 1]!) || DELIMITER_LINE_RE.test(lines[end - 1]!))) end--;
  return lines.slice(0, end);
}

export function stripReply(text: string): string {
  return strip(text, false) || text.replace(/\r\n?/g, '\n').trim();
}

/**
 * The staff member's own words, or '' when the reply has none: a bare quote
 * sent back ("On … wrote:" over > lines and nothing under them, an Outlook
 * header block at the top with the original under it, only > lines). Where
 * stripReply keeps such a reply whole (or its attribution line), what it kept
 * is the notification the bridge sent, Reply-To token and all: relayed, that
 * token reached the remote ticket, where its readers could answer as the
 * staff member.
 */
export function ownWords(text: string): string {
  return strip(text, true);
}

const DATE_LINE_RE = /^\s*\*?(sent|date|gesendet|datum|envoyé|enviado|fecha|inviato|data|verzonden|skickat|sendt|wysłano|отправлено|дата|надіслано|发送时间|日期)\*?\s*:/iu;
const FORWARDED_RE = /forward|weitergeleitet|transféré|reenviado|inoltrato|doorgestuurd|vidarebefordrat|przekazana|пересланное|转发/iu;

/**
 * The reply begins with the original: an "Original Message" delimiter, or a
 * separator line (Outlook's row of underscores) over a From: block. (A
 * "Forwarded message" at the top is a forward, whose text is its content.)
 */
function originalAtTop(lines: string[], start: number): boolean {
  const top = lines[start]!;
  if (DELIMITER_HEADER_RE.test(top.trim())) return !FORWARDED_RE.test(top);
  if (!SEPARATOR_RE.test(top)) return false;
  let next = start + 1;
  while (next < lines.length && isBlank(lines[next]!)) next++;
  return next < lines.length && FROM_RE.test(lines[next]!);
}

function strip(text: string, strict: boolean): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').map((l) => l.replace(/\s+$/u, ''));
  let start = 0;
  while (start < lines.length && isBlank(lines[start]!)) start++;
  if (strict && start < lines.length && originalAtTop(lines, start)) return '';
  // A forwarded mail with nothing above it: the forwarded text is the content.
  if (start < lines.length && (DELIMITER_HEADER_RE.test(lines[start]!.trim()) || BEGIN_FORWARD_RE.test(lines[start]!.trim()))) start = skipForwardHeader(lines, start);
  // A reply written under the quote ("On … wrote:" first, then > lines, then the answer): skip the header and the quote.
  else if (start < lines.length && embeddedStart(lines, start) === start) {
    const fromBlock = FROM_RE.test(lines[start]!); // an Outlook From:/Sent: block, not an "On … wrote:" line
    let dated = false; // with a Sent:/Date: line, as a mail client writes it ("From: 22:00 / To: 23:00" is not one)
    let i = start;
    while (i < lines.length && !isQuote(lines[i]!) && !isBlank(lines[i]!) && !WROTE_END_RE.test(lines[i]!.trim()) && !GERMAN_INBOX_RE.test(lines[i]!)) {
      if (DATE_LINE_RE.test(lines[i]!)) dated = true;
      i++;
    }
    i++; // the line that ends the header
    let quoted = 0;
    while (i < lines.length && (isQuote(lines[i]!) || isBlank(lines[i]!))) if (isQuote(lines[i++]!)) quoted++;
    // an Outlook block at the top with no > quote under it: what follows is the original, and nothing was written above
    if (strict && fromBlock && dated && quoted === 0) return '';
    if (i < lines.length) start = i;
  }
  let cut = lines.length;
  for (let i = start; i < lines.length; i++) {
    const at = embeddedStart(lines, i);
    if (at !== null && at > start) {
      cut = at;
      break;
    }
  }
  let kept = lines.slice(start, cut);
  // a trailing block of > quotes (with blank lines) after the reply's own text
  let q = kept.length;
  while (q > 0 && (isBlank(kept[q - 1]!) || isQuote(kept[q - 1]!))) q--;
  if (q > 0 && q < kept.length && kept.slice(q).some(isQuote)) kept = kept.slice(0, q);
  kept = trimTail(kept);
  if (strict) {
    // a phone's "Sent from my …" line over nothing (trimTail keeps a first line), or a signature alone
    while (kept.length > 0 && (isBlank(kept[0]!) || SENT_FROM_RE.test(kept[0]!))) kept = kept.slice(1);
    // only > lines, a signature, or what is left starts an embedded mail (the "On … wrote:" line over a quote with nothing under it)
    const first = kept.findIndex((l) => !isBlank(l));
    if (first < 0 || kept.every((l) => isBlank(l) || isQuote(l)) || SIGNATURE_RE.test(kept[first]!.trimEnd()) || embeddedStart(kept, first) === first) return '';
  }
  return kept.join('\n').trim();
}

/** `#close` as the first non-empty line: the reply closes the ticket; the line itself is not relayed. */
export function closeCommand(text: string): { close: boolean; text: string } {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0 || lines[first]!.trim().toLowerCase() !== '#close') return { close: false, text };
  return { close: true, text: lines.slice(first + 1).join('\n').trim() };
}
