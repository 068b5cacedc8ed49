// A benchmark role in a process of its own (so no two measured things share
// an event loop), whose stdout JSON lines arrive as objects: `until` waits for
// the first line a predicate accepts. Every child is killed by `killAll`, so
// a failed run leaves nothing behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const children = new Set<ChildProcess>();

export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
}

export function benchChild(script: string, args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  const lines: Array<Record<string, unknown>> = [];
  const listeners = new Set<() => void>();
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line));
    for (const l of listeners) l();
  });
  const until = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 60_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const hit = lines.find(pred);
        if (hit) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => reject(new Error(`bench child ${args[0]}: nothing matched in ${timeoutMs} ms; its last lines: ${JSON.stringify(lines.slice(-3))}`)), timeoutMs);
      listeners.add(check);
      check();
    });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return { proc, lines, until, exited };
}

export type BenchChild = ReturnType<typeof benchChild>;
