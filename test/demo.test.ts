// The README's "run it" command: `npm run demo` must show the whole round
// trip on a fresh checkout, with no servers.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('runs the round trip: tickets, notifications, the staff reply and its relay to WHMCS', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'scripts', 'demo.ts')], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ticket_created\s+#1/);
    expect(r.stdout).toMatch(/Reply-To: bridge\+1-[a-z2-7]{12}@support\.example/);
    expect(r.stdout).toMatch(/staff_reply\s+#1\s+anna@support\.example on ticket #1; relayed to support@billing\.acme\.example/);
    expect(r.stdout).toContain('Subject: Re: [Ticket ID: 730411] VPS vps-2207 does not boot after the upgrade');
    expect(r.stdout).toContain('In-Reply-To: <whmcs-730411-2@billing.acme.example>');
    expect(r.stdout).toMatch(/--- #3 staff \(reply\) anna@support\.example .*\nHi Maria, the upgrade left an empty \/boot/);
    expect(r.stdout).not.toMatch(/--- #3 staff[\s\S]*Hosting support/); // the signature was stripped
    expect(r.stdout).toMatch(/parked_unauthenticated .*acme requires --auth dmarc; not authenticated/); // the forged copy
  }, 120_000);

  it('ignores the caller\'s own DESKBRIDGE_* settings (a secret file exported as the README recommends, a database elsewhere)', () => {
    const env = { ...process.env, DESKBRIDGE_SECRET_FILE: '/nonexistent/secret', DESKBRIDGE_DATABASE: '/nonexistent/dir/x.sqlite', DESKBRIDGE_SMTP: 'smtp://127.0.0.1:1' };
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'scripts', 'demo.ts')], { encoding: 'utf8', timeout: 120_000, env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/staff_reply\s+#1/);
  }, 120_000);
});
