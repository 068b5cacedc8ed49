// The staff member's own words out of a reply: quoted text, "On … wrote:"
// headers, Outlook's "-----Original Message-----" blocks and `-- `
// signatures go (email-reply-parser, a port of GitHub's parser, does the
// work). Before it runs, "reply above this line" markers cut the text, since
// everything under one is our own notification.
import EmailReplyParserModule from 'email-reply-parser';

type Parser = { read(text: string): { getVisibleText(): string } };
const EmailReplyParser = ((EmailReplyParserModule as unknown as { default?: new () => Parser }).default ?? EmailReplyParserModule) as unknown as new () => Parser;

const ABOVE_THIS_LINE_RE = /^.*(reply|write|type) above this line.*$/im;

export function stripReply(text: string): string {
  const normalised = text.replace(/\r\n?/g, '\n');
  const marker = ABOVE_THIS_LINE_RE.exec(normalised);
  const head = marker ? normalised.slice(0, marker.index) : normalised;
  return new EmailReplyParser().read(head).getVisibleText().trim();
}

/** `#close` as the first non-empty line: the reply closes the ticket; the line itself is not relayed. */
export function closeCommand(text: string): { close: boolean; text: string } {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0 || lines[first]!.trim().toLowerCase() !== '#close') return { close: false, text };
  return { close: true, text: lines.slice(first + 1).join('\n').trim() };
}
