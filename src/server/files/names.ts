import { MAX_FILE_NAME_CHARS } from "@shared/protocol/attachments.js";

/**
 * The display name of an uploaded file. The uploader's file name is kept
 * for display only (the server never opens a path made from it: storage
 * keys are server-made ids), but others read it in the timeline and their
 * browser saves a download under it, so what it may hold is cleaned here:
 *
 * - the base name only: everything up to the last `/` or `\` is dropped
 *   (`../../etc/passwd` is `passwd`, `C:\Users\ada\cv.pdf` is `cv.pdf`);
 * - control characters (C0, DEL, C1, line and paragraph separators) are
 *   removed: a NUL, a terminal's escape sequence, a line break in a header;
 * - bidi embeddings, overrides, isolates and marks are removed
 *   (`invoice‮fdp.exe` would show as `invoiceexe.pdf`: CVE-2021-42574,
 *   Unicode TR 36 §2.4), as are the other invisible format characters that
 *   could hide part of a name (zero-width space, BOM, soft hyphen, tags);
 * - unpaired surrogates become U+FFFD, then the name is normalized to NFC
 *   and trimmed;
 * - at most MAX_FILE_NAME_CHARS (255) UTF-16 units, cut in the stem so that
 *   a short extension survives, never inside a surrogate pair;
 * - a name that is nothing, or only dots (`.`, `..`), is `"file"`.
 */

/** Control characters: C0, DEL and C1 (\p{Cc}), and the line and paragraph separators. */
const CONTROL = /[\p{Cc}\u2028\u2029]/gu;
/**
 * Invisible format characters (\p{Cf}): bidi embeddings, overrides,
 * isolates and marks, zero-width space, word joiner, BOM, soft hyphen,
 * tags. ZWNJ and ZWJ stay: Persian and Indic words and emoji sequences
 * (👩‍💻) need them, and they reorder nothing.
 */
const FORMAT = /(?!\u200C|\u200D)\p{Cf}/gu;
/** A lone surrogate (half of a pair whose other half is missing). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** An extension worth keeping when a long name is cut: a dot and 1 to 16 letters or digits at the end. */
const EXTENSION = /\.[\p{L}\p{N}]{1,16}$/u;
/** What is left of a name with nothing to show. */
export const FALLBACK_FILE_NAME = "file";

/** The display name of a file from what the uploader's client sent (undefined or empty: `"file"`). */
export function cleanFileName(raw: string | undefined): string {
  if (raw === undefined) return FALLBACK_FILE_NAME;
  const base = raw.slice(Math.max(raw.lastIndexOf("/"), raw.lastIndexOf("\\")) + 1);
  const name = base.replace(LONE_SURROGATE, "\uFFFD").replace(CONTROL, "").replace(FORMAT, "").normalize("NFC").trim();
  if (/^\.*$/.test(name)) return FALLBACK_FILE_NAME;
  return shorten(name, MAX_FILE_NAME_CHARS);
}

/** `name` in at most `max` UTF-16 units: the stem is cut, the extension kept; a surrogate pair is never split. */
function shorten(name: string, max: number): string {
  if (name.length <= max) return name;
  const ext = EXTENSION.exec(name)?.[0] ?? "";
  let stem = name.slice(0, max - ext.length);
  // A high surrogate left alone at the cut would be an unpaired one.
  if (/[\uD800-\uDBFF]$/.test(stem)) stem = stem.slice(0, -1);
  return `${stem.trimEnd()}${ext}`;
}
