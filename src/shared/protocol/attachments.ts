import { z } from "zod";

/**
 * Attachments (ext, issue 17): files carried by messages. A file is first
 * uploaded (POST /api/v1/uploads, multipart, one file per request) and is
 * then *pending*: only its uploader sees it. Sending a message that names
 * it (`attachments: [id, …]` on message.send or POST …/messages) makes it
 * part of that message and readable by the room's members, for as long as
 * they are members; deleting the message deletes its files. A pending
 * upload never sent is swept after the server's pending-upload time.
 */

/** What the server decided a file is, from its content (never its name or Content-Type). */
export const AttachmentKindSchema = z.enum(["image", "audio", "video", "file"]).meta({ id: "AttachmentKind" });
export type AttachmentKind = z.infer<typeof AttachmentKindSchema>;

/** Most points of a voice note's waveform (each 0–255, evenly spread over the note). */
export const MAX_WAVEFORM_POINTS = 256;
/** Longest file name kept for display, in characters (after cleaning). */
export const MAX_FILE_NAME_CHARS = 255;

/**
 * A file as messages and uploads carry it. `url` and `thumbnailUrl` are
 * paths under the server's origin, readable with the caller's cookie or
 * Bearer token (members of the message's room; the uploader while pending).
 */
export const AttachmentSchema = z.object({
  /** Unguessable id (also the upload's id). */
  id: z.string(),
  kind: AttachmentKindSchema,
  /** The type sniffed from the content (`image/png`, `application/pdf`, `application/octet-stream` when unknown). */
  mime: z.string(),
  /** The uploader's file name, for display only: no path parts, no control characters. */
  name: z.string(),
  /** Size in bytes of the file as served (an image: after its metadata was stripped). */
  size: z.number().int().nonnegative(),
  /** Images and videos when known: pixels, orientation applied. */
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  /** Audio and video when known (a voice note: as recorded), ms. */
  durationMs: z.number().int().nonnegative().optional(),
  /** A voice note's waveform as recorded by the browser: up to MAX_WAVEFORM_POINTS levels, 0–255. */
  waveform: z.array(z.number().int().min(0).max(255)).max(MAX_WAVEFORM_POINTS).optional(),
  /** A voice note recorded in the app (shown as one, not as a plain audio file). */
  voice: z.boolean().optional(),
  /** GET it for the file (Range requests answered 206). */
  url: z.string(),
  /** Images: a smaller WebP of at most 480 px a side, for the timeline. */
  thumbnailUrl: z.string().optional(),
  thumbnailWidth: z.number().int().positive().optional(),
  thumbnailHeight: z.number().int().positive().optional(),
}).meta({ id: "Attachment" });
export type Attachment = z.infer<typeof AttachmentSchema>;

/** Answer of POST /uploads: the pending upload, to name in a send's `attachments`. */
export const UploadResponseSchema = z.object({ upload: AttachmentSchema }).meta({ id: "UploadResponse" });
export type UploadResponse = z.infer<typeof UploadResponseSchema>;

/** The ids a send names (`attachments`): at most the server's attachments-per-message (default 10), no repeats. */
export const AttachmentIdsSchema = z
  .array(z.string().min(1).max(64))
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, "An attachment is named twice.");

/**
 * A size for people: "512 B", "1.5 KB", "340 KB", "2.4 MB", "25 MB".
 * Binary multiples (1 KB = 1,024 bytes, as the server's limits are set in
 * MiB; the server's refusals say sizes the same way), one decimal below 10 units, none from 10 up.
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Rounding 9.96 to one decimal gives "10.0": say 10 instead; 1023.9 KB is said as "1024 KB", not "1.0 MB".
  const text = value < 9.95 ? value.toFixed(1).replace(/\.0$/, "") : String(Math.round(value));
  return `${text} ${units[unit]}`;
}
