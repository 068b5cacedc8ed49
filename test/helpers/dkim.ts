// DKIM-signed mail and an in-process DNS zone for authentication tests: keys
// are made per run, mail is signed by mailauth, and the "DNS" is a map the
// test fills, so a test states exactly what each domain publishes.
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import type { Resolver } from '../../src/auth/resolver';

export interface TestKey {
  privateKey: string;
  /** The TXT record value for selector._domainkey.domain. */
  record: string;
}

export function makeKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=rsa; p=${der}` };
}

/**
 * The mail with a DKIM-Signature of `domain` prepended (mailauth signs).
 * mailauth 4.9's signer now and then (about 3 in 1,000 mails, seen in the
 * bench) writes a signature that its own verifier, and so any, rejects; the
 * layout of the header decides it. So the signature is checked here, and made
 * again with a t= of another length (which changes the layout) if it fails:
 * a test must start from a mail that is really signed.
 */
export async function signMail(raw: string | Buffer, domain: string, key: TestKey, options: { selector?: string; maxBodyLength?: number } = {}): Promise<Buffer> {
  const input = Buffer.from(raw);
  const selector = options.selector ?? 'sel';
  const resolver = zoneResolver({ [`${selector}._domainkey.${domain}`.toLowerCase()]: key.record });
  for (const signTime of [new Date(), new Date(999_999_999_000), new Date(99_999_999_000)]) {
    const { signatures } = await dkimSign(input, { signTime, signatureData: [{ signingDomain: domain, selector, privateKey: key.privateKey, ...(options.maxBodyLength !== undefined && { maxBodyLength: options.maxBodyLength }) }] });
    const signed = Buffer.concat([Buffer.from(signatures), input]);
    if ((await dkimVerify(signed, { resolver })).results[0]?.status.result === 'pass') return signed;
  }
  throw new Error(`mailauth could not make a DKIM signature that verifies for ${domain}`);
}

/** A zone: name → TXT strings; a name mapped to 'SERVFAIL' fails as a dead server would. */
export type Zone = Record<string, string | string[] | 'SERVFAIL'>;

/** A resolver over `zone`, counting the questions it was asked. */
export function zoneResolver(zone: Zone): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (name: string, rrtype: string) => {
    asked.push(`${rrtype} ${name}`);
    const value = zone[name.toLowerCase()];
    if (value === 'SERVFAIL') throw Object.assign(new Error(`queryTxt ESERVFAIL ${name}`), { code: 'ESERVFAIL' });
    if (value === undefined || rrtype !== 'TXT') throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return [].concat(value as never).map((v: string) => [v]);
  };
  return Object.assign(resolve, { asked });
}

/** A plain mail, CRLF line ends. */
export const plainMail = (headers: string[], body = 'Hello.\r\n') => [...headers, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body].join('\r\n');
