// Renders the bridge's outgoing mail from templates/ (handlebars). Each file
// is compiled in strict mode and rendered once against a full sample of the
// documented variables (templates/README.md), so a syntax error or an unknown
// variable is found naming the file and the line: by `run` and `doctor` at
// start, for all of them (check()), never at a send. Data is only ever passed
// as variables: a body that contains `{{…}}` stays text.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type Handlebars from 'handlebars';
import { DeskbridgeError } from '../errors';
import { packageRoot } from '../package-root';
import { vendored } from '../vendor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const handlebars = () => vendored('handlebars', () => require('handlebars') as typeof Handlebars);

// notification: a new ticket; notification-reply: the customer wrote again; notification-closed: the remote side closed it
export const TEMPLATE_NAMES = ['notification', 'notification-reply', 'notification-closed', 'relay', 'close', 'staff-notice'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
const MAX_SUBJECT_TEMPLATES = 1000;
export const DEFAULT_TEMPLATES_DIR = join(packageRoot(), 'templates');

export interface TicketVars {
  id: number;
  remoteTicketId: string;
  subject: string;
  status: string;
  department: string;
  departmentName: string;
  system: string;
  systemName: string;
  customerEmail: string;
  customerName: string;
}

export interface TemplateVars {
  /** Absent only in a staff notice about a reply that named no ticket. */
  ticket?: TicketVars;
  message?: { event: string; from: string; fromName: string; text: string; html: string };
  reply?: { text: string };
  staff?: { address: string; name: string };
  replyTo?: string;
  tag?: string;
  /** Why a staff member's reply was not relayed, and which reply (staff-notice). */
  notice?: { reason: string; subject: string; undelivered?: boolean };
}

const SAMPLE_TICKET: TicketVars = { id: 1, remoteTicketId: 'R1', subject: 's', status: 'open', department: 'd', departmentName: 'D', system: 'x', systemName: 'X', customerEmail: 'c@x', customerName: 'C' };
/** Every documented variable, for the start-up render: strict mode throws on any other name. */
export const SAMPLES: Record<TemplateName, TemplateVars> = {
  notification: { ticket: SAMPLE_TICKET, message: { event: 'new', from: 'f@x', fromName: 'F', text: 't', html: '<p>t</p>' }, replyTo: 'r@x', tag: '[DB#1]' },
  'notification-reply': { ticket: SAMPLE_TICKET, message: { event: 'reply', from: 'f@x', fromName: 'F', text: 't', html: '<p>t</p>' }, replyTo: 'r@x', tag: '[DB#1]' },
  'notification-closed': { ticket: SAMPLE_TICKET, message: { event: 'closed', from: 'f@x', fromName: 'F', text: 't', html: '<p>t</p>' }, replyTo: 'r@x', tag: '[DB#1]' },
  relay: { ticket: SAMPLE_TICKET, reply: { text: 't' }, staff: { address: 's@x', name: 'S' } },
  close: { ticket: SAMPLE_TICKET, reply: { text: 't' }, staff: { address: 's@x', name: 'S' } },
  'staff-notice': { staff: { address: 's@x', name: 'S' }, notice: { reason: 'r', subject: 's' } },
};

export interface Rendered {
  text: string;
  html: string;
}

/** Header values (a subject) never carry CR or LF, whatever the template or the data held. */
export const headerValue = (value: string) => value.replace(/[\r\n]+\s*/g, ' ').trim();

/**
 * One handlebars environment per output kind. Handlebars compiles a partial
 * registered as text on first use, with the options of whichever template
 * used it first, and caches it: with one environment the `.txt` render (no
 * escaping) came first and the HTML part of every notification printed its
 * partials' variables raw. So text and HTML each get their own environment,
 * and each compiles its partials itself, with its own escaping, at load time.
 * `partials/NAME.hbs` serves both; `NAME.txt.hbs` / `NAME.html.hbs` serve one
 * (and win over NAME.hbs there), for what must be written differently in
 * HTML, such as an address in angle brackets. Folders later in `dirs` (the
 * DESKBRIDGE_TEMPLATES overrides) win over earlier ones, partial by partial.
 */
type Kind = 'text' | 'html';
const compileOptions = (kind: Kind) => ({ strict: true, noEscape: kind === 'text', knownHelpers: { eq: true }, knownHelpersOnly: false });

/**
 * The packaged templates, compiled ahead by the build (scripts/build.mjs
 * writes OUT/precompiled-templates.js from precompiledModule()): compiling a
 * notification's two templates was ~25 ms of a single piped mail, on its
 * critical path. A file is taken from there only when its text is the one
 * compiled (an edited template, an override, is compiled here as before),
 * and the sample render below checks it all the same.
 */
type TemplateSpec = ReturnType<typeof Handlebars.precompile>; // handlebars' own type, global in its typings
interface PrecompiledEntry {
  kind: Kind;
  source: string;
  spec: TemplateSpec;
}
const PRECOMPILED_FILE = extname(__filename) === '.js' ? join(__dirname, '..', '..', 'precompiled-templates.js') : null; // dist/src/outbound/ → dist/
let precompiled: Map<string, TemplateSpec> | null | undefined;
export const templateUse = { precompiled: 0, compiled: 0 }; // how this process got its templates (tests)

function compileSource(hb: typeof Handlebars, source: string, kind: Kind): Handlebars.TemplateDelegate {
  if (precompiled === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entries = PRECOMPILED_FILE && existsSync(PRECOMPILED_FILE) ? (require(PRECOMPILED_FILE) as PrecompiledEntry[]) : [];
    precompiled = entries.length > 0 ? new Map(entries.map((e) => [`${e.kind}\0${e.source}`, e.spec])) : null;
  }
  const spec = precompiled?.get(`${kind}\0${source}`);
  if (spec) {
    templateUse.precompiled++;
    return hb.template(spec);
  }
  templateUse.compiled++;
  return hb.compile(source, compileOptions(kind));
}

/** The source of OUT/precompiled-templates.js: every template and partial under `dir`, in each kind it serves, compiled with the options used here. */
export function precompiledModule(dir = DEFAULT_TEMPLATES_DIR): string {
  const hb = handlebars();
  const entries: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(d, f.name);
      if (f.isDirectory()) walk(path);
      else if (f.name.endsWith('.hbs')) {
        const kinds: Kind[] = f.name.endsWith('.txt.hbs') ? ['text'] : f.name.endsWith('.html.hbs') ? ['html'] : ['text', 'html'];
        const source = readFileSync(path, 'utf8');
        for (const kind of kinds) entries.push(`  { kind: ${JSON.stringify(kind)}, source: ${JSON.stringify(source)}, spec: ${hb.precompile(source, compileOptions(kind))} },`);
      }
    }
  };
  walk(dir);
  return `// Written by scripts/build.mjs (precompiledModule() in src/outbound/render.ts) from templates/: do not edit.\nmodule.exports = [\n${entries.join('\n')}\n];\n`;
}

