/**
 * Uploading a recorded voice note: POST /api/v1/uploads (multipart), with
 * the fields the server reads before the file (`voice=true`, `durationMs`,
 * `waveform`), answered `201 {upload: Attachment}` (a pending upload the
 * caller then names in a send's `attachments`). See docs/protocol.md, "Files".
 *
 * XMLHttpRequest, not fetch: fetch reports no upload progress. Failures are
 * the same `ApiError`s as the rest of the API (http.ts), so the UI switches
 * on the same stable codes (payload_too_large, limit_reached, rate_limited,
 * network_error…); a cancelled upload rejects with an AbortError, as fetch does.
 */
import { ErrorBodySchema, UploadResponseSchema, type Attachment } from "@shared/protocol/index.js";
import { ApiError, ClientErrorCode } from "./http";

export interface VoiceUploadOptions {
  /** The session's CSRF token (`HttpTransport.csrf`): a cookie-authenticated POST must carry it. */
  csrfToken: string | null;
  /** Aborting it cancels the upload (the promise rejects with an AbortError). */
  signal?: AbortSignal;
  /** Prefix of the API's paths ("/api/v1" in the browser). */
  baseUrl?: string;
}

/** The file name a recording is uploaded under, by its container ("voice-note.webm"): display only, the server sniffs the type. */
export function voiceNoteFileName(mimeType: string): string {
  const type = mimeType.split(";")[0]!.trim().toLowerCase();
  if (type === "audio/ogg") return "voice-note.ogg";
  if (type === "audio/mp4") return "voice-note.m4a";
  return "voice-note.webm";
}

/**
 * Uploads a recording as a voice note and resolves with the pending upload.
 *
 * @param blob the recording (MediaRecorder's chunks; its `type` is sent as the part's Content-Type).
 * @param durationMs how long it lasts, in ms (rounded to an integer).
 * @param waveform its levels, each an integer 0–255 (at most MAX_WAVEFORM_POINTS), sent comma-separated.
 * @param onProgress called as bytes go out, with the fraction sent (0–1).
 * @throws ApiError with the server's code (400 validation_failed, 413 payload_too_large, 409 limit_reached,
 *   429 rate_limited, 401…), `network_error` when the server cannot be reached, `bad_response` for an answer
 *   that is not `{upload}`; a DOMException "AbortError" when `options.signal` aborts.
 */
export function uploadVoiceNote(
  blob: Blob,
  durationMs: number,
  waveform: readonly number[],
  onProgress: (fraction: number) => void,
  options: VoiceUploadOptions,
): Promise<Attachment> {
  const form = new FormData();
  // The server reads text fields only before the file part (it streams the file without buffering the body).
  form.append("voice", "true");
  form.append("durationMs", String(Math.max(0, Math.round(durationMs))));
  form.append("waveform", waveform.join(","));
  form.append("file", blob, voiceNoteFileName(blob.type));

  return new Promise<Attachment>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(new DOMException("The upload was cancelled.", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const settle = () => signal?.removeEventListener("abort", onAbort);
    xhr.open("POST", `${options.baseUrl ?? "/api/v1"}/uploads`);
    xhr.withCredentials = true;
    xhr.responseType = "text";
    xhr.setRequestHeader("Accept", "application/json");
    if (options.csrfToken) xhr.setRequestHeader("X-CSRF-Token", options.csrfToken);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(Math.min(event.loaded / event.total, 1));
    };
    xhr.onload = () => {
      settle();
      const json = parseJson(xhr.responseText);
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(apiErrorOf(xhr.status, json));
        return;
      }
      const parsed = UploadResponseSchema.safeParse(json);
      if (!parsed.success) {
        reject(new ApiError(xhr.status, ClientErrorCode.BadResponse, "The server sent an unexpected answer."));
        return;
      }
      onProgress(1);
      resolve(parsed.data.upload);
    };
    xhr.onerror = () => {
      settle();
      reject(new ApiError(0, ClientErrorCode.Network, "Cannot reach the server. Check your connection."));
    };
    xhr.onabort = () => {
      settle();
      reject(new DOMException("The upload was cancelled.", "AbortError"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    xhr.send(form);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The server's `{error: {code, message, details}}` as an ApiError. A body
 * that is not one (a proxy's own page, e.g. nginx's 413) still gets the
 * code its status means, else `http_<status>`.
 */
function apiErrorOf(status: number, json: unknown): ApiError {
  const parsed = ErrorBodySchema.safeParse(json);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new ApiError(status, code, message, details ?? []);
  }
  const code = status === 413 ? "payload_too_large" : status === 429 ? "rate_limited" : `http_${status}`;
  return new ApiError(status, code, `The server answered ${status}.`);
}
