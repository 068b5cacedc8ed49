// A mail the server would not hand over in time even alone (fetch-plan.ts):
// recorded in the ledger as parked_failed, naming its UID, and the cursor
// moved past it in the same transaction, so the mails after it are read. The
// row keeps a one-line stand-in for the raw bytes (they never arrived); the
// mail itself stays in the mailbox, where an admin can look at it.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { advanceCursor } from '../store/cursors';
import { insertInbound } from '../store/inbound';

export async function recordUnfetchable(
  knex: Knex,
  at: { mailbox: string; owner: string; uidvalidity: number; uid: number; size: number },
  reason: string,
): Promise<number> {
  const raw = Buffer.from(`X-Deskbridge-Unfetched: ${at.mailbox} UIDVALIDITY ${at.uidvalidity} UID ${at.uid}\r\n\r\n`);
  return knex.transaction(async (trx) => {
    const id = await insertInbound(
      trx,
      { source: 'imap', sourceRef: at.mailbox, mailbox: at.mailbox, uidvalidity: at.uidvalidity, uid: at.uid, contentHash: createHash('sha256').update(raw).digest('hex'), size: at.size, raw, messageId: null, from: null, subject: null },
      { state: 'parked_failed', reason },
    );
    await advanceCursor(trx, at.mailbox, at.owner, { uidvalidity: at.uidvalidity, lastUid: at.uid });
    return id;
  });
}
