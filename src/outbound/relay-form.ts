// The form a relay takes for its system (DESIGN.md "Profiles"): who it is
// from (relayFrom: the staff member's name via the department, at the
// bridge's address, so the customer sees a person and not "bridge@… via RT"),
// and how a close or reopen is said. Systems differ: RT closes with a
// CommandByMail `Status: resolved` line, Znuny with an X-OTRS-State header
// from a trusted account, some not at all. Pure: profile and variables in,
// the subject and header templates, the lines above the body, and whether a
// close can be sent at all.
import type { Profile, RelayForm } from '../mail/profile-schema';

export const DEFAULT_RELAY_SUBJECT = 'Re: {{subject}}';
export const DEFAULT_RELAY_FROM = '{{staff.name}} via {{department.name}}';

export type RelayIntent = 'reply' | 'close' | 'reopen';

export interface RelayShape {
  /** Outbox kind: a close relay is `close` (what a bounce or a retry names), everything else `relay`. */
  kind: 'relay' | 'close';
  /** The template of the body: the close template for a close, else the relay template. */
  template: 'relay' | 'close';
  subject: string;
  headers: Record<string, string>;
  firstLines: string[];
}

/**
 * How to say `intent` to the system; null when it cannot be said by mail (a
 * close to a system whose profile has `relayClose: false`). A profile without
 * relayClose keeps the old behaviour: the close template as correspondence.
 */
export function relayShape(profile: Profile, intent: RelayIntent): RelayShape | null {
  const form: RelayForm | false | undefined = intent === 'close' ? profile.relayClose : intent === 'reopen' ? profile.relayReopen : undefined;
  if (form === false) return null;
  return {
    kind: intent === 'close' ? 'close' : 'relay',
    template: intent === 'close' ? 'close' : 'relay',
    subject: form?.subject ?? profile.relaySubject ?? DEFAULT_RELAY_SUBJECT,
    headers: { ...profile.relayHeaders, ...form?.headers },
    firstLines: form?.firstLines ?? [],
  };
}

/** The command lines go above the text (CommandByMail reads the first lines of the first text part), then a blank line. */
export function withFirstLines(body: { text: string; html: string }, lines: string[]): { text: string; html: string } {
  if (lines.length === 0) return body;
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return { text: `${lines.join('\n')}\n\n${body.text}`, html: `<p>${lines.map(escape).join('<br>\n')}</p>\n${body.html}` };
}
