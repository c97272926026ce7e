import { formatSize } from "@shared/protocol/attachments.js";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { ErrorCode } from "@shared/protocol/errors.js";
import { MAX_WAVEFORM_POINTS, type Attachment } from "@shared/protocol/attachments.js";
import type { Actor, Deps } from "../deps.js";
import { AppError, notFound, validationError } from "../errors.js";
import type { MembershipReads } from "../rooms/membership-reads.js";
import { cleanFileName } from "./names.js";
import { HEIF_TYPES, sniffFile, type Sniffed } from "./sniff.js";
import { processImage } from "./images.js";
import { requireReadableFile, type UploadRow } from "./access.js";
import { nowIso } from "../store/ids.js";

/**
 * Uploads (issue 17 item 2): one file per request, received into a
 * temporary file, sniffed, processed, stored, and recorded as a *pending*
 * upload of its uploader, who may then name it in a message
 * (messages/service.ts turns it *attached*) or cancel it.
 *
 * The file is streamed to `<dataDir>/tmp` and never held whole in memory;
 * the whole form is read before anything is kept, so that a bad field
 * after the file, a second file or a form cut short stores nothing. The
 * temporary files are removed on every path. What is stored: the file as
 * served under `<id[0..2]>/<id>` and an image's WebP thumbnail under
 * `<id[0..2]>/<id>.thumb` (files/storage.ts), then the `uploads` row; a
 * failure between the two removes what was stored.
 */

/** Temporary files older than this (ms) are what a crash left behind: removed before this node's first upload. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Longest voice note or media duration a form may state: 24 h, in ms. */
const MAX_DURATION_MS = 24 * 60 * 60 * 1000;

/**
 * The form's text fields, as sent (multipart fields are strings); the
 * file itself is the part named `file`. Other fields are ignored.
 */
export const UploadFieldsSchema = z.object({
  voice: z.enum(["true", "false"], { message: "Must be true or false." }).optional().describe("`true`: a voice note recorded in the app (audio only)."),
  durationMs: z
    .string()
    .regex(/^\d{1,8}$/, "Must be a whole number of milliseconds.")
    .refine((v) => Number(v) <= MAX_DURATION_MS, `At most ${MAX_DURATION_MS} (24 hours).`)
    .optional()
    .describe("Audio or video: the duration in milliseconds, as recorded."),
  waveform: z
    .string()
    .regex(/^\d{1,3}(,\d{1,3})*$/, "Must be comma-separated integers 0 to 255.")
    .refine((v) => v.split(",").length <= MAX_WAVEFORM_POINTS, `At most ${MAX_WAVEFORM_POINTS} levels.`)
    .refine((v) => v.split(",").every((n) => Number(n) <= 255), "Each level is 0 to 255.")
    .optional()
    .describe(`A voice note's levels, 0 to 255, comma-separated, at most ${MAX_WAVEFORM_POINTS}.`),
});
export type UploadFields = z.infer<typeof UploadFieldsSchema>;

/** One part of a multipart form, as the route hands it over (the transport's multipart parser stays in the route). */
export type FormPart =
  | { type: "field"; name: string; value: string; /** over the parser's field size: cut short */ truncated: boolean }
  | {
      type: "file";
      name: string;
      /** As the client sent it; for display only. */
      filename: string | undefined;
      /** The part's Content-Type as the client sent it: consulted only to tell audio from video (sniff.ts). */
      contentType: string | undefined;
      /** The bytes; the parser delivers at most one byte more than the limit, and ends. */
      stream: Readable;
    };

/** The storage keys of a file and its thumbnail (files/storage.ts: server-made, one directory level). */
export function storageKeysOf(id: string): { file: string; thumbnail: string } {
  const file = `${id.slice(0, 2)}/${id}`;
  return { file, thumbnail: `${file}.thumb` };
}

/** A new upload id: 128 random bits in hex, unguessable (ids are the only key to a pending upload). */
export const newUploadId = (): string => randomBytes(16).toString("hex");

/**
 * An `uploads` row as the wire's Attachment (shared/protocol/attachments.ts):
 * what the upload answer, messages and their events carry. `url` and
 * `thumbnailUrl` are paths under the server's origin.
 */
