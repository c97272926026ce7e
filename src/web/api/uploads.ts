/**
 * Uploads (issue 17, docs/protocol.md "Files"): `POST /api/v1/uploads`
 * (multipart/form-data, one part named `file`) answers `201 {upload}`, a
 * pending upload only its uploader can read or send; `DELETE
 * /api/v1/uploads/{id}` takes back one not sent yet.
 *
 * The POST goes over XMLHttpRequest, not fetch: fetch reports no upload
 * progress (a streaming request body would, but needs HTTP/2 and a
 * duplex stream, and cannot be a FormData). As in http.ts, every answer is
 * checked against its shared schema and every failure is one `ApiError`
 * with a stable code.
 */
import { ErrorBodySchema, UploadResponseSchema, type Attachment } from "@shared/protocol/index.js";
import { ApiError, ClientErrorCode, type HttpTransport } from "./http";

/** The code of an upload that was aborted on purpose (cancelled): not a failure to show. */
export const UPLOAD_ABORTED = "aborted";

/** An upload on its way: its outcome, and how to stop it. */
export interface UploadRequest {
  /** Resolves with the pending upload; rejects with ApiError (`aborted` when cancelled). */
  readonly done: Promise<Attachment>;
  /** Stops sending; `done` rejects with code `aborted` unless the answer already came. */
  abort(): void;
}

/**
 * Starts uploading `file` (sent under `name`) and reports the file's bytes
 * sent so far through `onProgress`.
 *
 * `onProgress(sent)`: the share of the request sent, applied to the file's
 * size (the request also carries the multipart framing, a few hundred
 * bytes), so it ends at `file.size`.
 *
 * Rejections (ApiError): the server's codes (`payload_too_large` 413,
 * `unsupported_media_type` 415, `limit_reached` 409, `rate_limited` 429 with
 * `retryAfter`, `validation_failed` 400, `unauthenticated` 401, …),
 * `network_error` (status 0), `bad_response`, and `aborted`.
 */
export function uploadFile(
  transport: HttpTransport,
  file: Blob,
  name: string,
  onProgress: (sent: number) => void,
  /** Text fields sent before the file part (a voice note's `voice`, `durationMs`, `waveform`). */
  fields: Readonly<Record<string, string>> = {},
): UploadRequest {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Attachment>((resolve, reject) => {
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(Math.round((event.loaded / event.total) * file.size));
    });
    xhr.addEventListener("load", () => {
      const json = parseJson(xhr.responseText);
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(errorOf(xhr.status, json, xhr.getResponseHeader("Retry-After")));
        return;
      }
      const parsed = UploadResponseSchema.safeParse(json);
      if (!parsed.success) {
        console.warn("Unexpected answer from POST /uploads", parsed.error.issues);
        reject(new ApiError(xhr.status, ClientErrorCode.BadResponse, "The server sent an unexpected answer."));
        return;
      }
      resolve(parsed.data.upload);
    });
    // A server that refuses a large body before reading it (413) may close the connection while the browser is
    // still sending; the browser then reports a network error, not the answer.
    xhr.addEventListener("error", () => reject(new ApiError(0, ClientErrorCode.Network, "Cannot reach the server. Check your connection.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, UPLOAD_ABORTED, "The upload was cancelled.")));
  });
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  form.append("file", file, name);
  xhr.open("POST", `${transport.baseUrl}/uploads`);
  xhr.setRequestHeader("Accept", "application/json");
  const csrf = transport.csrf;
  if (csrf) xhr.setRequestHeader("X-CSRF-Token", csrf);
  xhr.send(form);
  return { done, abort: () => xhr.abort() };
}

/** Takes back one's own pending upload (204). @throws ApiError (`not_found` once sent, swept or someone else's) */
export async function deleteUpload(transport: HttpTransport, uploadId: string): Promise<void> {
  await transport.request("DELETE", `/uploads/${encodeURIComponent(uploadId)}`, { schema: null });
}

/**
 * The URL that saves a file rather than shows it: `?download=1` makes the
 * server answer `Content-Disposition: attachment` even for an image.
 */
export function downloadUrl(attachment: Pick<Attachment, "url">): string {
  return `${attachment.url}${attachment.url.includes("?") ? "&" : "?"}download=1`;
}

/** An upload's refusal: an ApiError, with the Retry-After of a 429 (seconds) when the server sent one. */
export class UploadError extends ApiError {
  constructor(status: number, code: string, message: string, readonly retryAfterSeconds: number | undefined) {
    super(status, code, message);
  }
}

/** The error of a non-2xx answer, from its contract error body when it has one. */
function errorOf(status: number, json: unknown, retryAfter: string | null): ApiError {
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : undefined;
  const parsed = ErrorBodySchema.safeParse(json);
  if (parsed.success) return new UploadError(status, parsed.data.error.code, parsed.data.error.message, seconds);
  // A proxy's own page (nginx's 413 has no JSON body): the status still says what happened.
  const code = status === 413 ? "payload_too_large" : status === 429 ? "rate_limited" : `http_${status}`;
  return new UploadError(status, code, status === 413 ? "" : `The server answered ${status}.`, seconds);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
