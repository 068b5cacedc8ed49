// The DNS resolver DKIM and DMARC checks use: the system's, or the servers of
// DESKBRIDGE_DNS (`host[:port]`, IPv6 as `[addr]:port`). Node's resolver keeps
// no cache, and a batch of mails from one system asks for the same key and
// DMARC record again and again, so answers (a record, or "no such name") are
// kept for CACHE_TTL_MS; failures are never kept — the next mail asks again.

/** The shape mailauth calls: (name, 'TXT') → records, or a throw with a DNS error code. */
export type Resolver = (name: string, rrtype: string) => Promise<unknown>;

const CACHE_TTL_MS = 5 * 60_000; // DKIM keys and DMARC records change rarely; a key rotation is seen within minutes
const CACHE_MAX = 10_000; // names; far above the systems one desk serves
const TIMEOUT_MS = 3_000; // per try; two tries: a dead resolver costs a mail ~6 s, then it is `failed` and retried
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']); // an answer ("no such record"), not a failure

const SERVER_RE = /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** A DESKBRIDGE_DNS entry is host, host:port or [v6]:port; returns a message for a bad one. */
export const checkServer = (entry: string): string | null => (SERVER_RE.test(entry) ? null : `"${entry}" is not host[:port]`);

export function createResolver(servers?: readonly string[]): Resolver {
  // node:dns when a resolver is made, not when the configuration (which checks DESKBRIDGE_DNS) is read
  const { Resolver: DnsResolver } = (require('node:dns') as typeof import('node:dns')).promises; // eslint-disable-line @typescript-eslint/no-require-imports
  const resolver = new DnsResolver({ timeout: TIMEOUT_MS, tries: 2 });
  if (servers && servers.length > 0) resolver.setServers([...servers]);
  const cache = new Map<string, { at: number; value?: unknown; error?: NodeJS.ErrnoException }>();
  return async (name, rrtype) => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) {
      if (hit.error) throw hit.error;
      return hit.value;
    }
    try {
      const value = await resolver.resolve(name, rrtype as 'TXT');
      remember(cache, key, { at: Date.now(), value });
      return value;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code && NEGATIVE.has(e.code)) remember(cache, key, { at: Date.now(), error: e });
      throw err;
    }
  };
}

function remember<V>(cache: Map<string, V>, key: string, value: V) {
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}
