// How `deskbridge ingest FILE…` batches and reads its files (ingest-files.ts):
// at most 100 files (fewer at the start and the end) and 32 MiB read a batch,
// counted on what was read, a file past the message limit read for its head alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BATCH_BYTES, fileBatches, HEAD_BYTES, readMailFile, type ReadFile } from '../../src/cli/ingest-files';

const MiB = 1024 * 1024;
const LIMIT = 25 * MiB;

describe('fileBatches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deskbridge-file-batches-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = (sizes: number[]) =>
    sizes.map((size, i) => {
      const path = join(dir, `f${sizes.length}-${i}.eml`);
      writeFileSync(path, 'x'.repeat(size));
      return path;
    });
  const all = (next: () => ReadFile[] | null) => {
    const batches: ReadFile[][] = [];
    for (let b = next(); b; b = next()) batches.push(b);
    return batches;
  };

  it('small files: in order, 25 first, doubling up to 100, and near the end half of what is left (not under 25)', () => {
    const paths = files(Array(400).fill(300));
    const batches = all(fileBatches(paths, LIMIT));
    // 25 + 50 + 100 + 100 = 275; 125 left: 63, then 62 left: 31, then 31 left: 25, then the 6 left
    expect(batches.map((b) => b.length)).toEqual([25, 50, 100, 100, 63, 31, 25, 6]);
    expect(batches.flat().map((f) => f.file)).toEqual(paths);
    expect(all(fileBatches(paths.slice(0, 30), LIMIT)).map((b) => b.length)).toEqual([25, 5]);
    // a ramp of 0 would be a first batch of none (taken for the end): it is one file
    expect(all(fileBatches(paths.slice(0, 4), LIMIT, { files: 100, bytes: BATCH_BYTES, ramp: 0 })).flat().length).toBe(4);
    expect(all(fileBatches([], LIMIT))).toEqual([]);
  });

  it('without a ramp, batches of the limit in order, the last one shorter', () => {
    const paths = files(Array(250).fill(300));
    const batches = all(fileBatches(paths, LIMIT, { files: 100, bytes: BATCH_BYTES }));
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat().map((f) => f.file)).toEqual(paths);
  });

  it('no batch reads more than its bytes, counted on what was read, unless one file alone is that large', () => {
    const KiB = 1024;
    const limits = { files: 100, bytes: 32 * KiB };
    const sizes = [20 * KiB, 20 * KiB, 5 * KiB, 5 * KiB, 1_000, 24 * KiB, 40 * KiB, 10];
    const batches = all(fileBatches(files(sizes), 64 * KiB, limits));
    expect(batches.map((b) => b.map((f) => f.raw.length))).toEqual([[20 * KiB], [20 * KiB, 5 * KiB, 5 * KiB, 1_000], [24 * KiB], [40 * KiB], [10]]);
    // past the message limit a file counts its head only: here, all of it is its head (it is shorter than 256 KiB)
    const over = all(fileBatches(files([30 * KiB, 30 * KiB]), 25 * KiB, limits));
    expect(over.map((b) => b.map((f) => f.size))).toEqual([[30 * KiB], [30 * KiB]]);
  });

  it('a file gone since it was listed stops the reading with a line naming it; the batches before it were given', () => {
    const paths = files([10, 10, 10]);
    rmSync(paths[2]!);
    const next = fileBatches(paths, LIMIT, { files: 2, bytes: BATCH_BYTES });
    expect(next()!.map((f) => f.file)).toEqual(paths.slice(0, 2));
    expect(() => next()).toThrow(`ingest: cannot read "${paths[2]}": ENOENT`);
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

  it('a FIFO put where a file was is refused at once, not waited on', () => {
    const fifo = join(dir, 'fifo.eml');
    execFileSync('mkfifo', [fifo]);
    expect(() => readMailFile(fifo, LIMIT)).toThrow('not a file');
  });
});
