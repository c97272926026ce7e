import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import multipart from "@fastify/multipart";
import parseRange from "range-parser";
import { z } from "zod";
import { UploadResponseSchema, formatSize } from "@shared/protocol/attachments.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { idText } from "@shared/protocol/text.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import { AppError } from "../errors.js";
import { actorOf, authenticate } from "../http/identity.js";
import { FileBytesSchema, NoContentSchema, errorResponses } from "../http/openapi.js";
import { uploadLimit } from "../rooms/rate-limits.js";
import { UploadFieldsSchema, type FormPart } from "./uploads.js";
import { isInlineType } from "./sniff.js";
import { noSuchFile, type UploadRow } from "./access.js";

/**
 * Files over HTTP (issue 17): POST /uploads (multipart, one file),
 * DELETE /uploads/:uploadId (cancel a pending upload), and the bytes,
 * GET /files/:fileId and GET /files/:fileId/thumbnail (HEAD too), served so
 * that nothing uploaded can run as a page of this origin:
 *
 * - `Content-Type` is the type sniffed from the content (sniff.ts), and
 *   `X-Content-Type-Options: nosniff` keeps the browser to it;
 * - `Content-Disposition: inline` only for the raster images the server
 *   re-encoded and for audio and video; everything else, HTML and SVG
 *   first, is `attachment` (a download), and `?download=1` makes any file one;
 * - `Content-Security-Policy: sandbox; default-src 'none'; …`: a file
 *   opened as a page anyway (an old browser, a misconfigured proxy) runs
 *   in an opaque origin with no script, form or plugin;
 * - `Cross-Origin-Resource-Policy: same-origin`: another site cannot embed
 *   a file with the reader's credentials.
 *
 * The bytes of a file never change (a new file is a new id), so an answer
 * carries `ETag: "<id>"` (thumbnail `"<id>.t"`) and may be cached
 * privately for a year; `If-None-Match` answers 304. A file answers one
 * byte range (`Range: bytes=a-b`: 206, or 416 when the range is outside
 * it; several ranges are answered with the whole file), so media seeks.
 */

/** Room in a request for the form around the file (boundaries, part headers, text fields), bytes. */
const FORM_OVERHEAD_BYTES = 64 * 1024;
/** Text fields a form may have, and the bytes of each (a waveform of 256 levels is at most 1,023). */
const FORM_FIELDS = 10;
const FIELD_BYTES = 2048;

const FILE_HEADERS = {
  "x-content-type-options": "nosniff",
  "content-security-policy": "sandbox; default-src 'none'; img-src 'self'; media-src 'self'",
  "cross-origin-resource-policy": "same-origin",
} as const;
/** Ids never name other bytes: a year, and `immutable` so that a reload does not even revalidate. */
const CACHE_CONTROL = "private, max-age=31536000, immutable";

const UploadParamsSchema = z.object({ uploadId: idText({ label: "Upload id", max: 64 }) });
const FileParamsSchema = z.object({ fileId: idText({ label: "File id", max: 64 }) });
const FileQuerySchema = z.object({
  download: z.enum(["0", "1"], { message: "Must be 0 or 1." }).optional().describe("`1`: served as an attachment (a download), whatever its type."),
});

/** POST /uploads's body as the OpenAPI document shows it: the file, then the optional text fields. */
const UploadFormSchema = UploadFieldsSchema.extend({
  file: z.string().meta({ format: "binary", description: "The file (one; its type is sniffed from its content)." }),
}).meta({ id: "UploadForm", description: "multipart/form-data: one part named `file`, and optional text fields." });