function environment(dirs: string[], kind: Kind): typeof Handlebars {
  const hb = handlebars().create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const own = `.${kind === 'text' ? 'txt' : 'html'}.hbs`;
  const other = kind === 'text' ? '.html.hbs' : '.txt.hbs';
  for (const dir of dirs) {
    const partials = join(dir, 'partials');
    if (!existsSync(partials)) continue;
    const files = readdirSync(partials).filter((f) => f.endsWith('.hbs'));
    const shared = files.filter((f) => !f.endsWith(own) && !f.endsWith(other));
    for (const file of [...shared, ...files.filter((f) => f.endsWith(own))]) {
      const name = file.endsWith(own) ? basename(file, own) : basename(file, '.hbs');
      try {
        hb.registerPartial(name, compileSource(hb, readFileSync(join(partials, file), 'utf8'), kind));
      } catch (err) {
        throw new DeskbridgeError('ECONFIG', `template ${join(partials, file)}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
    }
  }
  return hb;
}

/** The notification template for a remote event: a new ticket, a customer's reply, a closing. */
export const notificationTemplate = (event: string): TemplateName => (event === 'reply' ? 'notification-reply' : event === 'closed' ? 'notification-closed' : 'notification');

function compileFile(hb: typeof Handlebars, path: string, name: TemplateName, kind: Kind): Handlebars.TemplateDelegate {
  try {
    const template = compileSource(hb, readFileSync(path, 'utf8'), kind);
    template(SAMPLES[name]); // compile now (handlebars is lazy) and meet every variable once
    if (name === 'staff-notice') template({ ...SAMPLES[name], notice: { ...SAMPLES[name].notice!, undelivered: true } }); // and its other branch: it is taken only when a relay is dead
    return template;
  } catch (err) {
    const e = err as Error & { lineNumber?: number };
    const line = e.lineNumber ?? /(\d+):\d+/.exec(e.message)?.[1] ?? /line (\d+)/.exec(e.message)?.[1];
    const text = e.message.split('\n')[0]!.replace(/ in \[object Object\]/g, ''); // handlebars' strict mode names the data object so
    throw new DeskbridgeError('ECONFIG', `template ${path}${line ? ` line ${line}` : ''}: ${text}`, { cause: err });
  }
}

/**
 * The templates of `dir` and each system's overrides under
 * dir/systems/<slug>/. `overrides` (DESKBRIDGE_TEMPLATES) is a folder laid
 * out the same way whose files win one by one, so local edits live outside
 * the package and survive upgrades. A template is compiled (and rendered
 * once against the samples) at its first use, which throws ECONFIG naming
 * the file and line; `check()` compiles them all now: `run` and `doctor`
 * call it at start, so a bad template stops them before any mail. A
 * single-mail `ingest` (an MTA pipe) compiles the one it renders: compiling
 * all twelve was a fifth of its start-up. A mail whose template fails there
 * is recorded `failed` with that error and retried once it is fixed.
 */
export function loadTemplates(dir = DEFAULT_TEMPLATES_DIR, overrides?: string) {
  if (overrides && !existsSync(overrides)) throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_TEMPLATES: the folder ${overrides} does not exist`);
  const dirs = overrides ? [dir, overrides] : [dir];
  const hb = { text: environment(dirs, 'text'), html: environment(dirs, 'html') };
  const at = (rel: string) => (overrides && existsSync(join(overrides, rel)) ? join(overrides, rel) : join(dir, rel));
  const slugs = new Set(dirs.flatMap((d) => (existsSync(join(d, 'systems')) ? readdirSync(join(d, 'systems')) : [])));
  const compiled = new Map<string, Handlebars.TemplateDelegate>();
  const chosen = new Map<string, Handlebars.TemplateDelegate>(); // by system, name and kind: the files are read once (an edit needs a restart)
  /** The template NAME of one kind for a system: its own file under systems/<slug>/ when there is one, else the default. */
  const template = (slug: string | null, name: TemplateName, kind: Kind): Handlebars.TemplateDelegate => {
    const owner = slug !== null && slugs.has(slug) ? slug : null; // a system without a folder of its own uses the defaults
    const key = `${owner ?? ''}/${name}/${kind}`;
    let t = chosen.get(key);
    if (!t) {
      t = choose(owner, name, kind);
      chosen.set(key, t); // bounded by the folders: one entry per name and kind, per system with templates of its own
    }
    return t;
  };
  const choose = (slug: string | null, name: TemplateName, kind: Kind): Handlebars.TemplateDelegate => {
    const file = `${name}.${kind === 'text' ? 'txt' : 'html'}.hbs`;
    const own = slug !== null ? at(join('systems', slug, file)) : null;
    const path = own && existsSync(own) ? own : at(file);
    let t = compiled.get(path);
    if (!t) {
      if (!existsSync(path)) throw new DeskbridgeError('ECONFIG', `template ${path} is missing`);
      t = compileFile(hb[kind], path, name, kind);
      compiled.set(path, t);
    }
    return t;
  };
  const subjects = new Map<string, Handlebars.TemplateDelegate>();
  return {
    render(name: TemplateName, vars: TemplateVars): Rendered {
      const slug = vars.ticket?.system ?? null;
      return { text: template(slug, name, 'text')(vars), html: template(slug, name, 'html')(vars) };
    },
    /** Compiles the two files (text, HTML) `render(name, …)` uses for a ticket of this system, now; throws ECONFIG naming a bad one. */
    ready(name: TemplateName, system: string | null): void {
      template(system, name, 'text');
      template(system, name, 'html');
    },
    /** A profile's relaySubject (or relayHeaders value), compiled strictly once per text; CR/LF removed from the result. */
    subject(source: string, vars: Record<string, unknown>): string {
      let compiledSubject = subjects.get(source);
      if (!compiledSubject) {
        compiledSubject = hb.text.compile(source, { strict: true, noEscape: true });
        if (subjects.size < MAX_SUBJECT_TEMPLATES) subjects.set(source, compiledSubject); // profiles are few; the bound is a guard
      }
      return headerValue(compiledSubject(vars));
    },
    /** Compiles every template (the defaults, then each system's); throws ECONFIG at the first bad one. Returns how many files that is. */
    check(): number {
      for (const slug of [null, ...slugs]) for (const name of TEMPLATE_NAMES) for (const kind of ['text', 'html'] as const) template(slug, name, kind);
      return compiled.size;
    },
  };
}

export type Templates = ReturnType<typeof loadTemplates>;
