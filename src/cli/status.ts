// `deskbridge status`: the cluster as the database sees it — which `run`
// processes are alive (heartbeat age, database clock), which mailbox each
// reads, how long ago each mailbox's cursor moved, and the outbox queue.
// Read-only; works from any host that reaches the database.
import type { Command } from 'commander';
import { listCursors } from '../store/cursors';
import { listProcesses } from '../store/processes';
import type { CliContext } from './context';
import { formatTable } from './output';

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('the run processes sharing this database, the mailbox each reads, cursor lag, and the outbox queue')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nA process is alive while its heartbeat is younger than half of DESKBRIDGE_LEASE_SECONDS.\nExample:\n  $ deskbridge status --json')
    .action(async (opts: { json?: boolean }) => {
      const { knex } = await ctx.database();
      const aliveWithinMs = (ctx.config.leaseSeconds * 1000) / 2;
      const cursors = await listCursors(knex);
      const processes = (await listProcesses(knex)).map((p) => ({
        ...p,
        alive: p.heartbeatAgeMs < aliveWithinMs,
        holds: cursors.filter((c) => c.leaseLive && c.leaseOwner === p.owner).map((c) => c.mailbox),
      }));
      const mailboxes = cursors.map((c) => ({
        mailbox: c.mailbox,
        holder: c.leaseLive ? c.leaseOwner : null,
        leaseUntil: c.leaseLive ? c.leaseUntil : null,
        uidvalidity: c.uidvalidity,
        lastUid: c.lastUid,
        cursorMovedAt: c.updatedAt,
        cursorAgeSeconds: Math.round(c.movedAgeMs / 1000),
      }));
      const queue: Array<{ claimed: number | boolean; n: number | string }> = await knex('outbox').select(knex.raw('(claimed_by is not null) as claimed')).count({ n: '*' }).where('state', 'queued').groupByRaw('(claimed_by is not null)');
      const outbox = { queued: queue.reduce((a, r) => a + Number(r.n), 0), claimed: queue.filter((r) => Number(r.claimed) === 1 || r.claimed === true).reduce((a, r) => a + Number(r.n), 0) };
      const live = processes.filter((p) => p.alive).length;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ liveProcesses: live, leaseSeconds: ctx.config.leaseSeconds, processes, mailboxes, outbox }, null, 2)}\n`);
        return;
      }
      const out: string[] = [`processes: ${live} alive of ${processes.length} registered (lease ${ctx.config.leaseSeconds} s)`];
      if (processes.length) {
        out.push(
          formatTable(processes, [
            { header: 'OWNER', value: (p) => p.owner },
            { header: 'HOST', value: (p) => p.host },
            { header: 'PID', value: (p) => p.pid },
            { header: 'ALIVE', value: (p) => (p.alive ? 'yes' : 'no') },
            { header: 'HEARTBEAT', value: (p) => `${(p.heartbeatAgeMs / 1000).toFixed(1)} s ago` },
            { header: 'HOLDS', value: (p) => `${p.holds.length} of ${p.mailboxes}` },
          ]),
        );
      }
      out.push('', `mailboxes: ${mailboxes.length}, ${mailboxes.filter((m) => m.holder).length} read now`);
      if (mailboxes.length) {
        out.push(
          formatTable(mailboxes, [
            { header: 'MAILBOX', value: (m) => m.mailbox },
            { header: 'HOLDER', value: (m) => m.holder ?? 'nobody' },
            { header: 'LAST UID', value: (m) => m.lastUid },
            { header: 'CURSOR MOVED', value: (m) => `${m.cursorAgeSeconds} s ago` },
          ]),
        );
      }
      out.push('', `outbox: ${outbox.queued} queued, ${outbox.claimed} being sent`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
