// How much to fetch at once and how long to wait for it. One fixed 60 s
// deadline for a fetch of up to 100 mails / 32 MB timed out forever on a slow
// link: the same batch was fetched again and again. Now the deadline scales
// with the batch (per mail and per MB), and a batch that times out is tried
// again at half the size, down to one mail; a single mail that still cannot
// be fetched is recorded (parked_failed, naming its UID) and passed over, so
// the mails after it go on. Pure: the session keeps the state between
// connections and asks here what to do.
/** Bytes fetched (or, by `ingest FILE…`, read) for one batch at most: a run of large mails stays in bounds (one mail always fits). */
export const BATCH_BYTES = 32 * 1024 * 1024;
export const FETCH_BASE_MS = 30_000; // round trips and a server that is slow to start
export const FETCH_PER_MAIL_MS = 1_000; // per mail: the server reads it from disk
export const FETCH_PER_MB_MS = 10_000; // per MB: 0.8 Mbit/s is the slowest link we wait for

/** The deadline for fetching these mails. */
export function fetchDeadlineMs(mails: number, bytes: number): number {
  return FETCH_BASE_MS + mails * FETCH_PER_MAIL_MS + Math.ceil((bytes / (1024 * 1024)) * FETCH_PER_MB_MS);
}

/** Kept by the mailbox reader across connections. */
export interface FetchState {
  /** The most mails fetched at once now (starts at the batch size). */
  maxMails: number;
}

export type TimeoutPlan = { action: 'retry-smaller'; maxMails: number } | { action: 'record-unfetchable' };

/** After a fetch of `batchLength` mails timed out: try again with half, or give up on the one mail. */
export function afterTimeout(batchLength: number): TimeoutPlan {
  return batchLength > 1 ? { action: 'retry-smaller', maxMails: Math.max(1, Math.floor(batchLength / 2)) } : { action: 'record-unfetchable' };
}

/** After a fetch that came back in time: grow again towards the batch size. */
export const afterSuccess = (state: FetchState, batchSize: number): number => Math.min(batchSize, state.maxMails * 2);
