// One mail's writes inside a batch transaction: a savepoint per mail, so a
// statement the database refuses rolls back that mail's writes alone and the
// batch goes on (on PostgreSQL a refused statement otherwise poisons the
// whole transaction: every later statement fails, the batch is refetched and
// fails again, forever). A mail whose writes fail is then recorded `failed`
// with the error, written so that it cannot fail in turn: the error text is
// cleaned and cut, and if the full row is refused again, the row is written
// bare (no header text taken from the mail).
import type { Knex } from 'knex';
import { isDeskbridgeError } from '../errors';
import type { InboundOutcome } from './inbound';

/** Runs `fn` under a savepoint: released when it succeeds, rolled back to (and rethrown) when it throws. */
export async function underSavepoint<T>(trx: Knex, fn: () => Promise<T>): Promise<T> {
  // A plain SAVEPOINT rather than a knex nested transaction: the same
  // guarantee, without building a transaction object per mail (profiled).
  await trx.raw('SAVEPOINT deskbridge_mail');
  try {
    const result = await fn();
    await trx.raw('RELEASE SAVEPOINT deskbridge_mail');
    return result;
  } catch (err) {
    await trx.raw('ROLLBACK TO SAVEPOINT deskbridge_mail');
    await trx.raw('RELEASE SAVEPOINT deskbridge_mail');
    throw err;
  }
}

const REASON_MAX_CHARS = 2_000; // an error quoting a whole header must not make the ledger row huge

/** An error as ledger text: one line, no control characters or NUL, bounded. */
export function errorText(err: unknown): string {
  let message: string;
  try {
    message = err instanceof Error ? err.message : String(err);
  } catch {
    message = 'unprintable error';
  }
  // eslint-disable-next-line no-control-regex
  const clean = message.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim() || 'error without a message';
  return clean.length > REASON_MAX_CHARS ? `${clean.slice(0, REASON_MAX_CHARS)}…` : clean;
}

/** Whether an error says that trying again is pointless (a mail that overran its deadline would overrun again). */
const isFinal = (err: unknown): boolean => (err as { final?: unknown })?.final === true;

type Write = (outcome: InboundOutcome) => Promise<number>;

/**
 * Records a mail whose processing threw: `failed` (retried on the next run) or
 * `parked_failed` after `maxAttempts`, or at once for a final error. `write`
 * writes the mail's full row; `writeBare` one without text from the mail,
 * tried when the full row is refused too.
 */
/** How the reason of a mail failed by the configuration begins: such mails are retried once the configuration works again. */
export const WAITING_FOR_CONFIG = 'waiting for a configuration fix: ';

export async function recordFailure(
  trx: Knex,
  err: unknown,
  attemptsBefore: number,
  write: Write,
  writeBare: Write,
  maxAttempts: number,
): Promise<{ id: number; outcome: InboundOutcome }> {
  const message = errorText(err);
  const attempts = attemptsBefore + 1;
  const uncounted = isDeskbridgeError(err) && (err.code === 'ECONFIG' || err.code === 'ESTOPPED');
  // The configuration at fault (a template that does not compile), not the mail: it waits, the attempt not counted, for
  // the fix, and is retried with the other failed mails (the next `ingest`, `run`'s retries); never parked for it.
  // A stop in the middle of the mail (ESTOPPED) is no fault of the mail either: it is retried, uncounted, at the next start.
  const outcome: InboundOutcome = uncounted
    ? { state: 'failed', reason: `${err.code === 'ECONFIG' ? WAITING_FOR_CONFIG : 'stopped before it was done: '}${message}`, attempts: attemptsBefore }
    : isFinal(err)
        ? { state: 'parked_failed', reason: `parked: ${message}`, attempts }
        : attempts >= maxAttempts
          ? { state: 'parked_failed', reason: `failed ${attempts} times, parked: ${message}`, attempts }
          : { state: 'failed', reason: `attempt ${attempts} of ${maxAttempts}: ${message}`, attempts };
  try {
    return { id: await underSavepoint(trx, () => write(outcome)), outcome };
  } catch (again) {
    const bare = { ...outcome, reason: `${outcome.reason}; the row was refused too (${errorText(again)}), written without the mail's header text` };
    return { id: await underSavepoint(trx, () => writeBare(bare)), outcome: bare };
  }
}
