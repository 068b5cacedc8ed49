// Is this mail an automatic answer (out of office, vacation, autoresponder)?
// The bridge must never answer one. Two strengths of evidence (RFC 3834 and
// what real mailers send): headers that say "auto-replied" count for every
// sender; the weaker signs — any Auto-Submitted other than "no", Precedence
// bulk/junk/list, a vacation-like subject alone — count only for senders that
// are not a known system, because a system's notification is automatic by
// nature and often carries Auto-Submitted: auto-generated or Precedence: bulk.
import { hasEmptyReturnPath, header, type MailFacts } from './mail-facts';

export interface AutoReplyVerdict {
  autoReply: boolean;
  reason: string | null;
}

/** Vacation subjects in the languages the corpus shows (and the usual others). */
export const VACATION_SUBJECT_RE = new RegExp(
  [
    '^\\s*(auto(matic)?[ -]?(reply|response|respons|answer)\\b)',
    '^\\s*auto:',
    'out of (the )?office',
    '\\(automatic response\\)',
    '^\\s*(vacation|away from (my|the) (desk|office))',
    '^\\s*away until\\b',
    'abwesenheitsnotiz',
    'automatische antwort',
    'r[ée]ponse automatique',
    'absence du bureau',
    'risposta automatica',
    'respuesta autom[áa]tica',
    'automatisch antwoord',
    'automatisk svar',
    'automaattinen vastaus',
    'automatyczna odpowied[źz]',
    'automatick[áa] odpov[ěe][ďd]',
    'автоответ',
    'автоматический ответ',
    '自動応答',
    '自动回复',
    '不在通知',
  ].join('|'),
  'iu',
);

const AUTO_HEADERS = ['x-autoreply', 'x-autorespond', 'x-autoresponder'];

export function detectAutoReply(facts: MailFacts, fromKnownSystem: boolean): AutoReplyVerdict {
  const autoSubmitted = header(facts, 'auto-submitted')?.trim().toLowerCase().split(/[;\s]/)[0];
  if (autoSubmitted === 'auto-replied') return { autoReply: true, reason: 'Auto-Submitted: auto-replied' };
  for (const name of AUTO_HEADERS) {
    const value = header(facts, name);
    if (value !== undefined && !/^\s*(no|false|0)\s*$/i.test(value)) return { autoReply: true, reason: `${name} header` };
  }
  const isReply = Boolean(facts.inReplyTo || facts.references.length > 0 || /^\s*(re|aw|sv|ответ)\s*:/i.test(facts.subject));
  if (isReply && hasEmptyReturnPath(facts)) return { autoReply: true, reason: 'empty Return-Path on a reply' };
  if (fromKnownSystem) return { autoReply: false, reason: null };

  if (autoSubmitted && autoSubmitted !== 'no') return { autoReply: true, reason: `Auto-Submitted: ${autoSubmitted}` };
  const precedence = header(facts, 'precedence')?.trim().toLowerCase();
  if (precedence && ['bulk', 'junk', 'list', 'auto_reply'].includes(precedence)) return { autoReply: true, reason: `Precedence: ${precedence}` };
  if (VACATION_SUBJECT_RE.test(facts.subject)) return { autoReply: true, reason: 'vacation subject' };
  return { autoReply: false, reason: null };
}
