// `deskbridge doctor`'s sender-authentication checks: whom the bridge trusts
// (DESKBRIDGE_AUTHSERV_ID) or that DNS answers for its own checks, and every
// system and department still without a chosen policy — rows from before
// sender authentication keep trusting From (system) or tokens alone
// (department) until an admin decides, and doctor says so until then.
import type { Config } from './config';
import type { Check } from './doctor';
import { createResolver } from './auth/resolver';
import type { Database } from './store/db';
import { listDepartments } from './store/departments';
import { listSystems } from './store/systems';

const DNS_PROBE_TIMEOUT_MS = 10_000;
const ANSWERED = new Set(['ENOTFOUND', 'ENODATA']); // "no such record" is an answer

export async function checkAuthSetup(config: Config): Promise<Check> {
  const name = 'auth';
  const via = config.dns.length ? `resolvers ${config.dns.join(', ')}` : 'the system resolver';
  const trusted = config.authservId.length ? `trusts the topmost Authentication-Results of ${config.authservId.join(', ')}; otherwise ` : 'no DESKBRIDGE_AUTHSERV_ID: ';
  const domain = config.address?.slice(config.address.lastIndexOf('@') + 1);
  if (!domain) return { name, ok: true, detail: `${trusted}DKIM/DMARC verified here through ${via} (no DESKBRIDGE_ADDRESS: DNS not probed)` };
  const probe = `_dmarc.${domain}`;
  try {
    await Promise.race([createResolver(config.dns)(probe, 'TXT'), new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('no answer'), { code: 'ETIMEOUT' })), DNS_PROBE_TIMEOUT_MS).unref())]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code || !ANSWERED.has(code)) {
      return { name, ok: false, detail: `${trusted}DKIM/DMARC verified here through ${via}, but asking for ${probe} TXT failed (${code ?? (err as Error).message}): every signed mail would be \`failed\``, fix: 'set DESKBRIDGE_DNS to resolvers that answer from here, or DESKBRIDGE_AUTHSERV_ID to your receiving server (README: Sender authentication)' };
    }
  }
  return { name, ok: true, detail: `${trusted}DKIM/DMARC verified here through ${via} (DNS answers)` };
}

/** One failed check per system or department with no policy chosen; one passing line otherwise. */
export async function checkPolicies(db: Database): Promise<Check[]> {
  const systems = await listSystems(db.knex);
  const departments = await listDepartments(db.knex);
  const out: Check[] = [];
  for (const s of systems.filter((x) => x.auth === null)) {
    out.push({ name: `system ${s.slug}`, ok: false, detail: 'no --auth policy chosen (it predates sender authentication): its notifications are trusted by From alone, which anyone can write', fix: `deskbridge system edit ${s.slug} --auth dmarc (or --auth none to keep trusting From)` });
  }
  for (const d of departments.filter((x) => x.staffAuth === null)) {
    out.push({ name: `department ${d.slug}`, ok: false, detail: 'no --staff-auth policy chosen (it predates sender authentication): staff replies are accepted through their reply token alone', fix: `deskbridge department edit ${d.slug} --staff-auth dmarc (or --staff-auth token for a staff domain that does not sign its mail)` });
  }
  if (out.length === 0) {
    const list = [...systems.map((s) => `system ${s.slug} --auth ${s.auth}`), ...departments.map((d) => `department ${d.slug} --staff-auth ${d.staffAuth}`)];
    out.push({ name: 'policies', ok: true, detail: list.join('; ') || 'no systems or departments yet' });
  }
  return out;
}