export function attachmentOf(row: UploadRow): Attachment {
  const url = `/api/v1/files/${row.id}`;
  return {
    id: row.id,
    kind: row.kind as Attachment["kind"],
    mime: row.mime,
    name: row.name,
    // bigint: PostgreSQL answers it as a string.
    size: Number(row.size),
    ...(row.width !== null && row.height !== null ? { width: row.width, height: row.height } : {}),
    ...(row.duration_ms !== null ? { durationMs: row.duration_ms } : {}),
    ...(row.waveform !== null ? { waveform: JSON.parse(row.waveform) as number[] } : {}),
    ...(row.voice === 1 ? { voice: true } : {}),
    url,
    ...(row.thumbnail_key !== null
      ? {
          thumbnailUrl: `${url}/thumbnail`,
          ...(row.thumbnail_width !== null && row.thumbnail_height !== null ? { thumbnailWidth: row.thumbnail_width, thumbnailHeight: row.thumbnail_height } : {}),
        }
      : {}),
  };
}

const invalid = (field: string, message: string): AppError =>
  new AppError(ErrorCode.ValidationFailed, `Invalid body.${field}: ${message}`, { details: [{ path: `body.${field}`, message }] });

/** What was received into the temporary file. */
interface Received {
  size: number;
  filename: string | undefined;
  contentType: string | undefined;
}

/** Uploading, cancelling and reading files; the route (files/routes.ts) is the HTTP side. */
export class UploadService {
  private readonly tmpDir: string;
  /** The temporary directory made, and a crash's leftovers in it removed: once per node, at its first upload. */
  private tmpReady: Promise<void> | null = null;
  /** Uploads on their way per user (this node), each holding a temporary file: bounded by uploadsInProgressPerUser. */
  private readonly inProgress = new Map<string, number>();

  constructor(
    private readonly deps: Deps,
    private readonly membership: MembershipReads,
  ) {
    this.tmpDir = path.join(deps.config.dataDir, "tmp");
  }

  /**
   * Receives one upload form (`parts`, in order), and keeps its file as a
   * pending upload of `actor`. Reads the parts to the end before keeping
   * anything; stores nothing on any error.
   * @returns the pending upload
   * @throws AppError validation_failed (no file part, an empty file, a second file or a file part not named `file`,
   *   a field sent twice, too long or not valid), payload_too_large (the file over uploadMaxBytes; an image over
   *   imageMaxPixels), unsupported_media_type (an image that does not decode), limit_reached (the uploader's quota)
   */
  async upload(actor: Actor, parts: AsyncIterable<FormPart>): Promise<Attachment> {
    // Counted before the first await, so that uploads begun in one turn cannot all pass.
    const userId = actor.userId;
    const running = this.inProgress.get(userId) ?? 0;
    if (running >= this.deps.config.uploadsInProgressPerUser) {
      throw new AppError(ErrorCode.RateLimited, "Too many uploads on their way at once; wait for one to finish.", { retryAfter: 1 });
    }
    this.inProgress.set(userId, running + 1);
    try {
      return await this.receiveAndStore(actor, parts);
    } finally {
      const left = (this.inProgress.get(userId) ?? 1) - 1;
      if (left > 0) this.inProgress.set(userId, left);
      else this.inProgress.delete(userId);
    }
  }

