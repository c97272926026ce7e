/**
 * The files being attached to the message in the composer (issue 17), as
 * pure functions over an immutable list (like realtime/outbox.ts), so the
 * rules are tested without a browser and the chips render the list they
 * are given.
 *
 * Each file goes `queued → uploading → done`, or `→ failed` (it says why,
 * and Retry puts it back to `queued`), or `→ cancelled` (the person took it
 * back while it was on its way). The rules:
 *
 * - Uploads start as soon as files are chosen, at most UPLOADS_AT_ONCE at a
 *   time (ten parallel 25 MiB uploads would share one connection's
 *   bandwidth and finish all at the end, and hit the server's rate limit).
 * - A message takes at most MAX_ATTACHMENTS files; more chosen are left out,
 *   and the caller says so.
 * - A message may be sent only when every file still in the list is `done`:
 *   never with some files missing (a failed one must be retried or removed).
 * - `cancelled` is kept until its request has ended: an upload the server
 *   finished just as it was cancelled then answers with an id, and the
 *   caller deletes that upload instead of leaving it pending.
 */
import type { Attachment } from "@shared/protocol/index.js";


/** Most files one message carries: the server's default `attachmentsPerMessage` (it refuses more). */
export const MAX_ATTACHMENTS = 10;
/** Uploads on their way at the same time. */
export const UPLOADS_AT_ONCE = 3;

export type UploadStatus = "queued" | "uploading" | "done" | "failed" | "cancelled";

/** Why an upload failed, as the chip says it, with the server's stable code (or a client one). */
export interface UploadFailure {
  readonly code: string;
  readonly text: string;
}

export interface UploadEntry {
  /** The client's own key for the file (stable for the chip and the request). */
  readonly key: string;
  /** The file's name as chosen (the server may clean it: `upload.name` then says what it kept). */
  readonly name: string;
  /** Bytes. */
  readonly size: number;
  /** The browser's guess at its type (only for showing it: the server decides the type from the content). */
  readonly mime: string;
  readonly status: UploadStatus;
  /** Bytes sent so far, while uploading. */
  readonly sent: number;
  /** The pending upload the server answered with, once done. */
  readonly upload: Attachment | null;
  readonly failure: UploadFailure | null;
}

export type UploadQueue = readonly UploadEntry[];

export const EMPTY_QUEUE: UploadQueue = [];

/** A file as chosen, before it is queued. */
export interface ChosenFile {
  readonly key: string;
  readonly name: string;
  readonly size: number;
  readonly mime: string;
}

/**
 * Queues the chosen files after those already there, up to `max` in all
 * (cancelled ones do not count). Answers the new list and how many files
 * were left out.
 */
export function added(queue: UploadQueue, files: readonly ChosenFile[], max = MAX_ATTACHMENTS): { queue: UploadQueue; leftOut: number } {
  const room = Math.max(0, max - shown(queue).length);
  const taken = files.slice(0, room).map(
    (f): UploadEntry => ({ key: f.key, name: f.name, size: f.size, mime: f.mime, status: "queued", sent: 0, upload: null, failure: null }),
  );
  return { queue: taken.length ? [...queue, ...taken] : queue, leftOut: files.length - taken.length };
}

/** The entries to start now: the oldest queued ones, so that at most `atOnce` are uploading. */
export function startable(queue: UploadQueue, atOnce = UPLOADS_AT_ONCE): UploadEntry[] {
  const free = atOnce - queue.filter((e) => e.status === "uploading").length;
  return free > 0 ? queue.filter((e) => e.status === "queued").slice(0, free) : [];
}

/** The request for a queued entry went out. */
export function started(queue: UploadQueue, key: string): UploadQueue {
  return update(queue, key, ["queued"], (e) => ({ ...e, status: "uploading", sent: 0, failure: null }));
}

/** `sent` bytes of an uploading entry have gone out (never more than its size). */
export function progressed(queue: UploadQueue, key: string, sent: number): UploadQueue {
  return update(queue, key, ["uploading"], (e) => (e.sent === sent ? e : { ...e, sent: Math.min(Math.max(0, sent), e.size) }));
}

