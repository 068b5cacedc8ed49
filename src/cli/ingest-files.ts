// How `deskbridge ingest FILE…` reads its files: in batches (one transaction
// each, the next read and parsed while one is written) of at most 100 files
// and 32 MiB read, the bounds the IMAP reader fetches by (fetch-plan.ts). A
// file past the message limit (DESKBRIDGE_MAX_MESSAGE_BYTES) is read for its
// first 256 KiB alone, its header block, as the IMAP reader fetches such a
// mail's header only: the pipeline records it too_large with its headers and
// its full size. Read whole, a batch of files at the limit held gigabytes,
// and a file past 2 GiB stopped the call (Node reads no more into one Buffer).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const BATCH_FILES = 100; // mails per commit: past SQLite's per-commit ceiling, small enough to keep memory flat
export const BATCH_BYTES = 32 * 1024 * 1024;
export const HEAD_BYTES = 256 * 1024; // what a too-large mail keeps (decide.ts headerBlock)

/** The bytes a file costs to read: all of it within the message limit, else its head. */
const readCost = (size: number, maxMessageBytes: number) => (size > maxMessageBytes ? Math.min(size, HEAD_BYTES) : size);

/**
 * The batches of files with these sizes, as [start, end) index pairs, in
 * order: at most `files` files and `bytes` read each; a file that alone is
 * over `bytes` (below a message limit that high) is a batch of its own.
 */
export function batchBounds(sizes: readonly number[], maxMessageBytes: number, limits: { files: number; bytes: number } = { files: BATCH_FILES, bytes: BATCH_BYTES }): Array<[number, number]> {
  const bounds: Array<[number, number]> = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < sizes.length; i++) {
    const cost = readCost(sizes[i]!, maxMessageBytes);
    if (i > start && (i - start >= limits.files || bytes + cost > limits.bytes)) {
      bounds.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += cost;
  }
  if (start < sizes.length) bounds.push([start, sizes.length]);
  return bounds;
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
 * between being measured and read.
 */
export function readMailFile(file: string, maxMessageBytes: number): { raw: Buffer; size?: number } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxMessageBytes) return { raw: readHead(fd, Math.min(size, HEAD_BYTES)), size };
    let raw = readHead(fd, Math.min(size, maxMessageBytes) + 1); // one byte more: a file that grew since shows it
    if (raw.length > size) raw = readHead(fd, maxMessageBytes + 1); // it did: read on, up to the limit and one byte
    if (raw.length <= maxMessageBytes) return { raw };
    return { raw: Buffer.from(raw.subarray(0, HEAD_BYTES)), size: raw.length };
  } finally {
    closeSync(fd);
  }
}
