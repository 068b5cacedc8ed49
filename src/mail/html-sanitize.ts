// The HTML copy of a message we keep and show: sanitize-html with an
// allowlist — no script, no event handlers, no style sheets, and no remote
// loads (images only from cid: attachments or inline data:), so opening a
// ticket never phones home or runs a remote sender's code.
// Bounded work: the sanitiser's time grows faster than linearly with nesting
// (1 MB of nested <div> took 31 s), so the HTML is cut to MAX_HTML_CHARS
// first and tags nested past MAX_HTML_DEPTH are dropped (their text kept).
// The mail's text part is kept whole either way; the HTML copy is for show.
// sanitize-html loads at the first use (loadSanitizer): where a parse pool
// works, only its worker sanitises.
import type sanitizeHtml from 'sanitize-html';
import { loadOnce } from '../load-once';
import { vendored } from '../vendor';

export const MAX_HTML_CHARS = 200_000; // a support mail's HTML is tens of KB; past this it is a newsletter or an attack
export const MAX_HTML_DEPTH = 64; // real mail nests tables a dozen deep

const options = (defaults: sanitizeHtml.IDefaults): sanitizeHtml.IOptions => ({
  allowedTags: [...defaults.allowedTags, 'img', 'span', 'font', 'center'],
  allowedAttributes: {
    a: ['href', 'name', 'title'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    td: ['colspan', 'rowspan', 'align', 'valign'],
    th: ['colspan', 'rowspan', 'align', 'valign'],
    '*': ['dir', 'lang'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['cid', 'data'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nestingLimit: MAX_HTML_DEPTH,
});

/* eslint-disable @typescript-eslint/no-require-imports */
const sanitizer = loadOnce(() => {
  const sanitize = vendored('mail', () => require('sanitize-html') as typeof sanitizeHtml, 'sanitizeHtml');
  const opts = options(sanitize.defaults);
  return (html: string) => sanitize(html, opts);
});

/** Loads sanitize-html now (the parse pool's worker, at its start). */
export const loadSanitizer = (): void => void sanitizer();

export function sanitizeMailHtml(html: string): string {
  return sanitizer()(html.length > MAX_HTML_CHARS ? html.slice(0, MAX_HTML_CHARS) : html);
}
