// Every shipped template rendered with hostile values: nothing a remote
// system or a customer writes may become markup in the HTML part, and the
// customer's address must stay visible there.
import { describe, expect, it } from 'vitest';
import { sanitizeMailHtml } from '../../src/mail/html-sanitize';
import { loadTemplates, SAMPLES, TEMPLATE_NAMES, type TemplateName, type TemplateVars } from '../../src/outbound/render';

const HOSTILE = '<img src=x onerror=alert(1)>\r\nBcc: x@evil.example {{ticket.id}} "\'&';

/** Every string in the sample replaced by the hostile value; message.html is what the pipeline gives it: sanitised HTML, or empty. */
function hostile(vars: TemplateVars, withHtml: boolean): TemplateVars {
  const walk = (v: unknown): unknown =>
    typeof v === 'string' ? HOSTILE : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)])) : v;
  const out = walk(vars) as TemplateVars;
  if (out.message) out.message.html = withHtml ? sanitizeMailHtml(`<p>body</p><script>alert(1)</script>`) : '';
  return out;
}

const tags = (html: string) => (html.match(/</g) ?? []).length;

describe('templates with hostile values', () => {
  const t = loadTemplates();
  it.each(TEMPLATE_NAMES.flatMap((name): [TemplateName, boolean][] => (name === 'notification' ? [[name, true], [name, false]] : [[name, false]])))(
    '%s (sanitised HTML body: %s): the HTML part gains no markup, the text part keeps the words',
    (name, withHtml) => {
      const bad = hostile(SAMPLES[name], withHtml);
      const benign = t.render(name, { ...SAMPLES[name], ...(bad.message ? { message: { ...SAMPLES[name].message!, html: bad.message.html } } : {}) });
      const out = t.render(name, bad);
      // the hostile values add not one '<' to the HTML part: every tag in it is the template's own (or the sanitiser's)
      expect(tags(out.html)).toBe(tags(benign.html));
      expect(out.html).not.toMatch(/<img/i);
      expect(out.html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
      expect(out.text).toContain('<img src=x onerror=alert(1)>');
      expect(out.text).toContain('{{ticket.id}}'); // data is never evaluated
    },
  );

  it('the HTML notification shows the customer address, escaped, with its name', () => {
    const out = t.render('notification', { ...SAMPLES.notification, ticket: { ...SAMPLES.notification.ticket!, customerName: 'Ann <b>', customerEmail: 'ann@customer.example' } });
    expect(out.html).toContain('Ann &lt;b&gt; &lt;ann@customer.example&gt;');
    expect(out.text).toContain('Ann <b> <ann@customer.example>');
  });

  it('the text part is rendered first and still does not decide the HTML escaping of partials', () => {
    const vars = { ...SAMPLES.notification, ticket: { ...SAMPLES.notification.ticket!, customerName: '<img src=x onerror=alert(1)>' } };
    const fresh = loadTemplates();
    fresh.render('notification', vars); // text then HTML, as every send does
    expect(fresh.render('notification', vars).html).not.toMatch(/<img/i);
  });
});
