// The one pino root logger: JSON lines for machines (journald, Loki), pretty
// on a terminal for people. Components take child loggers with their own
// fields; messages are fixed text with the data in fields, never glued into
// the string. Passwords and secrets are redacted wherever they appear.
import pino, { type Logger } from 'pino';

export type { Logger };

const REDACT = ['password', 'pass', 'secret', '*.password', '*.pass', '*.secret', 'auth.pass', 'config.secret'];

export function createLogger(options: { level: string; pretty?: boolean; destination?: NodeJS.WritableStream }): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && !options.destination);
  // ISO times ("time":"2026-11-30T18:00:00.000Z"), not epoch milliseconds: a person reading journalctl -o cat must not need a converter
  const base = { level: options.level, redact: { paths: REDACT, censor: '****' }, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (pretty) return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'", ignore: 'pid,hostname' } } });
  return options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base); // synchronous stdout: nothing lost on exit
}