export const fileRoutes: FastifyPluginAsyncZod<{ services: Services; config: Config }> = async (app, { services, config }) => {
  // Here, not app-wide: only this plugin's routes parse multipart bodies.
  await app.register(multipart, {
    // One byte over the limit reaches the service, which refuses it (413); busboy drops the rest.
    limits: { fileSize: config.uploadMaxBytes + 1, files: 1, fields: FORM_FIELDS, fieldSize: FIELD_BYTES, parts: FORM_FIELDS + 1, headerPairs: 20 },
    throwFileSizeLimit: false,
  });
  const onRequestAuth = authenticate(services.auth);
  const uploadLimiter = app.rateLimit(uploadLimit(config));
  const tags = ["files"];

  app.post(
    "/uploads",
    {
      schema: {
        tags,
        summary: "Upload a file (multipart/form-data); it stays yours alone until a message names it",
        response: { 201: UploadResponseSchema, ...errorResponses(409, 413, 415, 429) },
      },
      config: { multipartBody: UploadFormSchema },
      onRequest: [onRequestAuth, refuseOversized(config.uploadMaxBytes)],
      preHandler: uploadLimiter,
      onSend: closeUnreadRequest,
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw new AppError(ErrorCode.ValidationFailed, "Send the file as multipart/form-data, in a part named file.", {
          details: [{ path: "Content-Type", message: "Must be multipart/form-data." }],
        });
      }
      const upload = await services.uploads.upload(actorOf(request), formParts(request));
      return reply.code(201).send({ upload });
    },
  );

  app.delete(
    "/uploads/:uploadId",
    {
      schema: { tags, summary: "Cancel your pending upload (not one a message carries)", params: UploadParamsSchema, response: { 204: NoContentSchema, ...errorResponses(404) } },
      onRequest: onRequestAuth,
    },
    async (request, reply) => {
      await services.uploads.cancel(actorOf(request), request.params.uploadId);
      return reply.code(204).send();
    },
  );

  app.get(
    "/files/:fileId",
    {
      schema: {
        tags,
        summary: "A file's bytes (one Range answered 206); members of its message's room, or its uploader while pending",
        params: FileParamsSchema,
        querystring: FileQuerySchema,
        response: { 200: FileBytesSchema, 206: FileBytesSchema, 304: NoContentSchema, ...errorResponses(404, 416) },
      },
      onRequest: onRequestAuth,
    },
    async (request, reply) => {
      const row = await services.uploads.readable(actorOf(request), request.params.fileId);
      return serve(request, reply, row, { key: row.storage_key, etag: `"${row.id}"`, mime: row.mime, name: row.name, size: Number(row.size) }, request.query.download === "1");
    },
  );

  app.get(
    "/files/:fileId/thumbnail",
    {
      schema: {
        tags,
        summary: "An image's WebP thumbnail (at most 480 px a side)",
        params: FileParamsSchema,
        querystring: FileQuerySchema,
        response: { 200: FileBytesSchema, 304: NoContentSchema, ...errorResponses(404) },
      },
      onRequest: onRequestAuth,
    },
    async (request, reply) => {
      const row = await services.uploads.readable(actorOf(request), request.params.fileId);
      if (row.thumbnail_key === null) throw noSuchFile();
      return serve(request, reply, row, { key: row.thumbnail_key, etag: `"${row.id}.t"`, mime: "image/webp", name: thumbnailName(row.name), size: null }, request.query.download === "1");
    },
  );

  /**
   * Answers with a stored object: 304 when the client's copy is current,
   * else the bytes (or, when `size` is known, the one range asked for);
   * `download`: as an attachment whatever the type.
   */
  async function serve(
    request: FastifyRequest,
    reply: FastifyReply,
    row: UploadRow,
    object: { key: string; etag: string; mime: string; name: string; size: number | null },
    download: boolean,
  ): Promise<FastifyReply> {
    void reply.headers(FILE_HEADERS);
    if (etagMatches(request.headers["if-none-match"], object.etag)) {
      return reply.code(304).headers({ etag: object.etag, "cache-control": CACHE_CONTROL }).send();
    }
    const range = object.size === null ? null : rangeOf(request, object.size, object.etag);
    if (range === "unsatisfiable") {
      void reply.header("content-range", `bytes */${object.size}`);
      throw new AppError(ErrorCode.RangeNotSatisfiable, `The file has ${object.size} bytes; ask for a range inside them.`);
    }
    const found = request.method === "HEAD" && object.size !== null ? { body: Readable.from([]), size: object.size } : await services.uploads.open(object.key, range ?? undefined);
    if (!found) {
      request.log.error({ fileId: row.id, key: object.key }, "a readable file's object is missing from the storage");
      throw noSuchFile();
    }
    const inline = isInlineType(object.mime) && !download;
    void reply.headers({
      etag: object.etag,
      "cache-control": CACHE_CONTROL,
      "content-type": object.mime,
      "content-disposition": contentDisposition(inline ? "inline" : "attachment", object.name),
      "accept-ranges": object.size === null ? "none" : "bytes",
    });
    if (request.method === "HEAD" && object.size === null) {
      // A HEAD of a thumbnail: its size is the storage's to tell; its bytes are not sent.
      found.body.destroy();
      return reply.header("content-length", String(found.size)).send(Readable.from([]));
    }
    if (range) {
      return reply
        .code(206)
        .headers({ "content-range": `bytes ${range.start}-${range.end}/${found.size}`, "content-length": String(range.end - range.start + 1) })
        .send(found.body);
    }
    return reply.header("content-length", String(found.size)).send(found.body);
  }
};

/**
 * onRequest, after authentication: a Content-Length over the upload limit
 * (with room for the form around the file) is refused with 413 before a
 * byte of the body is read, and the connection closed (closeUnreadRequest).
 * Without a Content-Length (chunked) the limit is applied as the file streams.
 */
