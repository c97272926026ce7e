import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FileStorage } from "./storage.js";

/** What a key may look like (files/storage.ts): server-made, one directory level at most, no dots leading a part. */
const KEY = /^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9.-]*)?$/;
/** Where a `put` writes before its rename into place; leftovers of a crash older than this are removed (ms). */
const STALE_TEMP_MS = 60 * 60 * 1000;
const TEMP_DIR = ".incoming";

/**
 * The local-disk file storage (`--storage-url file:<dir>`, by default
 * `<data-dir>/files`). A `put` streams into a temporary file in the same
 * directory tree, fsyncs it, renames it into place and fsyncs the
 * directory, so an object is either whole or absent after a power cut
 * (the rename is atomic on POSIX file systems; the fsyncs make it durable
 * before the upload is answered, as DESIGN.md invariant 3 asks of messages).
 */
export class DiskStorage implements FileStorage {
  readonly kind = "file" as const;

  private constructor(private readonly root: string) {}

  /** Opens (creating) the directory and removes what crashed puts left behind. */
  static async open(root: string): Promise<DiskStorage> {
    await fs.promises.mkdir(path.join(root, TEMP_DIR), { recursive: true });
    const storage = new DiskStorage(path.resolve(root));
    await storage.removeStaleTemporaries();
    return storage;
  }

  async put(key: string, body: Readable, _opts: { contentType: string }): Promise<{ size: number }> {
    const target = this.pathOf(key);
    const temp = path.join(this.root, TEMP_DIR, `${randomUUID()}.part`);
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    const handle = await fs.promises.open(temp, "wx", 0o600);
    try {
      // The stream owns the handle: `flush` fsyncs it before the stream closes it, and the
      // pipeline settles after that close. (With autoClose: false the stream keeps its
      // reference on the handle, and handle.close() then waits for ever.)
      await pipeline(body, count, handle.createWriteStream({ flush: true }));
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
    const dir = path.dirname(target);
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.rename(temp, target);
    await syncDirectory(dir);
    return { size };
  }

  async get(key: string, range?: { start: number; end: number }): Promise<{ body: Readable; size: number } | null> {
    const file = this.pathOf(key);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    const { size } = await handle.stat();
    // The stream owns the handle from here: it closes it at its end or on destroy. A whole object is read as the
    // range 0..size-1: the stream then ends with its last byte, not one read later, so an HTTP answer streaming it
    // is finished when its client has it all (a node stopping at that moment does not keep the connection).
    const body = handle.createReadStream(range ? { start: range.start, end: range.end } : size > 0 ? { start: 0, end: size - 1 } : {});
    return { body, size };
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await fs.promises.rm(this.pathOf(key), { force: true });
  }

  async *list(prefix = ""): AsyncIterable<{ key: string; modifiedAt: Date; size: number }> {
    const dirs = await fs.promises.readdir(this.root, { withFileTypes: true });
    for (const dir of dirs) {
      if (!dir.isDirectory() || dir.name === TEMP_DIR) continue;
      let names: string[];
      try {
        names = await fs.promises.readdir(path.join(this.root, dir.name));
      } catch {
        continue; // removed meanwhile
      }
      for (const name of names) {
        const key = `${dir.name}/${name}`;
        if (!key.startsWith(prefix)) continue;
        try {
          const stat = await fs.promises.stat(path.join(this.root, key));
          if (stat.isFile()) yield { key, modifiedAt: stat.mtime, size: stat.size };
        } catch {
          // removed meanwhile
        }
      }
    }
  }

  async close(): Promise<void> {}

  /** The file of a key. @throws Error for a key that is not of the server's making (never reached from user input). */
  private pathOf(key: string): string {
    if (!KEY.test(key)) throw new Error(`bad storage key ${JSON.stringify(key)}`);
    return path.join(this.root, key);
  }

  private async removeStaleTemporaries(): Promise<void> {
    const dir = path.join(this.root, TEMP_DIR);
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await fs.promises.readdir(dir)) {
      const file = path.join(dir, name);
      const stat = await fs.promises.stat(file).catch(() => null);
      // Only old ones: with --storage-shared another node may be writing the recent ones.
      if (stat && stat.mtimeMs < cutoff) await fs.promises.rm(file, { force: true });
    }
  }
}

/** fsync of a directory, so a rename into it survives a power cut (POSIX; a no-op where directories cannot be opened). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | null = null;
  try {
    handle = await fs.promises.open(dir, "r");
    await handle.sync();
  } catch {
    // Windows and some file systems refuse: nothing more can be done there.
  } finally {
    await handle?.close();
  }
}
