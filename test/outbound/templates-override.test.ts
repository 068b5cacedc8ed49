// DESKBRIDGE_TEMPLATES: a folder of the admin's own files, each replacing the
// shipped one of the same name; and one notification template per event.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTemplates, notificationTemplate, SAMPLES } from '../../src/outbound/render';

describe('template overrides and per-event notifications', () => {
  it('a file in the override folder replaces the shipped one; the others stay shipped; per-system folders too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deskbridge-overrides-'));
    writeFileSync(join(dir, 'relay.txt.hbs'), 'OURS {{reply.text}} — {{staff.name}}\n');
    mkdirSync(join(dir, 'partials'));
    writeFileSync(join(dir, 'partials', 'ticket-line.hbs'), 'LINE {{ticket.remoteTicketId}}');
    mkdirSync(join(dir, 'systems', 'x'), { recursive: true });
    writeFileSync(join(dir, 'systems', 'x', 'close.txt.hbs'), 'CLOSE FOR X {{staff.name}}\n');
    const t = loadTemplates(undefined, dir);
    expect(t.render('relay', SAMPLES.relay).text).toBe('OURS t — S\n');
    expect(t.render('relay', SAMPLES.relay).html).toContain('<'); // the shipped HTML relay
    expect(t.render('notification', SAMPLES.notification).text).toContain('LINE R1');
    expect(t.render('close', SAMPLES.close).text).toBe('CLOSE FOR X S\n'); // SAMPLES' ticket is of system "x"
    expect(loadTemplates().render('relay', SAMPLES.relay).text).not.toContain('OURS');
  });

  it('a missing override folder is a configuration error naming it', () => {
    expect(() => loadTemplates(undefined, '/nonexistent/templates')).toThrow(/DESKBRIDGE_TEMPLATES: the folder \/nonexistent\/templates does not exist/);
  });

  it('new ticket, customer reply and closing each have their own notification', () => {
    const t = loadTemplates();
    const text = (event: string) => t.render(notificationTemplate(event), { ...SAMPLES.notification, message: { ...SAMPLES.notification.message!, event } }).text;
    expect(text('new')).toMatch(/^New ticket: /);
    expect(text('reply')).toMatch(/^F wrote again: /);
    expect(text('closed')).toMatch(/^Closed on X: [\s\S]*nothing needs an answer/);
    expect(new Set([text('new'), text('reply'), text('closed')]).size).toBe(3);
  });
});