function refuseOversized(maxBytes: number) {
  return async (request: FastifyRequest): Promise<void> => {
    const length = Number(request.headers["content-length"]);
    if (Number.isFinite(length) && length > maxBytes + FORM_OVERHEAD_BYTES) {
      throw new AppError(ErrorCode.PayloadTooLarge, `The file is over this server's limit of ${formatSize(maxBytes)}.`);
    }
  };
}

/**
 * onSend: an upload refused before its body was all read (too large,
 * unauthenticated, rate-limited, the quota) ends its connection after the
 * answer (`Connection: close`), so that the rest of the body is not read:
 * Node would otherwise read and discard it all to reuse the connection.
 */
async function closeUnreadRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (reply.statusCode >= 400 && !request.raw.complete) void reply.header("connection", "close");
}

/**
 * The parts of a multipart request as FormParts (uploads.ts), in order,
 * with the parser's refusals as AppErrors (validation_failed: the form
 * was not one file and a few short fields). A client that goes away
 * mid-form ends the iteration (and its file stream) with an error, so
 * that nothing waits for bytes that will never come.
 */
async function* formParts(request: FastifyRequest): AsyncGenerator<FormPart> {
  let current: Readable | null = null;
  let abort: (err: Error) => void = () => undefined;
  const aborted = new Promise<never>((_resolve, reject) => (abort = reject));
  aborted.catch(() => undefined);
  const onClose = () => {
    if (request.raw.complete) return;
    const err = new AppError(ErrorCode.ValidationFailed, "The request ended before the form did.");
    current?.destroy(err);
    abort(err);
  };
  request.raw.once("close", onClose);
  try {
    const iterator = request.parts()[Symbol.asyncIterator]();
    for (;;) {
      let next: Awaited<ReturnType<typeof iterator.next>>;
      try {
        next = await Promise.race([iterator.next(), aborted]);
      } catch (err) {
        throw formError(err);
      }
      if (next.done) return;
      const part = next.value;
      if (part.type === "file") {
        current = part.file;
        yield { type: "file", name: part.fieldname, filename: part.filename, contentType: part.mimetype, stream: part.file };
      } else {
        yield { type: "field", name: part.fieldname, value: String(part.value), truncated: part.valueTruncated || part.fieldnameTruncated };
      }
    }
  } finally {
    request.raw.off("close", onClose);
  }
}

/** A refusal of @fastify/multipart or busboy as this API's error. */
function formError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown }).code;
  const detail = (message: string) => new AppError(ErrorCode.ValidationFailed, `Invalid form: ${message}`, { details: [{ path: "body", message }] });
  switch (code) {
    case "FST_FILES_LIMIT":
      return detail("One file per upload.");
    case "FST_FIELDS_LIMIT":
    case "FST_PARTS_LIMIT":
      return detail(`At most ${FORM_FIELDS} text fields and one file.`);
    case "FST_PROTO_VIOLATION":
      return detail("A field name is not allowed.");
    default:
      // busboy: a malformed part header, a missing boundary, the form cut short.
      return detail(err instanceof Error ? `${err.message}.`.replace(/\.\.$/, ".") : "Not valid multipart/form-data.");
  }
}

/**
 * The one byte range asked for (RFC 9110 §14.2), or null to send the whole
 * file: no Range, not `bytes`, malformed, several ranges, or an `If-Range`
 * that is not this file's ETag. @returns "unsatisfiable" when no byte of the range is in the file
 */
function rangeOf(request: FastifyRequest, size: number, etag: string): { start: number; end: number } | "unsatisfiable" | null {
  const header = request.headers.range;
  if (header === undefined) return null;
  const ifRange = request.headers["if-range"];
  if (ifRange !== undefined && (Array.isArray(ifRange) || ifRange.trim() !== etag)) return null;
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) return "unsatisfiable";
  if (ranges === -2 || ranges.type !== "bytes" || ranges.length !== 1) return null;
  const [range] = ranges;
  return range ? { start: range.start, end: range.end } : null;
}

/** Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2), or is `*`. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}

/**
 * `inline` or `attachment` with the display name (RFC 6266): `filename*`
 * in UTF-8 (RFC 8187) for browsers, and a plain-ASCII `filename` for the
 * rest (every character outside printable ASCII, and `"`, `\` and `%`,
 * replaced by `_`).
 */
export function contentDisposition(type: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7E]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The thumbnail's name: the file's, with `.webp` for its extension. */
function thumbnailName(name: string): string {
  const dot = name.lastIndexOf(".");
  return `${dot > 0 ? name.slice(0, dot) : name}.webp`;
}
