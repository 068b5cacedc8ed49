// Claims a stored mail for processing again (retryFailed, `parked replay`,
// a replay of any ledger row), inside the transaction that will write the
// new outcome. Checking the state before the transaction let two runs at
// once (every `run` start and every `deskbridge ingest` retries the failed
// mails; an MTA starts one ingest per mail) both apply the same mail. The
// claim is a conditional UPDATE: on PostgreSQL it takes the row lock, so a
// second claimer waits for the first to commit and then sees the new state
// (READ COMMITTED re-checks the WHERE on the new row version) and gets 0
// rows; on SQLite the transaction holds the one write lock from its BEGIN.
import type { Knex } from 'knex';
import type { LedgerState } from './inbound';

/** True when the row is still in one of `states` (null: not processed yet), and is now this transaction's to process. */
export async function claimInState(trx: Knex, id: number, states: ReadonlyArray<LedgerState | null>): Promise<boolean> {
  const named = states.filter((s): s is LedgerState => s !== null);
  const changed = await trx('inbound')
    .where({ id })
    .where((w) => {
      w.whereIn('state', named);
      if (named.length < states.length) w.orWhereNull('state');
    })
    .update({ state: trx.ref('state') });
  return changed > 0;
}
