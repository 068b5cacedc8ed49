// How `deskbridge ingest FILE…` batches and reads its files (ingest-files.ts):
// at most 100 files and 32 MiB read a batch, a file past the message limit
// read for its head alone.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BATCH_BYTES, batchBounds, HEAD_BYTES, readMailFile } from '../../src/cli/ingest-files';

const MiB = 1024 * 1024;
const LIMIT = 25 * MiB;

describe('batchBounds', () => {
  it('small files: batches of 100, the last one shorter', () => {
    expect(batchBounds(Array(250).fill(3_000), LIMIT)).toEqual([
      [0, 100],
      [100, 200],
      [200, 250],
    ]);
    expect(batchBounds([], LIMIT)).toEqual([]);
  });

  it('large files: no batch reads more than 32 MiB, unless one file alone is that large', () => {
    const sizes = [20 * MiB, 20 * MiB, 5 * MiB, 5 * MiB, 1_000, 24 * MiB];
    const bounds = batchBounds(sizes, LIMIT);
    expect(bounds).toEqual([
      [0, 1],
      [1, 5],
      [5, 6],
    ]);
    for (const [start, end] of bounds) expect(sizes.slice(start, end).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(BATCH_BYTES);
    // a message limit above the batch's bytes: a file over 32 MiB is a batch of its own
    expect(batchBounds([1_000, 40 * MiB, 1_000], 100 * MiB)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('a file past the message limit counts its head only, however large', () => {
    expect(batchBounds([3 * 1024 * MiB, 1_000, 26 * MiB, 1_000], LIMIT)).toEqual([[0, 4]]);
  });
});

describe('readMailFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deskbridge-ingest-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, bytes: number, head = 'Subject: x\r\n\r\n') => {
    const path = join(dir, name);
    writeFileSync(path, head);
    truncateSync(path, bytes); // the rest zeros (sparse)
    return path;
  };

  it('a file within the limit is read whole, without a size of its own', () => {
    const path = file('small.eml', 5_000);
    const read = readMailFile(path, 5_000);
    expect(read.raw.length).toBe(5_000);
    expect(read.raw.subarray(0, 12).toString()).toBe('Subject: x\r\n');
    expect(read.size).toBeUndefined();
  });

  it('a file past the limit (here 3 GiB) is read for its first 256 KiB, with its size', () => {
    const path = file('huge.eml', 3 * 1024 * MiB);
    const read = readMailFile(path, LIMIT);
    expect(read.raw.length).toBe(HEAD_BYTES);
    expect(read.raw.subarray(0, 12).toString()).toBe('Subject: x\r\n');
    expect(read.size).toBe(3 * 1024 * MiB);
    // one byte over the limit is over it too; a short one past it is read whole (all of it is its head)
    expect(readMailFile(file('just-over.eml', 5_001), 5_000)).toMatchObject({ size: 5_001, raw: expect.objectContaining({ length: 5_001 }) });
  });
});
