// Applies a parse profile to a mail: for each field, the first extractor that
// yields a value wins. Pure, and it reports where each value came from, which
// is what `deskbridge profile test` prints.
import { header, type MailFacts } from './mail-facts';
import { PATTERN_FLAGS, PROFILE_FIELDS, type Extractor, type Profile, type ProfileField } from './profile-schema';

export interface Extracted {
  value: string;
  /** e.g. `subject /\[Ticket ID: …/` or `header X-Ticket-ID` */
  source: string;
}

export type Extraction = Partial<Record<ProfileField, Extracted>>;

const TICKET_EVENTS = new Set(['new', 'reply', 'closed']);

function sourceText(facts: MailFacts, ex: Extractor): string | undefined {
  switch (ex.from) {
    case 'header':
      return header(facts, ex.name!);
    case 'subject':
      return facts.subject;
    case 'body':
      return facts.text;
    case 'fromAddress':
      return facts.fromAddress ?? undefined;
    case 'fromName':
      return facts.fromName ?? undefined;
    case 'toAddress':
      return facts.recipients[0];
  }
}

const regexCache = new Map<string, RegExp>();
const compiled = (pattern: string): RegExp => {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(pattern, PATTERN_FLAGS);
    regexCache.set(pattern, re);
  }
  return re;
};

function runExtractor(facts: MailFacts, ex: Extractor): string | undefined {
  const text = sourceText(facts, ex);
  if (text === undefined) return undefined;
  let value = text;
  if (ex.pattern) {
    const match = compiled(ex.pattern).exec(text);
    if (!match?.groups?.value) return undefined;
    value = match.groups.value;
  }
  value = value.trim();
  if (ex.map) {
    const key = Object.keys(ex.map).find((k) => k.toLowerCase() === value.toLowerCase());
    if (key === undefined) return undefined;
    value = ex.map[key]!;
  }
  return value === '' ? undefined : value;
}

const describe = (ex: Extractor): string => `${ex.from}${ex.name ? ` ${ex.name}` : ''}${ex.pattern ? ` /${ex.pattern}/` : ''}`;

export function extract(profile: Profile, facts: MailFacts): Extraction {
  const out: Extraction = {};
  for (const field of PROFILE_FIELDS) {
    for (const ex of profile.fields[field] ?? []) {
      const value = runExtractor(facts, ex);
      if (value === undefined) continue;
      if (field === 'event' && !TICKET_EVENTS.has(value.toLowerCase())) continue;
      out[field] = { value: field === 'event' ? value.toLowerCase() : value, source: describe(ex) };
      break;
    }
  }
  return out;
}

const PREFIX_RE = /^\s*((re|fwd?|fw|aw|wg|sv|vs|antw|ответ|отв|пересл)\s*(\[\d+\])?\s*:\s*)+/iu;

/** The default subject: the mail's, without the ticket tag the profile matched and without reply/forward prefixes. */
export function cleanSubject(subject: string, profile: Profile): string {
  let s = subject;
  for (const ex of profile.fields.ticket ?? []) {
    if (ex.from === 'subject' && ex.pattern) {
      const match = compiled(ex.pattern).exec(s);
      if (match) s = `${s.slice(0, match.index)} ${s.slice(match.index + match[0].length)}`;
    }
  }
  for (let i = 0; i < 5; i++) {
    const next = s.replace(PREFIX_RE, '').trim();
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, ' ').trim();
}

export interface ExtractorAttempt {
  /** e.g. `subject /\[Ticket ID: …/` */
  extractor: string;
  /** what it yielded, or null when its source was absent, its pattern did not match, or its map had no entry */
  matched: string | null;
}

/**
 * For `profile test`: each field's extractors in the order `extract` tries
 * them, up to and including the one that wins, with what each matched — so an
 * admin sees the pattern that failed, not only that the field is empty.
 */
export function traceExtraction(profile: Profile, facts: MailFacts): Record<ProfileField, ExtractorAttempt[]> {
  const out = {} as Record<ProfileField, ExtractorAttempt[]>;
  for (const field of PROFILE_FIELDS) {
    out[field] = [];
    for (const ex of profile.fields[field] ?? []) {
      let value = runExtractor(facts, ex) ?? null;
      if (value !== null && field === 'event' && !TICKET_EVENTS.has(value.toLowerCase())) value = null;
      out[field].push({ extractor: describe(ex), matched: value });
      if (value !== null) break;
    }
  }
  return out;
}
