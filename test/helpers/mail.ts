// Builds a small mail from header lines and a body, for table-driven tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMail, type MailFacts } from '../../src/mail/parse-mail';

export const FIXTURES = join(__dirname, '..', 'fixtures', 'mail');
export const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

export function rawMail(headers: Record<string, string>, body = 'Hello.\n'): Buffer {
  const lines = Object.entries({ 'Content-Type': 'text/plain; charset=utf-8', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

export const factsOf = (headers: Record<string, string>, body?: string): Promise<MailFacts> => parseMail(rawMail(headers, body));
