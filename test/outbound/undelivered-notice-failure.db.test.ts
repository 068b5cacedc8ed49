// A dead or bounced relay tells its author (staff-notice.ts): the notice is
// written in the transaction that records a group of send results
// (recordAttempts' onDead), so a notice that cannot be written must not undo
// the other results of that group — a mail the server took would be sent
// again. An admin's template override with a typo in the `notice.undelivered`
// branch is how it happens; `run`'s start-up check now renders that branch
// too (and refuses to start); the notice is still written under a savepoint
// of its own, in case such a template reaches it anyway.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { notificationRenderer, outboundFrom } from '../../src/outbound/notify';
import { loadTemplates } from '../../src/outbound/render';
import { makeToken } from '../../src/outbound/reply-token';
import { noticeUndelivered } from '../../src/outbound/staff-notice';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { claimDue, recordAttempts, renderClaimedRows } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { plainMail } from '../helpers/dkim';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

const SECRET = 'review-undelivered-key-0123';
const config = { address: 'bridge@support.example', secret: SECRET, instance: 'test-node' };

/** An override folder whose staff notice has a typo only in its undelivered branch. */
function typoOverrides(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deskbridge-review-templates-'));
  writeFileSync(join(dir, 'staff-notice.txt.hbs'), 'Hello {{staff.name}},\n{{#if notice.undelivered}}not delivered: {{notice.reasn}}{{else}}not relayed: {{notice.reason}}{{/if}}\n');
  return dir;
}

let db: Awaited<ReturnType<typeof openTestDatabase>>;
beforeEach(async () => {
  db = await openTestDatabase('review_undelivered');
  await seedRouting(db);
});
afterEach(async () => db.drop());

describe(`a staff notice that cannot be written on ${BACKEND}`, () => {
  it('is refused at start-up when the undelivered branch of an override names an unknown variable', () => {
    expect(() => loadTemplates(undefined, typoOverrides()).check()).toThrow(/staff-notice\.txt\.hbs.*reasn/);
  });

  it('does not undo the send results recorded with the dead relay (the delivered notification is not sent again)', async () => {
    const good = outboundFrom(config, () => loadTemplates())!;
    const pipeline = createPipeline(db, { bridgeAddress: config.address, maxMessageBytes: 25 * 1024 * 1024, outbound: good });
    const mail = (raw: Buffer | string): IncomingMail => ({ raw: Buffer.from(raw), label: 'mail', source: 'stdin' });
    const [created] = await pipeline.ingest([mail(fixture('whmcs-new.eml'))]);
    const ticketId = created!.ticketId!;
    const reply = plainMail(
      ['From: Anna <anna@support.example>', `To: bridge+${makeToken(ticketId, 'anna@support.example', SECRET)}@support.example`, `Subject: Re: [DB#${ticketId}] Down`, 'Message-ID: <anna-review@support.example>'],
      'Rebooted.\r\n',
    );
    expect((await pipeline.ingest([mail(reply)]))[0]!.state).toBe('staff_reply');

    const claimed = await claimDue(db.knex, db.dialect, { owner: 'review:1', limit: 50, ttlMs: 60_000 });
    await renderClaimedRows(db.knex, 'review:1', claimed.filter((c) => c.renderInput !== null), notificationRenderer(good), 60_000);
    const relay = claimed.find((c) => c.kind === 'relay')!;
    const delivered = claimed.filter((c) => c.kind === 'notification');
    expect(relay).toBeDefined();
    expect(delivered.length).toBeGreaterThan(0);

    // any notice failure will do (a template typo, as above; a refused statement): here its render throws
    const bad = { ...good, templates: { ...good.templates, render: () => { throw new Error('render failed'); } } };
    const results = [...delivered.map((c) => [c.id, { state: 'sent' }] as const), [relay.id, { state: 'dead', error: '550 5.1.1 No such user here' }] as const];
    await recordAttempts(db.knex, 'review:1', results, (trx, ids) => noticeUndelivered(trx, bad, ids)).catch(() => undefined);

    const states = await db.knex('outbox').whereIn('id', delivered.map((c) => c.id)).pluck('state');
    expect(states).toEqual(delivered.map(() => 'sent')); // the server took them: they must not go out again
    expect(await db.knex('outbox').where({ id: relay.id }).first('state')).toEqual({ state: 'dead' });
  });
});
