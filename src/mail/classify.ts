// What kind of mail is this? DESIGN.md's order, first match wins: bounce, our
// own mail (loop header), auto-reply, staff reply (to a token address),
// notification from a known system, anything else rejected. Pure: facts and a
// snapshot of the systems in, a verdict out.
import { detectAutoReply } from './auto-reply-detect';
import { detectBounce, type RecipientStatus } from './bounce-detect';
import { header, type MailFacts } from './mail-facts';
import { matchSystem, type SenderSystem } from './sender-match';

import { LOOP_HEADER } from './loop-header';

export type Classification<S extends SenderSystem = SenderSystem> =
  | { kind: 'bounce'; originalMessageId: string | null; reason: string; delayed: boolean; failedRecipients: string[] }
  | { kind: 'own_mail'; reason: string }
  | { kind: 'auto_reply'; reason: string; system: S | undefined }
  | { kind: 'staff_reply'; tokenAddress: string }
  | { kind: 'notification'; system: S }
  | { kind: 'rejected_sender'; reason: string };

export interface ClassifyContext<S extends SenderSystem> {
  systems: readonly S[];
  /** The bridge's own address (DESKBRIDGE_ADDRESS); replies go to its local+token@domain form. */
  bridgeAddress: string | null;
}

/** The recipient that is one of our token addresses (local+anything@domain), if any. */
export function tokenRecipient(recipients: readonly string[], bridgeAddress: string | null): string | undefined {
  if (!bridgeAddress) return undefined;
  const at = bridgeAddress.lastIndexOf('@');
  const local = bridgeAddress.slice(0, at).toLowerCase();
  const domain = bridgeAddress.slice(at).toLowerCase();
  return recipients.find((r) => r.endsWith(domain) && r.startsWith(`${local}+`) && r.length > local.length + 1 + domain.length);
}

const describeRecipient = (r: RecipientStatus): string => `${r.recipient} ${r.action}${r.status ? ` (${r.status})` : ''}`;

export function classify<S extends SenderSystem>(facts: MailFacts, ctx: ClassifyContext<S>): Classification<S> {
  const bounce = detectBounce(facts);
  if (bounce.bounce) {
    const about = bounce.originalMessageId ? `reports on ${bounce.originalMessageId}` : 'delivery report';
    const reason = bounce.delayed ? `${about}: delayed, not failed${bounce.recipients.length ? ` (${bounce.recipients.map(describeRecipient).join(', ')})` : ''}; nothing marked` : about;
    return { kind: 'bounce', originalMessageId: bounce.originalMessageId, reason, delayed: bounce.delayed, failedRecipients: bounce.failed.map(describeRecipient) };
  }
  const loop = header(facts, LOOP_HEADER);
  if (loop !== undefined) return { kind: 'own_mail', reason: `${LOOP_HEADER}: ${loop}` };

  const system = matchSystem(facts.fromAddress, ctx.systems);
  const auto = detectAutoReply(facts, system !== undefined);
  if (auto.autoReply) return { kind: 'auto_reply', reason: auto.reason!, system };

  const token = tokenRecipient(facts.recipients, ctx.bridgeAddress);
  if (token) return { kind: 'staff_reply', tokenAddress: token };
  if (system) return { kind: 'notification', system };
  return {
    kind: 'rejected_sender',
    reason: facts.fromAddress ? `${facts.fromAddress} is on no system's allowlist` : 'no From address',
  };
}
