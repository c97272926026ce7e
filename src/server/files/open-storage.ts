import path from "node:path";
import type { Config } from "../config.js";
import type { FileStorage } from "./storage.js";
import { DiskStorage } from "./disk.js";

/**
 * The file storage `config.storageUrl` names: `file:<dir>` (the local
 * disk) or `s3://bucket[/prefix]` (an S3-compatible store).
 * @throws Error when the directory cannot be made or the store not reached
 */
export async function openFileStorage(config: Pick<Config, "storageUrl" | "s3Endpoint" | "s3Region" | "s3ForcePathStyle">): Promise<FileStorage> {
  if (config.storageUrl.startsWith("file:")) return DiskStorage.open(path.resolve(config.storageUrl.slice("file:".length)));
  throw new Error(`S3 storage (${config.storageUrl}) is not available in this build`);
}
