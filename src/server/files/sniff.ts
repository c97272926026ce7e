import { fileTypeFromBuffer, fileTypeFromFile } from "file-type";
import type { AttachmentKind } from "@shared/protocol/attachments.js";

/**
 * What a file is, decided from its content alone (magic bytes, read by the
 * maintained `file-type` library): the uploader's file name and part
 * Content-Type never decide it (issue 17 item 2; the class of Zulip
 * CVE-2023-22735, where a file served as what its uploader said it was ran
 * as HTML on the app's origin). Unknown content is
 * `application/octet-stream`, a plain download.
 */

/** The sniffed type and what the server does with it. */
export interface Sniffed {
  /** The media type, without parameters (`image/png`, `application/pdf`, `application/octet-stream`). */
  mime: string;
  /**
   * `image` for the types the server decodes and re-encodes (png, jpeg,
   * gif, webp, avif; heic/heif, which becomes a `file` if sharp cannot
   * decode it); `audio` and `video` for the containers browsers play;
   * `file` for everything else.
   */
  kind: AttachmentKind;
}

/** What the uploader said, consulted only to tell audio from video in a container that holds either. */
export interface SniffHints {
  /** The form's `voice=true`: a voice note recorded in the app. */
  voice: boolean;
  /** The file part's Content-Type as the client sent it. */
  partType: string | undefined;
}

const UNKNOWN = "application/octet-stream";

/** Images decoded, checked and re-encoded at upload (files/images.ts). */
const IMAGE_TYPES: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/heic", "image/heif"]);
/** HEIC/HEIF: images only if sharp can decode them (its prebuilt libvips has no HEVC decoder); served as JPEG then. */
export const HEIF_TYPES: ReadonlySet<string> = new Set(["image/heic", "image/heif"]);
const AUDIO_TYPES: ReadonlySet<string> = new Set(["audio/webm", "audio/ogg", "audio/mpeg", "audio/mp4", "audio/wav", "audio/flac"]);
const VIDEO_TYPES: ReadonlySet<string> = new Set(["video/mp4", "video/webm", "video/ogg"]);

/**
 * The types served `Content-Disposition: inline`, so that the browser
 * shows or plays them in the page: raster images the server re-encoded, and
 * audio and video (which a browser never runs as a document). Everything
 * else, HTML, SVG (script inside an image) and XML first of all, is served
 * as an attachment, a download.
 */
const INLINE_TYPES: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", ...AUDIO_TYPES, ...VIDEO_TYPES]);

/** `file-type`'s names for what this server calls by the common one. */
const ALIASES: Readonly<Record<string, string>> = {
  "audio/x-wav": "audio/wav",
  "audio/vnd.wave": "audio/wav",
  "audio/x-flac": "audio/flac",
  "audio/x-m4a": "audio/mp4",
  "audio/opus": "audio/ogg",
  "application/ogg": "audio/ogg",
};

/** Containers that hold audio, video or both: the hints may call one of them audio. */
const AUDIO_OF_VIDEO: Readonly<Record<string, string>> = {
  "video/webm": "audio/webm",
  "video/ogg": "audio/ogg",
  "video/mp4": "audio/mp4",
};

/** Whether a file of this sniffed type may be shown in the page (`Content-Disposition: inline`). */
export function isInlineType(mime: string): boolean {
  return INLINE_TYPES.has(mime);
}

/** Sniffs a file on disk from its first bytes (file-type reads what it needs, a few KiB at most). */
export async function sniffFile(file: string, hints: SniffHints): Promise<Sniffed> {
  return classify((await fileTypeFromFile(file))?.mime, hints);
}

/** Sniffs bytes in memory (as `sniffFile`). */
export async function sniffBytes(bytes: Uint8Array, hints: SniffHints): Promise<Sniffed> {
  return classify((await fileTypeFromBuffer(bytes))?.mime, hints);
}

/**
 * The kind of a type `file-type` found (undefined: it knew none).
 * `file-type` names a WebM or MP4 by its container, `video/…`, even when it
 * holds only sound (a MediaRecorder voice note is audio-only WebM); the
 * hints may make such a container audio: both are media and both are safe
 * inline, so the uploader's word only picks the player.
 */
export function classify(found: string | undefined, hints: SniffHints): Sniffed {
  if (found === undefined) return { mime: UNKNOWN, kind: "file" };
  const essence = found.split(";")[0]!.trim().toLowerCase();
  let mime = ALIASES[essence] ?? essence;
  const audio = AUDIO_OF_VIDEO[mime];
  if (audio && (hints.voice || hints.partType?.toLowerCase().startsWith("audio/"))) mime = audio;
  if (IMAGE_TYPES.has(mime)) return { mime, kind: "image" };
  if (AUDIO_TYPES.has(mime)) return { mime, kind: "audio" };
  if (VIDEO_TYPES.has(mime)) return { mime, kind: "video" };
  return { mime, kind: "file" };
}
