// How many mailboxes this process should read, and which to give up or try
// to take: pure over what the database says (who holds what, how many
// processes are alive), so the rule is tested as a table. A process holds at
// most ceil(mailboxes / live processes): when one joins, the others give up
// their surplus (after the batch in hand) and it takes the freed mailboxes;
// when one dies, its leases lapse and the rest take them up to their new
// share. Which mailboxes to take is shuffled, so processes that look at the
// same moment rarely race for the same one (a lost race is harmless: the
// lease update takes it for one of them only).

export interface BalanceInput {
  /** The mailboxes this process is configured to read. */
  mailboxes: readonly string[];
  /** The ones it holds now. */
  held: ReadonlySet<string>;
  /** Holder of each mailbox by its live lease; null when free or lapsed. */
  holders: ReadonlyMap<string, string | null>;
  /** Live processes, this one included (at least 1). */
  live: number;
}

export interface BalancePlan {
  quota: number;
  /** Held beyond the quota: give up after the batch in hand. */
  giveUp: string[];
  /** Free mailboxes to try, in this order, until the quota is reached. */
  take: string[];
}

export function planBalance(i: BalanceInput, random: () => number = Math.random): BalancePlan {
  const quota = Math.ceil(i.mailboxes.length / Math.max(1, i.live));
  const held = i.mailboxes.filter((m) => i.held.has(m));
  if (held.length > quota) return { quota, giveUp: held.slice(quota), take: [] };
  const free = i.mailboxes.filter((m) => !i.held.has(m) && (i.holders.get(m) ?? null) === null);
  for (let k = free.length - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [free[k], free[j]] = [free[j]!, free[k]!];
  }
  return { quota, giveUp: [], take: free.slice(0, quota - held.length) };
}
