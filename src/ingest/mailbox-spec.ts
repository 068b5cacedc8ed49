// One mailbox the bridge reads, from an `imap[s]://user:pass@host:port/MAILBOX`
// URL. The key that names it in the cursor table, the ledger and the logs is
// user@host:port/MAILBOX: never the password, and stable when the password
// changes, so a rotated app password does not look like a new mailbox.
export interface MailboxSpec {
  key: string;
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password: string;
  mailbox: string;
}

const DEFAULT_PORTS = { 'imap:': 143, 'imaps:': 993 } as const;

/** Parses one URL the config schema has already checked for its scheme. */
export function parseMailboxUrl(value: string): MailboxSpec {
  const url = new URL(value);
  const scheme = url.protocol as keyof typeof DEFAULT_PORTS;
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[scheme];
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const mailbox = path === '' ? 'INBOX' : path;
  const user = decodeURIComponent(url.username);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    key: `${user}@${host.includes(':') ? `[${host}]` : host}:${port}/${mailbox}`,
    host,
    port,
    secure: scheme === 'imaps:',
    user,
    password: decodeURIComponent(url.password),
    mailbox,
  };
}
