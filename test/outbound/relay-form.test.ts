// How a relay is said to its system (relay-form.ts): the close and reopen
// forms a profile gives, the old behaviour without them, and the command
// lines above the body.
import { describe, expect, it } from 'vitest';
import { parseProfile } from '../../src/mail/profile-schema';
import { relayShape, withFirstLines } from '../../src/outbound/relay-form';

const base = { name: 'custom', fields: { ticket: [{ from: 'header', name: 'X-Ticket-ID' }] }, relaySubject: 'Re: [T#{{remoteTicketId}}] {{subject}}', relayHeaders: { 'X-Ticket': '{{remoteTicketId}}' } };

describe('relay forms', () => {
  it('a custom profile without relayClose keeps the close as correspondence (outbox kind close, close template, the relay subject)', () => {
    const p = parseProfile(base, 'custom.json');
    expect(relayShape(p, 'close')).toEqual({ kind: 'close', template: 'close', subject: base.relaySubject, headers: base.relayHeaders, firstLines: [] });
    expect(relayShape(p, 'reopen')).toEqual({ kind: 'relay', template: 'relay', subject: base.relaySubject, headers: base.relayHeaders, firstLines: [] });
  });

  it('relayClose and relayReopen give the subject, extra headers and command lines', () => {
    const p = parseProfile({ ...base, relayClose: { headers: { 'X-State': 'closed' }, firstLines: ['Status: resolved'] }, relayReopen: { subject: 'Reopen {{remoteTicketId}}', firstLines: ['Status: open'] } }, 'custom.json');
    expect(relayShape(p, 'close')).toEqual({ kind: 'close', template: 'close', subject: base.relaySubject, headers: { 'X-Ticket': '{{remoteTicketId}}', 'X-State': 'closed' }, firstLines: ['Status: resolved'] });
    expect(relayShape(p, 'reopen')).toMatchObject({ kind: 'relay', subject: 'Reopen {{remoteTicketId}}', firstLines: ['Status: open'] });
    expect(relayShape(p, 'reply')).toMatchObject({ firstLines: [], headers: base.relayHeaders });
  });

  it('relayClose false: a close cannot be said by mail', () => {
    expect(relayShape(parseProfile({ ...base, relayClose: false }, 'custom.json'), 'close')).toBeNull();
  });

  it.each([
    [{ relayClose: true }, /relayClose/],
    [{ relayClose: { firstLines: [] } }, /relayClose\.firstLines/],
    [{ relayClose: { status: 'resolved' } }, /relayClose: unknown key "status"/],
    [{ relayReopen: false }, /relayReopen/],
    [{ relayFrom: '' }, /relayFrom/],
  ])('refuses %j', (extra, message) => {
    expect(() => parseProfile({ ...base, ...extra }, 'custom.json')).toThrow(message);
  });

  it('command lines go above the text and the HTML', () => {
    expect(withFirstLines({ text: 'Done.\n', html: '<p>Done.</p>' }, ['Status: resolved'])).toEqual({ text: 'Status: resolved\n\nDone.\n', html: '<p>Status: resolved</p>\n<p>Done.</p>' });
    expect(withFirstLines({ text: 'Done.\n', html: '<p>Done.</p>' }, [])).toEqual({ text: 'Done.\n', html: '<p>Done.</p>' });
  });
});
