// The costly, input-bounded part of deciding a mail, done where the parse is
// done (the parse pool's worker thread, under its per-mail deadline): HTML
// sanitising and the sender's profile extraction. A regular expression from a
// custom profile or a hostile HTML body can take unbounded time; on the main
// thread that froze lease renewal, IDLE and HTTP for every mailbox. Here an
// overrun costs the worker, which the pool replaces, and the mail, which is
// parked. decide.ts uses the results when they are for the system and profile
// it routes by, and computes them itself otherwise (no pool, or the system's
// profile changed between the parse and the write).
import { extract, type Extraction } from './extract';
import { sanitizeMailHtml } from './html-sanitize';
import type { MailFacts } from './mail-facts';
import type { Profile } from './profile-schema';
import { matchSystem } from './sender-match';

/** A system the mail may come from, with the profile its mails are read by. */
export interface ProfileCandidate {
  id: number;
  slug: string;
  from: string[];
  enabled: boolean;
  profile: Profile;
  /** The profile as JSON: decide.ts uses the extraction only when the profile it routes by is this one. */
  profileKey: string;
}

export interface MailWork {
  /** The sanitised HTML copy (null when the mail has no HTML). */
  safeHtml: string | null;
  /** The sender's system's extraction, when the sender is one. */
  extraction: { systemId: number; profileKey: string; fields: Extraction } | null;
}

export function doMailWork(facts: MailFacts, candidates: readonly ProfileCandidate[]): MailWork {
  const system = matchSystem(facts.fromAddress, candidates);
  return {
    safeHtml: facts.html === null ? null : sanitizeMailHtml(facts.html),
    extraction: system ? { systemId: system.id, profileKey: system.profileKey, fields: extract(system.profile, facts) } : null,
  };
}
