// /healthz and /metrics on DESKBRIDGE_HTTP. Plain node:http: two read-only
// routes do not need a framework. /healthz answers 200 or 503 with a JSON body
// that names every mailbox's state and every problem; /metrics is Prometheus
// text from the bridge's own registry.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Health, MailboxState } from '../ingest/health';

export interface HttpSources {
  health(): Health & { mailboxes: Record<string, MailboxState>; process?: { owner: string; liveProcesses: number } };
  registry: Registry;
}

export function parseHostPort(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  return { host: value.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(i + 1)) };
}

export async function startHttpServer(listen: string, sources: HttpSources): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const health = sources.health();
      const times = new Set(['since', 'downSince', 'retryAt']);
      const body = JSON.stringify(
        { status: health.ok ? 'ok' : 'failing', problems: health.problems, process: health.process, mailboxes: health.mailboxes },
        (key, value: unknown) => (times.has(key) && typeof value === 'number' ? new Date(value).toISOString() : value),
        2,
      );
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(`${body}\n`);
      return;
    }
    if (path === '/metrics') {
      sources.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': sources.registry.contentType }).end(text))
        .catch((err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  const { host, port } = parseHostPort(listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`DESKBRIDGE_HTTP: cannot listen on ${listen}: ${err.message}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  return server;
}