  private async receiveAndStore(actor: Actor, parts: AsyncIterable<FormPart>): Promise<Attachment> {
    const { files, store } = this.deps;
    // Full already: refused before a byte of the file is read.
    await this.requireQuota(actor.userId, 0);
    const id = newUploadId();
    const temp = {
      received: path.join(this.tmpDir, `${id}.part`),
      image: path.join(this.tmpDir, `${id}.image`),
      thumbnail: path.join(this.tmpDir, `${id}.thumb`),
    };
    // A failed preparation (a passing EACCES, EMFILE) is tried again by the next upload, not kept for good.
    await (this.tmpReady ??= this.prepareTmp().catch((err: unknown) => {
      this.tmpReady = null;
      throw err;
    }));
    try {
      const { file, fields } = await this.receive(parts, temp.received);
      await this.requireQuota(actor.userId, file.size);
      const sniffed = await sniffFile(temp.received, { voice: fields.voice === "true", partType: file.contentType });
      const kept = await this.process(temp, sniffed);
      const keys = storageKeysOf(id);
      const stored: string[] = [];
      try {
        const { size } = await files.put(keys.file, fs.createReadStream(kept.file), { contentType: kept.mime });
        stored.push(keys.file);
        if (kept.thumbnail) {
          await files.put(keys.thumbnail, fs.createReadStream(temp.thumbnail), { contentType: "image/webp" });
          stored.push(keys.thumbnail);
        }
        const media = kept.kind === "audio" || kept.kind === "video";
        const row: UploadRow = {
          id,
          owner_id: actor.userId,
          state: "pending",
          room_id: null,
          message_id: null,
          kind: kept.kind,
          mime: kept.mime,
          name: cleanFileName(file.filename),
          size,
          width: kept.width ?? null,
          height: kept.height ?? null,
          duration_ms: media && fields.durationMs !== undefined ? Number(fields.durationMs) : null,
          waveform: kept.kind === "audio" && fields.waveform !== undefined ? JSON.stringify(fields.waveform.split(",").map(Number)) : null,
          voice: kept.kind === "audio" && fields.voice === "true" ? 1 : 0,
          storage_key: keys.file,
          thumbnail_key: kept.thumbnail ? keys.thumbnail : null,
          thumbnail_width: kept.thumbnail?.width ?? null,
          thumbnail_height: kept.thumbnail?.height ?? null,
          created_at: nowIso(),
          attached_at: null,
          deleted_at: null,
        };
        await store.db.insertInto("uploads").values(row).execute();
        return attachmentOf(row);
      } catch (err) {
        await files.delete(stored).catch((cleanup: unknown) => this.deps.log.warn({ err: cleanup, id }, "could not remove the objects of a failed upload; the sweeper will"));
        throw err;
      }
    } finally {
      await Promise.all(Object.values(temp).map((file) => fs.promises.rm(file, { force: true })));
    }
  }

  /**
   * Cancels `actor`'s pending upload `uploadId`: it is no longer readable
   * nor sendable from now on, and its objects and row are removed (what
   * cannot be removed now is left, marked deleted, to the sweeper).
   * @throws AppError not_found (unknown, someone else's, attached, or deleted already)
   */
  async cancel(actor: Actor, uploadId: string): Promise<void> {
    const { store, files, log } = this.deps;
    // One guarded statement: a send that attached it meanwhile wins, and this answers not_found.
    const row = await store.db
      .updateTable("uploads")
      .set({ state: "deleted", deleted_at: nowIso() })
      .where("id", "=", uploadId)
      .where("owner_id", "=", actor.userId)
      .where("state", "=", "pending")
      .returning(["storage_key", "thumbnail_key"])
      .executeTakeFirst();
    if (!row) throw notFound("No such upload.");
    try {
      await files.delete([row.storage_key, ...(row.thumbnail_key ? [row.thumbnail_key] : [])]);
      await store.db.deleteFrom("uploads").where("id", "=", uploadId).where("state", "=", "deleted").execute();
    } catch (err) {
      log.warn({ err, uploadId }, "could not remove a cancelled upload now; the sweeper will");
    }
  }

  /**
   * The upload `fileId` if `actor` may read it now (files/access.ts).
   * @throws AppError not_found
   */
  readable(actor: Actor, fileId: string): Promise<UploadRow> {
    return requireReadableFile(this.deps.store.db, this.membership, actor.userId, fileId);
  }

  /**
   * The stored object `key` of a file the caller may read (after
   * `readable`), or its bytes `range.start`..`range.end` (inclusive).
   * @returns null when the storage has no such object
   */
  open(key: string, range?: { start: number; end: number }): Promise<{ body: Readable; size: number } | null> {
    return this.deps.files.get(key, range);
  }

