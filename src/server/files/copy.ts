import type { FileStorage } from "./storage.js";

/**
 * Copies uploaded files from one storage to another (docs/moving-data.md):
 * the local disk to an S3 store when an installation scales out, one
 * store to another. copy-database runs it after the tables.
 *
 * Resumable without bookkeeping: objects are immutable once stored (a
 * key names one upload's bytes for ever), so an object already on the
 * target with the same size is that object, and is skipped. A put on
 * either backend is whole or absent, so an interrupted copy leaves no
 * half object to mistake for a whole one.
 *
 * Keys and sizes (not bytes) of both sides are held in memory, about a
 * hundred bytes per object; the bytes are streamed, one object per worker.
 */

/** Objects copied at once: a store's latency, not its bandwidth, is what one stream waits on. */
export const DEFAULT_FILE_COPY_CONCURRENCY = 4;

/** Where the copy of files stands, as handed to `onProgress`. */
export interface FileCopyProgress {
  /** Source objects dealt with so far: copied now, or found on the target already. */
  done: number;
  /** Source objects when the copy started. */
  total: number;
  /** Of `done`, those copied by this run. */
  copied: number;
  /** Bytes copied by this run. */
  bytes: number;
  finished: boolean;
}

/** The final check: every source object on the target with its size. */
export interface FileCopyReport {
  /** Objects in the source. */
  source: number;
  /** Source objects found on the target with the same size, after the copy. */
  target: number;
  /** Objects copied by this run (the rest were on the target already). */
  copied: number;
  /** Bytes copied by this run. */
  bytes: number;
  /** At most 20 source keys missing on the target or of another size there. */
  missing: string[];
  ok: boolean;
}

/** The copy finished but the target lacks source objects; `report` says which. */
export class FileCopyCheckError extends Error {
  constructor(readonly report: FileCopyReport) {
    super(`${report.source - report.target} of ${report.source} files are not on the target with their size (first: ${report.missing.join(", ")})`);
    this.name = "FileCopyCheckError";
  }
}

/**
 * Copies every object of `from` that `to` does not hold with the same size,
 * then lists `to` again and checks that every source object is there.
 * @returns the check, with `ok: true`
 * @throws FileCopyCheckError when the check finds an object missing; the
 *   storages' errors (a put or get that fails stops the copy: a rerun
 *   resumes); whatever `onProgress` throws
 */
export async function copyFiles(opts: {
  from: FileStorage;
  to: FileStorage;
  concurrency?: number;
  onProgress?: (progress: FileCopyProgress) => void;
}): Promise<FileCopyReport> {
  const concurrency = opts.concurrency ?? DEFAULT_FILE_COPY_CONCURRENCY;
  const source = await sizesOf(opts.from);
  const present = await sizesOf(opts.to);
  const keys = [...source.keys()];
  const progress: FileCopyProgress = { done: 0, total: keys.length, copied: 0, bytes: 0, finished: keys.length === 0 };
  opts.onProgress?.({ ...progress });

  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < keys.length) {
      const key = keys[next++]!;
      try {
        if (present.get(key) !== source.get(key)) {
          // Awaited first: `bytes += await …` would read `bytes` before the wait and lose the other workers' sums.
          const bytes = await copyObject(opts.from, opts.to, key);
          progress.bytes += bytes;
          progress.copied++;
        }
        progress.done++;
        progress.finished = progress.done === keys.length;
        opts.onProgress?.({ ...progress });
      } catch (err) {
        // The first failure stops every worker after its current object: a rerun goes on from there.
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, keys.length)) }, worker));
  if (failure !== null) throw failure;

  const after = await sizesOf(opts.to);
  const missing = keys.filter((key) => after.get(key) !== source.get(key));
  const report: FileCopyReport = {
    source: keys.length,
    target: keys.length - missing.length,
    copied: progress.copied,
    bytes: progress.bytes,
    missing: missing.slice(0, 20),
    ok: missing.length === 0,
  };
  if (!report.ok) throw new FileCopyCheckError(report);
  return report;
}

/** Every object of a storage: key → size in bytes. */
async function sizesOf(storage: FileStorage): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const { key, size } of storage.list()) sizes.set(key, size);
  return sizes;
}

/**
 * Streams one object across. The type is not kept: Parley serves a file
 * with the type in its `uploads` row, never the store's.
 * @returns its bytes
 * @throws Error when the object went away since the listing
 */
async function copyObject(from: FileStorage, to: FileStorage, key: string): Promise<number> {
  const object = await from.get(key);
  if (!object) throw new Error(`the file ${key} was listed in the source but is gone: is a node still running on it?`);
  const { size } = await to.put(key, object.body, { contentType: "application/octet-stream" });
  return size;
}
