// Which known system sent this mail? Only the From address counts, matched
// exactly or by its domain for an `@domain` entry; a display name that looks
// like an allowed address ("noreply@billing.example" <evil@else.example>) does
// not. When several systems' lists name the sender, the most specific entry
// wins: an exact address over an `@domain` (before, the oldest system won,
// so a broad list on an old system silently took a newer system's mail).
// Disabled systems still match: their mail is parked (`parked_disabled`,
// replayable once the system is enabled), not rejected as a stranger's.

export interface SenderSystem {
  id: number;
  slug: string;
  from: string[];
  enabled: boolean;
}

/** How specific an allowlist entry is for this address: 2 the address itself, 1 its `@domain`, 0 no match. */
function specificity(entry: string, address: string, domain: string): number {
  if (entry === address) return 2;
  if (entry.startsWith('@') && entry === domain) return 1;
  return 0;
}

export function matchSystem<T extends SenderSystem>(fromAddress: string | null, systems: readonly T[]): T | undefined {
  if (!fromAddress) return undefined;
  const address = fromAddress.toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 1) return undefined;
  const domain = address.slice(at);
  let best: T | undefined;
  let bestRank = 0;
  for (const s of systems) {
    const rank = Math.max(0, ...s.from.map((entry) => specificity(entry, address, domain)));
    if (rank > bestRank) [best, bestRank] = [s, rank]; // ties keep the earlier (older) system, as before
  }
  return best;
}

/** Entries of `from` that overlap another system's list: the same entry (a tie), or an address inside another's `@domain` (the address wins). */
export function allowlistOverlaps(from: readonly string[], others: readonly SenderSystem[]): string[] {
  const notes: string[] = [];
  for (const entry of from) {
    for (const other of others) {
      for (const theirs of other.from) {
        if (theirs === entry) notes.push(`${entry} is also on system ${other.slug}'s list (the older system gets its mail)`);
        else if (!entry.startsWith('@') && theirs === entry.slice(entry.lastIndexOf('@'))) notes.push(`${entry} is inside system ${other.slug}'s ${theirs}: mail from ${entry} now goes here, the rest of ${theirs} to ${other.slug}`);
        else if (entry.startsWith('@') && !theirs.startsWith('@') && theirs.endsWith(entry)) notes.push(`${entry} covers ${theirs}, which stays with system ${other.slug} (an exact address wins)`);
      }
    }
  }
  return notes;
}
