// What `deskbridge ingest` (and `inbox replay`) print: a table of one line
// per mail and a summary, or JSON objects. The results come from this
// process's pipeline or, handed over on the ingest socket, from `run`'s.
import type { ResultLine } from '../ingest/ingest-socket';
import { formatTable } from './output';

export const resultView = (r: ResultLine) => ({ file: r.label, inboundId: r.inboundId, state: r.state, reason: r.reason, ticketId: r.ticketId, system: r.system });

export function summarise(results: ResultLine[]): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return `${results.length} mail(s): ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'nothing to do'}`;
}

export function printResults(results: ResultLine[], json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(results.map(resultView), null, 2)}\n`);
    return;
  }
  if (results.length > 0) {
    process.stdout.write(
      `${formatTable(results, [
        { header: 'FILE', value: (r) => r.label },
        { header: 'STATE', value: (r) => r.state },
        { header: 'TICKET', value: (r) => (r.ticketId ? `#${r.ticketId}` : null) },
        { header: 'REASON', value: (r) => r.reason },
      ])}\n`,
    );
  }
  process.stdout.write(`${summarise(results)}\n`);
}