/** The server kept the file: the entry is ready to be sent. A cancelled entry stays cancelled. */
export function finished(queue: UploadQueue, key: string, upload: Attachment): UploadQueue {
  return update(queue, key, ["uploading"], (e) => ({ ...e, status: "done", sent: e.size, upload, failure: null }));
}

/** The upload was refused or did not arrive. */
export function failed(queue: UploadQueue, key: string, failure: UploadFailure): UploadQueue {
  return update(queue, key, ["queued", "uploading"], (e) => ({ ...e, status: "failed", sent: 0, failure }));
}

/** The person took back a queued or uploading file; its request is to be aborted. */
export function cancelled(queue: UploadQueue, key: string): UploadQueue {
  return update(queue, key, ["queued", "uploading"], (e) => ({ ...e, status: "cancelled" }));
}

/** Retry: a failed entry goes back to the queue. */
export function retried(queue: UploadQueue, key: string): UploadQueue {
  return update(queue, key, ["failed"], (e) => ({ ...e, status: "queued", sent: 0, failure: null }));
}

/** Drops an entry (removed, its cancelled request ended, or sent with the message). */
export function forgotten(queue: UploadQueue, key: string): UploadQueue {
  return queue.some((e) => e.key === key) ? queue.filter((e) => e.key !== key) : queue;
}

/** The entries the composer shows (all but cancelled ones). */
export function shown(queue: UploadQueue): UploadQueue {
  return queue.filter((e) => e.status !== "cancelled");
}

/** Whether the message may go now, and with which files; if not, why. */
export type SendCheck = { ok: true; attachments: Attachment[] } | { ok: false; reason: string };

/**
 * Send is allowed only when every shown file is done (none means a plain
 * text message): a message never goes with some of its files missing.
 */
export function sendCheck(queue: UploadQueue): SendCheck {
  const files = shown(queue);
  if (files.some((e) => e.status === "failed")) return { ok: false, reason: "A file did not upload: retry it or remove it." };
  if (files.some((e) => e.status !== "done")) return { ok: false, reason: "Wait until the files have uploaded." };
  return { ok: true, attachments: files.map((e) => e.upload).filter((a): a is Attachment => a !== null) };
}

/** Uploaded share of an entry, 0–100 (whole percent). */
export function percentSent(entry: UploadEntry): number {
  if (entry.status === "done") return 100;
  return entry.size > 0 ? Math.floor((entry.sent / entry.size) * 100) : 0;
}


/**
 * The sentence a failed upload shows, from the answer: the HTTP status (0:
 * none reached us), the stable error code, the server's own message, and
 * Retry-After in seconds for 429.
 */
export function uploadFailure(status: number, code: string, message: string, retryAfterSeconds?: number): UploadFailure {
  switch (code) {
    case "payload_too_large":
      // The server's sentence names its limit ("… over 25 MiB"): said as it is.
      return { code, text: `Too large to upload. ${message}`.trim() };
    case "unsupported_media_type":
      return { code, text: "This file could not be read as an image." };
    case "limit_reached":
      return { code, text: "Your upload quota is used up: delete some of your files and try again." };
    case "rate_limited":
      return {
        code,
        text: retryAfterSeconds && retryAfterSeconds > 0
          ? `Too many uploads: try again in ${Math.ceil(retryAfterSeconds)} s.`
          : "Too many uploads: try again shortly.",
      };
    case "network_error":
      return { code, text: "The upload did not reach the server. Check your connection." };
    case "unauthenticated":
      return { code, text: "Your session has ended: sign in again." };
    default:
      return { code, text: message || `The upload failed (${status || "no answer"}).` };
  }
}

function update(queue: UploadQueue, key: string, from: readonly UploadStatus[], change: (e: UploadEntry) => UploadEntry): UploadQueue {
  let changed = false;
  const next = queue.map((e) => {
    if (e.key !== key || !from.includes(e.status)) return e;
    const after = change(e);
    if (after !== e) changed = true;
    return after;
  });
  return changed ? next : queue;
}
