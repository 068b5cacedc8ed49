// Is a system's mail only its copy of our own relay? Remote helpdesks do not
// copy our X-Deskbridge-Loop header: when RT notifies the actor (or a watcher
// set-up echoes), the bridge gets its relay back as a "new" notification, and
// staff were sent their own words again. An echo is recognised by two facts
// together: the mail names one of our relays' Message-IDs in In-Reply-To or
// References, AND its own text (quotes and the quoted mail below a reply
// header taken out) carries the relayed text. The reference alone is not
// enough: a customer's reply to the system's copy names our relay too, and a
// reply that quotes our relay only carries it inside its quote.
import { stripReply } from './quote-strip';

/** Our relay and close Message-IDs (newMessageId('r' | 'c', …) in outbound/compose.ts). */
const OUR_RELAY_RE = /^<deskbridge\.[rc]\.\d+\./;

export function relayReferences(facts: { inReplyTo: string | null; references: string[] }): string[] {
  return [...new Set([facts.inReplyTo, ...facts.references].filter((id): id is string => !!id && OUR_RELAY_RE.test(id)))];
}

const squash = (text: string) => text.replace(/\s+/gu, ' ').trim();

/** The mail's own words: reply header and everything below it gone, `>` quote lines gone, whitespace collapsed. */
export function ownWords(text: string): string {
  return squash(
    stripReply(text)
      .split('\n')
      .filter((l) => !/^\s*>/.test(l))
      .join('\n'),
  );
}

/** True when the mail's own words carry the relayed text (compared with whitespace collapsed; an empty relayed text proves nothing). */
export function carriesRelayedText(mailText: string, relayedText: string): boolean {
  const relayed = squash(relayedText);
  return relayed.length > 0 && ownWords(mailText).includes(relayed);
}
