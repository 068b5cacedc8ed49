// Which known system sent this mail? Only the From address counts, matched
// exactly or by its domain for an `@domain` entry; a display name that looks
// like an allowed address ("noreply@billing.example" <evil@else.example>) does
// not. Disabled systems match nothing.

export interface SenderSystem {
  id: number;
  slug: string;
  from: string[];
  enabled: boolean;
}

export function matchSystem<T extends SenderSystem>(fromAddress: string | null, systems: readonly T[]): T | undefined {
  if (!fromAddress) return undefined;
  const address = fromAddress.toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 1) return undefined;
  const domain = address.slice(at);
  return systems.find((s) => s.enabled && s.from.some((entry) => entry === address || (entry.startsWith('@') && entry === domain)));
}
