// The modules a command needs to do its work, loaded when the command runs
// rather than when the CLI starts: `deskbridge --help` or `map list` must not
// pay for nodemailer, handlebars, imapflow, mailparser and pino (profiled:
// loading all of them took most of a CLI call's start-up). `require` (not
// `import()`) because the CLI runs as CommonJS, compiled or through tsx, and
// is never loaded in-process by the tests; the casts keep the types.
/* eslint-disable @typescript-eslint/no-require-imports */
export const lazy = {
  auth: () => require('../auth/sender-auth') as typeof import('../auth/sender-auth'),
  authPolicy: () => require('../auth/policy') as typeof import('../auth/policy'),
  config: () => require('../config') as typeof import('../config'),
  db: () => require('../store/db') as typeof import('../store/db'),
  bridge: () => require('../bridge') as typeof import('../bridge'),
  classify: () => require('../mail/classify') as typeof import('../mail/classify'),
  doctor: () => require('../doctor') as typeof import('../doctor'),
  ingestHandoff: () => require('./ingest-handoff') as typeof import('./ingest-handoff'),
  ingestSocket: () => require('../ingest/ingest-socket') as typeof import('../ingest/ingest-socket'),
  ingestOutput: () => require('./ingest-results') as typeof import('./ingest-results'),
  extract: () => require('../mail/extract') as typeof import('../mail/extract'),
  log: () => require('../log') as typeof import('../log'),
  // the migrations' modules with it: only `init` and `migrate` run them (every command checks their names, store/schema-check.ts)
  migrate: () => require('../store/migrate') as typeof import('../store/migrate'),
  notify: () => require('../outbound/notify') as typeof import('../outbound/notify'),
  outboxRender: () => require('../outbound/outbox-render') as typeof import('../outbound/outbox-render'),
  outboxWorker: () => require('../outbound/outbox-worker') as typeof import('../outbound/outbox-worker'),
  parseMail: () => require('../mail/parse-mail') as typeof import('../mail/parse-mail'),
  parsePool: () => require('../mail/parse-pool') as typeof import('../mail/parse-pool'),
  pipeline: () => require('../pipeline') as typeof import('../pipeline'),
  relay: () => require('../outbound/relay') as typeof import('../outbound/relay'),
  render: () => require('../outbound/render') as typeof import('../outbound/render'),
};

/** The outbound settings (address, secret, templates) a command that queues mail needs. */
export const outboundOf = (config: import('../config').Config) => lazy.notify().outboundFrom(config, (overrides) => lazy.render().loadTemplates(undefined, overrides));
