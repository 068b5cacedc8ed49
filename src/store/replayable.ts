// Which ledger outcomes a replay may change. A mail that made a ticket event
// (or a staff reply that was relayed) already had its effects; running it
// again would double them, so it is never re-decided. A duplicate has no
// bytes of its own: its original is the one to replay. Everything else —
// rejected, bounced, auto-replies, own mail, parked, failed, discarded, too
// large — is re-decided with today's configuration.
import type { LedgerState } from './inbound';

export const EFFECT_STATES: readonly LedgerState[] = ['ticket_created', 'ticket_updated', 'ticket_closed', 'staff_reply'];

export const isReplayable = (state: LedgerState | null): boolean => state === null || (!EFFECT_STATES.includes(state) && state !== 'duplicate');
