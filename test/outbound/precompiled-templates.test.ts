// The build compiles the packaged templates ahead (dist/precompiled-templates.js,
// src/outbound/render.ts): the compiled program must render exactly what
// compiling at run time renders, and must compile any template whose text
// is not the packaged one (an override, an edited file) itself. Under
// `npm test` the fresh test build (beside DESKBRIDGE_TEST_BIN) holds them;
// vitest alone has none, and says so.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as fromSources from '../../src/outbound/render';

const dist = process.env.DESKBRIDGE_TEST_BIN ? join(dirname(process.env.DESKBRIDGE_TEST_BIN), '..', 'dist') : null;
const present = dist !== null && existsSync(join(dist, 'precompiled-templates.js'));
if (!present) console.warn('!! test/outbound/precompiled-templates.test.ts: no test build (run `npm test`, which makes one): the precompiled templates are NOT checked');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const built = () => require(join(dist!, 'src', 'outbound', 'render.js')) as typeof fromSources;

// data that tells escaping, raw output and every branch apart
const HOSTILE_TICKET = { id: 7, remoteTicketId: '<R&7>', subject: 'Disk "full" <script>x</script> {{a}}', status: 'open', department: 'd', departmentName: 'Host & Co', system: 'billmgr', systemName: 'BILL<manager>', customerEmail: 'c@x.example', customerName: 'Anna "A" <a@x>' };
const cases = (): Array<[fromSources.TemplateName, fromSources.TemplateVars]> => [
  ...fromSources.TEMPLATE_NAMES.map((n): [fromSources.TemplateName, fromSources.TemplateVars] => [n, fromSources.SAMPLES[n]]),
  ['notification', { ticket: HOSTILE_TICKET, message: { event: 'new', from: 'a@x', fromName: '<b>A</b>', text: 'line 1\n{{ticket.id}} & <i>', html: '<p onclick="x">hi</p>' }, replyTo: 'r+tok@x', tag: '[DB#7]' }],
  ['notification-reply', { ticket: HOSTILE_TICKET, message: { event: 'reply', from: 'a@x', fromName: '', text: '', html: '' }, replyTo: 'r@x', tag: '' }],
  ['relay', { ticket: HOSTILE_TICKET, reply: { text: '' }, staff: { address: 's@x', name: '' } }],
  ['staff-notice', { staff: { address: 's@x', name: 'S' }, notice: { reason: '<why>', subject: 'Re: & more', undelivered: true } }],
  ['staff-notice', { ticket: HOSTILE_TICKET, staff: { address: 's@x', name: 'S' }, notice: { reason: 'r', subject: 's' } }],
];

describe.runIf(present)('precompiled templates (compiled build)', () => {
  it('render byte for byte what compiling them at run time renders, and are used for every packaged template', () => {
    const render = built();
    const before = { ...render.templateUse };
    const ahead = render.loadTemplates();
    ahead.check();
    expect(render.templateUse.compiled - before.compiled).toBe(0);
    expect(render.templateUse.precompiled - before.precompiled).toBeGreaterThanOrEqual(2 * fromSources.TEMPLATE_NAMES.length); // each in both kinds, and the partials
    const atRunTime = fromSources.loadTemplates();
    for (const [name, vars] of cases()) expect(ahead.render(name, vars), name).toEqual(atRunTime.render(name, vars));
  });

  it('an override, or a packaged file edited after the build, is compiled from its own text', () => {
    const render = built();
    const work = mkdtempSync(join(tmpdir(), 'deskbridge-precompiled-'));
    try {
      // an override folder: one template changed, one partial copied as it is (the same text: taken precompiled)
      mkdirSync(join(work, 'partials'));
      writeFileSync(join(work, 'notification.txt.hbs'), 'Edited: {{ticket.subject}} {{> ticket-line}}\n');
      copyFileSync(join(fromSources.DEFAULT_TEMPLATES_DIR, 'partials', 'ticket-line.txt.hbs'), join(work, 'partials', 'ticket-line.txt.hbs'));
      const before = { ...render.templateUse };
      const t = render.loadTemplates(undefined, work);
      const out = t.render('notification', { ...fromSources.SAMPLES.notification, ticket: HOSTILE_TICKET });
      expect(out.text.startsWith(`Edited: ${HOSTILE_TICKET.subject} `)).toBe(true);
      expect(render.templateUse.compiled - before.compiled).toBe(1); // the edited file only
      expect(out).toEqual(fromSources.loadTemplates(undefined, work).render('notification', { ...fromSources.SAMPLES.notification, ticket: HOSTILE_TICKET }));
      // a packaged file whose text changed since the build (its copy here, the template folder given as the defaults)
      const pkg = join(work, 'pkg');
      mkdirSync(join(pkg, 'partials'), { recursive: true });
      for (const f of ['notification.txt.hbs', 'notification.html.hbs', 'partials/ticket-line.txt.hbs', 'partials/ticket-line.html.hbs']) copyFileSync(join(fromSources.DEFAULT_TEMPLATES_DIR, f), join(pkg, f));
      writeFileSync(join(pkg, 'notification.html.hbs'), readFileSync(join(pkg, 'notification.html.hbs'), 'utf8').replace('<html>', '<html lang="en">'));
      const edited = render.loadTemplates(pkg).render('notification', fromSources.SAMPLES.notification);
      expect(edited.html).toContain('<html lang="en">');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
