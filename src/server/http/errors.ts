import { randomUUID } from "node:crypto";
import { STATUS_CODES, maxHeaderSize } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { ErrorCode, type ErrorBody, type ErrorDetail } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";
import { databaseUnavailable, isDatabaseUnavailable } from "../store/outage.js";

/**
 * Maps every failure to contract v1's `{error: {code, message, details?}}`
 * once, at the HTTP edge: AppErrors keep their code, Fastify's own errors
 * (bad JSON, body too large, schema validation) get a stable one, anything
 * else is logged and answered as internal_error without internals.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError | Error, request, reply) => {
    const mapped = toAppError(err);
    if (mapped.code === ErrorCode.Internal) request.log.error({ err }, "request failed");
    else if (mapped.code === ErrorCode.Unavailable && !(err instanceof AppError)) request.log.warn({ err: err.message }, "database unavailable");
    if (mapped.retryAfter !== undefined && !reply.hasHeader("retry-after")) {
      void reply.header("retry-after", String(mapped.retryAfter));
    }
    const body: ErrorBody = { error: { code: mapped.code, message: mapped.message } };
    if (mapped.details) body.error.details = mapped.details;
    return reply.code(mapped.status).type("application/json").send(body);
  });
}

function toAppError(err: FastifyError | AppError | Error): AppError {
  if (err instanceof AppError) return err;
  if (isDatabaseUnavailable(err)) return databaseUnavailable();
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? "body";
    const details: ErrorDetail[] = err.validation.map((v) => ({
      path: [where, ...v.instancePath.split("/").filter(Boolean)].join("."),
      message: v.message ?? "Invalid.",
    }));
    const first = details[0];
    return new AppError(ErrorCode.ValidationFailed, first ? `Invalid ${first.path}: ${first.message}` : "Invalid input.", { details });
  }
  const fe = err as FastifyError;
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError(ErrorCode.PayloadTooLarge, "The request body is too large.");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError(ErrorCode.ValidationFailed, "Send JSON with Content-Type: application/json.");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError(ErrorCode.ValidationFailed, "The JSON body is empty.");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new AppError(ErrorCode.ValidationFailed, "The body is not valid JSON.", { details: [{ path: "body", message: "Not valid JSON." }] });
  }
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    return new AppError(ErrorCode.ValidationFailed, "The body is not valid JSON.", { details: [{ path: "body", message: "Not valid JSON." }] });
  }
  if (fe.statusCode === 429) return new AppError(ErrorCode.RateLimited, "Too many requests; try again later.");
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError(ErrorCode.ValidationFailed, fe.message);
  }
  return new AppError(ErrorCode.Internal, "Something went wrong on the server.");
}

/**
 * Fastify's `frameworkErrors`: the router's refusals, which happen before
 * any route or hook, in contract v1's shape with the request's
 * X-Request-Id. A target that is not valid percent-encoding
 * (FST_ERR_BAD_URL) and a path parameter over the router's
 * maxParamLength (FST_ERR_MAX_PARAM_LENGTH; no id, name or emoji comes
 * near it) are `400 validation_failed`, as any other bad path is.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  let mapped: AppError;
  if (err.code === "FST_ERR_BAD_URL") {
    mapped = new AppError(ErrorCode.ValidationFailed, "The request's path is not valid percent-encoded UTF-8.", {
      details: [{ path: "url", message: "Not valid percent-encoding." }],
    });
  } else if (err.code === "FST_ERR_MAX_PARAM_LENGTH") {
    mapped = new AppError(ErrorCode.ValidationFailed, "A path parameter is too long.", {
      details: [{ path: "params", message: "Too long." }],
    });
  } else {
    request.log.error({ err }, "request failed in the router");
    mapped = new AppError(ErrorCode.Internal, "Something went wrong on the server.");
  }
  const body: ErrorBody = { error: { code: mapped.code, message: mapped.message } };
  if (mapped.details) body.error.details = mapped.details;
  void reply.code(mapped.status).header("x-request-id", request.id).type("application/json").send(body);
}

/** How long a refused connection may still take to read our answer before it is cut (ms). */
const CLIENT_ERROR_LINGER_MS = 2_000;

/** The socket's response under way, if any (Node's own field, which its default clientError handling checks too). */
interface HttpSocket extends Duplex {
  _httpMessage?: { headersSent?: boolean } | null;
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before
 * Fastify sees a request, answered in contract v1's shape, with a fresh
 * X-Request-Id (no header could be read) and `Connection: close`:
 *
 * - `HPE_HEADER_OVERFLOW` (request line and headers over Node's
 *   max-http-header-size): `431 headers_too_large`;
 * - `ERR_HTTP_REQUEST_TIMEOUT` (headers not complete in time): `408 request_timeout`;
 * - any other parse error (a raw non-ASCII byte or a space in the target,
 *   a bad header line, a bad chunk): `400 validation_failed`.
 *
 * No body to a HEAD (RFC 9110 §9.3.2): the method is read from the refused
 * bytes when they begin with the request line, which is how one request
 * arrives on all but the slowest links. A reset connection, or one whose
 * response was already started, is only closed. The connection is ended,
 * then cut after a short linger so the peer can read the answer.
 */
export function clientErrorHandler(log: FastifyBaseLogger): (err: NodeJS.ErrnoException & { rawPacket?: unknown; reason?: unknown }, socket: Duplex) => void {
  return (err, socket) => {
    const http = socket as HttpSocket;
    if (err.code === "ECONNRESET" || err.code === "EPIPE" || socket.destroyed) return;
    if (!socket.writable || http._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const requestId = randomUUID();
    let error: AppError;
    if (err.code === "HPE_HEADER_OVERFLOW") {
      error = new AppError(ErrorCode.HeadersTooLarge, `The request line and headers are over ${maxHeaderSize / 1024} KiB.`);
      log.warn({ reqId: requestId, code: err.code }, "refused a request whose headers are too large");
    } else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      error = new AppError(ErrorCode.RequestTimeout, "The request's headers did not arrive in time.");
      log.debug({ reqId: requestId, code: err.code }, "refused a request that timed out");
    } else {
      error = new AppError(ErrorCode.ValidationFailed, "The request is not valid HTTP/1.1.");
      log.debug({ reqId: requestId, code: err.code, reason: err.reason }, "refused a request that is not valid HTTP");
    }
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    const json = JSON.stringify(body);
    const head = [
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? "Error"}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(json)}`,
      `X-Request-Id: ${requestId}`,
      "Connection: close",
    ].join("\r\n");
    socket.end(`${head}\r\n\r\n${methodOf(err.rawPacket) === "HEAD" ? "" : json}`);
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  };
}

/** The method of a request line at the start of `raw` (the bytes Node could not parse), else null. */
function methodOf(raw: unknown): string | null {
  if (!Buffer.isBuffer(raw)) return null;
  return /^([A-Z]{1,16}) /.exec(raw.subarray(0, 17).toString("latin1"))?.[1] ?? null;
}
