// One registry of error codes (as nodemailer keeps one): every error deskbridge
// raises on purpose carries a stable `code` from here, so the CLI, the ledger
// and the logs can tell bad input (the caller must change something, exit 2)
// from a runtime failure (retry may help, exit 1) without parsing messages.

export const ERROR_CODES = {
  // bad input: the caller named something wrong; nothing was changed
  EUSAGE: 'input',
  ECONFIG: 'input',
  ENOTFOUND: 'input',
  EEXISTS: 'input',
  EINVALID: 'input',
  EINUSE: 'input',
  ECONFIRM: 'input',
  EPROFILE: 'input',
  // runtime: the world misbehaved
  EDATABASE: 'runtime',
  EMIGRATION: 'runtime',
  EINTERNAL: 'runtime',
  ELEASE: 'runtime', // another process took over a mailbox's lease
  EIMAP: 'runtime', // the IMAP server did not answer, refused a login, or lost the mailbox
  ETIMEOUT: 'runtime', // a peer stopped answering within its deadline
  EDUPLICATE: 'runtime', // another writer recorded the same mail first (a unique index said so)
  ELIMIT: 'runtime', // a mail past one of the intake's limits (MIME parts, depth, header size, time); the reason names it
  EDNS: 'runtime', // sender authentication got no answer from DNS: the mail is tried again
  ESTOPPED: 'runtime', // the process was stopping: the mail in hand was left for the next start
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DeskbridgeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeskbridgeError';
    this.code = code;
  }

  /** Exit status the CLI uses for this error: 2 for bad input, 1 otherwise. */
  get exitCode(): number {
    return ERROR_CODES[this.code] === 'input' ? 2 : 1;
  }
}

export const inputError = (code: ErrorCode, message: string) => new DeskbridgeError(code, message);

export function isDeskbridgeError(err: unknown): err is DeskbridgeError {
  return err instanceof DeskbridgeError;
}
