// How `deskbridge ingest FILE…` reads its files: in batches (one transaction
// each, the next read and parsed while one is written) of at most 100 files
// and 32 MiB read, the bounds the IMAP reader fetches by (fetch-plan.ts),
// counted on the bytes actually read (a file may have grown since it was
// checked). A file past the message limit (DESKBRIDGE_MAX_MESSAGE_BYTES) is
// read for its first 256 KiB alone, its header block, as the IMAP reader
// fetches such a mail's header only: the pipeline records it too_large with
// its headers and its full size. Read whole, a batch of files at the limit
// held gigabytes, and a file past 2 GiB stopped the call (Node reads no more
// into one Buffer).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { DeskbridgeError } from '../errors';
import { BATCH_BYTES } from '../ingest/fetch-plan';
import { MAX_HEADER_BYTES } from '../mail/header-bound';
import { terminalText } from './output';

export { BATCH_BYTES };
export const BATCH_FILES = 100; // mails per commit: past SQLite's per-commit ceiling, small enough to keep memory flat
export const RAMP_FILES = 25; // the first batch, and the smallest near the end (fileBatches)
export const HEAD_BYTES = MAX_HEADER_BYTES; // what a too-large mail keeps (decide.ts headerBlock)

export interface ReadFile {
  file: string;
  raw: Buffer;
  /** The file's size when `raw` is its head alone (it is past the message limit). */
  size?: number;
}

/** Up to `limit` bytes from the start of an open file (fewer at its end). */
function readHead(fd: number, limit: number): Buffer {
  const buffer = Buffer.allocUnsafeSlow(limit);
  let got = 0;
  while (got < limit) {
    const n = readSync(fd, buffer, got, limit - got, got);
    if (n === 0) break;
    got += n;
  }
  return got === limit ? buffer : buffer.subarray(0, got);
}

/**
 * A mail file's bytes; for one past the message limit, its head, with the
 * file's size (the pipeline then records it too_large and keeps the headers).
 * Never reads more than the limit and one byte, whatever the file does
 * between being checked and read; a file that is no longer a regular file
 * (a FIFO put in its place would block the open) is refused.
 */
export function readMailFile(file: string, maxMessageBytes: number): { raw: Buffer; size?: number } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' });
    if (st.size > maxMessageBytes) return { raw: readHead(fd, Math.min(st.size, HEAD_BYTES)), size: st.size };
    let raw = readHead(fd, st.size + 1); // one byte more: a file that grew since shows it
    if (raw.length > st.size) raw = readHead(fd, maxMessageBytes + 1); // it did: read on, up to the limit and one byte
    if (raw.length <= maxMessageBytes) return { raw };
    return { raw: Buffer.from(raw.subarray(0, HEAD_BYTES)), size: Math.max(raw.length, fstatSync(fd).size) };
  } finally {
    closeSync(fd);
  }
}

/**
 * The files read in batches, in order: each call gives the next batch, null
 * after the last. A batch holds at most `limits.files` files and
 * `limits.bytes` read, counted on what was read; a file that alone is past
 * that is a batch of its own. A file that cannot be read throws EINVALID
 * naming it (the batches before it are the caller's to write).
 *
 * With `limits.ramp`, the first batch holds that many files, each next one
 * twice as many up to `limits.files`, and near the end a batch takes half of
 * the files left (not fewer than `ramp`): the parse worker and the thread
 * that writes wait for each other at the start (for the first batch's parse)
 * and at the end (for the last batch's write), each about as long as one
 * batch takes on the other side (profiled: ~60 ms of a 2,500-file call at
 * the start alone).
 */
export function fileBatches(files: readonly string[], maxMessageBytes: number, limits: { files: number; bytes: number; ramp?: number } = { files: BATCH_FILES, bytes: BATCH_BYTES, ramp: RAMP_FILES }): () => ReadFile[] | null {
  let next = 0;
  const ramp = Math.max(1, Math.min(limits.ramp ?? limits.files, limits.files));
  let size = ramp; // this batch's files at most, before the end comes near
  let carried: ReadFile | null = null; // read, but past the batch it was read for: the first of the next
  const readOne = (file: string): ReadFile => {
    try {
      return { file, ...readMailFile(file, maxMessageBytes) };
    } catch (err) {
      throw new DeskbridgeError('EINVALID', `ingest: cannot read "${terminalText(file)}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return () => {
    const batch: ReadFile[] = [];
    let bytes = 0;
    const left = files.length - next + (carried ? 1 : 0);
    const most = Math.min(size, Math.max(ramp, Math.ceil(left / 2)));
    size = Math.min(limits.files, size * 2);
    while (batch.length < most) {
      const item: ReadFile | null = carried ?? (next < files.length ? readOne(files[next++]!) : null);
      carried = null;
      if (!item) break;
      if (batch.length > 0 && bytes + item.raw.length > limits.bytes) {
        carried = item;
        break;
      }
      batch.push(item);
      bytes += item.raw.length;
    }
    return batch.length > 0 ? batch : null;
  };
}
