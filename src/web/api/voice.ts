/**
 * Uploading a recorded voice note: POST /api/v1/uploads (multipart), with
 * the fields the server reads before the file (`voice=true`, `durationMs`,
 * `waveform`), answered `201 {upload: Attachment}` (a pending upload the
 * caller then names in a send's `attachments`). See docs/protocol.md, "Files".
 *
 * It goes through `uploadFile` (api/uploads.ts: XMLHttpRequest, for its
 * progress), so failures are the same `ApiError`s with the same stable codes
 * (payload_too_large, limit_reached, rate_limited, network_error…); a
 * cancelled upload rejects with an AbortError, as fetch does.
 */
import type { Attachment } from "@shared/protocol/index.js";
import { ApiError, type HttpTransport } from "./http";
import { UPLOAD_ABORTED, uploadFile } from "./uploads";

/** The file name a recording is uploaded under, by its container ("voice-note.webm"): display only, the server sniffs the type. */
export function voiceNoteFileName(mimeType: string): string {
  const type = mimeType.split(";")[0]!.trim().toLowerCase();
  if (type === "audio/ogg") return "voice-note.ogg";
  if (type === "audio/mp4") return "voice-note.m4a";
  return "voice-note.webm";
}

/**
 * Uploads a recording as a voice note and resolves with the pending upload:
 * `uploadFile` (api/uploads.ts) with the note's fields before the file.
 *
 * @param blob the recording (MediaRecorder's chunks; its `type` is sent as the part's Content-Type).
 * @param durationMs how long it lasts, in ms (rounded to an integer).
 * @param waveform its levels, each an integer 0–255 (at most MAX_WAVEFORM_POINTS), sent comma-separated.
 * @param onProgress called as bytes go out, with the fraction sent (0–1).
 * @throws ApiError with the server's code (400 validation_failed, 413 payload_too_large, 409 limit_reached,
 *   429 rate_limited, 401…), `network_error` when the server cannot be reached, `bad_response` for an answer
 *   that is not `{upload}`; a DOMException "AbortError" when `signal` aborts.
 */
export async function uploadVoiceNote(
  transport: HttpTransport,
  blob: Blob,
  durationMs: number,
  waveform: readonly number[],
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<Attachment> {
  if (signal?.aborted) throw new DOMException("The upload was cancelled.", "AbortError");
  const request = uploadFile(transport, blob, voiceNoteFileName(blob.type), (sent) => onProgress(blob.size > 0 ? Math.min(sent / blob.size, 1) : 1), {
    voice: "true",
    durationMs: String(Math.max(0, Math.round(durationMs))),
    waveform: waveform.join(","),
  });
  const onAbort = () => request.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const upload = await request.done;
    onProgress(1);
    return upload;
  } catch (error) {
    if (error instanceof ApiError && error.code === UPLOAD_ABORTED) throw new DOMException("The upload was cancelled.", "AbortError");
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