  /**
   * Makes `<dataDir>/tmp` and removes the temporary files a crash left in
   * it (every path of an upload removes its own; only a killed process
   * leaves any). Only old ones: the directory is this node's, but an upload
   * of this process may have begun meanwhile.
   */
  private async prepareTmp(): Promise<void> {
    await fs.promises.mkdir(this.tmpDir, { recursive: true });
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await fs.promises.readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      const stat = await fs.promises.stat(file).catch(() => null);
      if (stat?.isFile() && stat.mtimeMs < cutoff) await fs.promises.rm(file, { force: true });
    }
  }

  /** Bytes `userId` holds in uploads not deleted, pending and sent alike. */
  async usedBytes(userId: string): Promise<number> {
    const found = await this.deps.store.db
      .selectFrom("uploads")
      .select((eb) => eb.fn.sum<number | string | null>("size").as("bytes"))
      .where("owner_id", "=", userId)
      .where("state", "!=", "deleted")
      .executeTakeFirst();
    return Number(found?.bytes ?? 0);
  }

  /**
   * @throws AppError limit_reached when `userId`'s uploads and `more` bytes would be over uploadQuotaBytes
   * (with `more` 0: when they are at it already). Concurrent uploads of one user may each pass and overshoot
   * the quota by their sizes: a bound on storage, not an exact count.
   */
  private async requireQuota(userId: string, more: number): Promise<void> {
    const quota = this.deps.config.uploadQuotaBytes;
    const used = await this.usedBytes(userId);
    if (more === 0 ? used >= quota : used + more > quota) {
      throw new AppError(ErrorCode.LimitReached, `Your files take ${used} of your ${quota} bytes; delete some messages with files first.`, {
        details: [{ path: "quota", message: `At most ${quota} bytes of files per user.` }],
      });
    }
  }

  /**
   * Reads the form to its end: the file part into `target`, the fields by name.
   * @throws AppError validation_failed, payload_too_large (the file over uploadMaxBytes)
   */
  private async receive(parts: AsyncIterable<FormPart>, target: string): Promise<{ file: Received; fields: UploadFields }> {
    const max = this.deps.config.uploadMaxBytes;
    const values = new Map<string, string>();
    let file: Received | null = null;
    for await (const part of parts) {
      if (part.type === "field") {
        if (part.truncated) throw invalid(part.name, "Too long.");
        if (values.has(part.name)) throw invalid(part.name, "Sent twice.");
        values.set(part.name, part.value);
        continue;
      }
      if (part.name !== "file") {
        part.stream.resume();
        throw invalid(part.name, "The file goes in the part named file.");
      }
      // The parser destroys the file stream of a form that ends inside it, maybe before this part was handed over.
      if (part.stream.destroyed) throw invalid("file", "The form ended inside the file.");
      let size = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > max) done(new AppError(ErrorCode.PayloadTooLarge, `The file is over this server's limit of ${formatSize(max)}.`));
          else done(null, chunk);
        },
      });
      const out = fs.createWriteStream(target, { flags: "wx", mode: 0o600 });
      let writeError: unknown = null;
      out.once("error", (err) => (writeError = err));
      try {
        await pipeline(part.stream, limit, out);
      } catch (err) {
        if (err instanceof AppError) throw err;
        // Writing the temporary file failed (a full disk): ours, a 500.
        if (writeError !== null) throw err;
        // Anything else broke the file stream: the form ended inside the file (cut short, or the client went away).
        throw invalid("file", "The form ended inside the file.");
      }
      file = { size, filename: part.filename, contentType: part.contentType };
    }
    if (!file) throw invalid("file", "Send the file in a part named file.");
    if (file.size === 0) throw invalid("file", "The file is empty.");
    const fields = UploadFieldsSchema.safeParse(Object.fromEntries([...values].filter(([name]) => Object.hasOwn(UploadFieldsSchema.shape, name))));
    if (!fields.success) throw validationError(fields.error, "body");
    return { file, fields: fields.data };
  }

  /**
   * What is kept of a received file: an image decoded and re-encoded with
   * its thumbnail (a HEIC/HEIF sharp cannot decode is kept as a plain
   * file), anything else as received.
   * @throws AppError payload_too_large, unsupported_media_type (images.ts)
   */
  private async process(
    temp: { received: string; image: string; thumbnail: string },
    sniffed: Sniffed,
  ): Promise<{ file: string; mime: string; kind: Sniffed["kind"]; width?: number; height?: number; thumbnail?: { width: number; height: number } }> {
    if (sniffed.kind !== "image") return { file: temp.received, ...sniffed };
    try {
      const image = await processImage(temp.received, sniffed.mime, { file: temp.image, thumbnail: temp.thumbnail }, { maxPixels: this.deps.config.imageMaxPixels });
      return { file: temp.image, kind: "image", mime: image.mime, width: image.width, height: image.height, thumbnail: image.thumbnail };
    } catch (err) {
      if (HEIF_TYPES.has(sniffed.mime) && err instanceof AppError && err.code === ErrorCode.UnsupportedMediaType) {
        return { file: temp.received, mime: sniffed.mime, kind: "file" };
      }
      throw err;
    }
  }
}
