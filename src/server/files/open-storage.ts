import fs from "node:fs";
import path from "node:path";
import type { Config } from "../config.js";
import type { FileStorage } from "./storage.js";
import { DiskStorage } from "./disk.js";

/**
 * The file storage `config.storageUrl` names: `file:<dir>` (the local
 * disk, created if missing) or `s3://bucket[/prefix]` (an S3-compatible
 * store, checked to answer: S3Storage.open).
 * @param opts.mustExist refuse a `file:` directory that does not exist
 *   (copy-database's source: an empty new directory would "copy" nothing)
 * @throws Error when the directory cannot be made (or, with `mustExist`,
 *   is missing) or the store not reached, with a sentence naming what to fix
 */
export async function openFileStorage(
  config: Pick<Config, "storageUrl" | "s3Endpoint" | "s3Region" | "s3ForcePathStyle">,
  opts: { mustExist?: boolean } = {},
): Promise<FileStorage> {
  if (config.storageUrl.startsWith("file:")) {
    const dir = path.resolve(config.storageUrl.slice("file:".length));
    if (opts.mustExist && !fs.existsSync(dir)) throw new Error(`the directory ${dir} does not exist`);
    return DiskStorage.open(dir);
  }
  // Loaded only when chosen: the AWS SDK is large, and a node on the local disk never needs it.
  const { S3Storage } = await import("./s3.js");
  return S3Storage.open(config);
}
