import type { Readable } from "node:stream";

/**
 * Where uploaded files' bytes live, behind one interface with two backends
 * (issue 17): the local disk under the data directory (`file:`, the
 * default) and any S3-compatible object store (`s3://`, through
 * @aws-sdk/client-s3). Everything else (who may read a file, its type, its
 * message) is in the database (`uploads`); the storage knows only keys.
 *
 * Keys are made by the server, never from user input: `[a-z0-9/-]` with
 * at most one level of directory (`<2 hex>/<id>`, `<2 hex>/<id>.thumb`),
 * so a key can never name a path outside the store.
 */
export interface FileStorage {
  /** `file` or `s3`: for logs and metrics. */
  readonly kind: "file" | "s3";
  /**
   * Stores `body` under `key`, streamed (never held whole in memory), and
   * resolves once it is durable (the local disk: written, fsynced and
   * renamed into place; S3: the PUT or multipart upload completed). A
   * stream that errors stores nothing.
   * @returns the bytes stored
   */
  put(key: string, body: Readable, opts: { contentType: string }): Promise<{ size: number }>;
  /**
   * A stored object, or a byte range of it (`start`..`end` inclusive, as
   * HTTP's Range). @returns null when there is no such key
   */
  get(key: string, range?: { start: number; end: number }): Promise<{ body: Readable; size: number } | null>;
  /** Removes the keys; a key that is not there is no error. */
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Every key stored under `prefix` with its last-modified time (the
   * sweeper's walk for files nothing refers to) and its size in bytes
   * (copy-database's check that a copied object is whole).
   */
  list(prefix?: string): AsyncIterable<{ key: string; modifiedAt: Date; size: number }>;
  /** Releases connections; nothing is called after it. */
  close(): Promise<void>;
}
