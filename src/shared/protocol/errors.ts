import { z } from "zod";

/**
 * Stable error codes, over HTTP and over the WebSocket (DESIGN.md contract
 * v1). Clients switch on the code, never on the message.
 */
export const ErrorCode = {
  /**
   * 400: the input is not acceptable: not JSON, an unknown frame type, a
   * field missing, mistyped or out of range; `details` says where.
   */
  ValidationFailed: "validation_failed",
  /** 401: no valid session or token, or wrong credentials at login. */
  Unauthenticated: "unauthenticated",
  /** 403: not allowed to do this (including a cookie-authenticated change without X-CSRF-Token). */
  Forbidden: "forbidden",
  /** 404: no such thing, or one the caller may not know exists. */
  NotFound: "not_found",
  /** 409 */
  UsernameTaken: "username_taken",
  /** 409 */
  EmailTaken: "email_taken",
  /** 413: a body, frame or message over its limit. */
  PayloadTooLarge: "payload_too_large",
  /**
   * 415 (ext, issue 17): an upload whose content is not what it must be to
   * be kept: an image (by its bytes) that does not decode, a truncated or
   * corrupt one. A file of a type the server does not display is not
   * refused: it is kept as a download.
   */
  UnsupportedMediaType: "unsupported_media_type",
  /**
   * 416 (ext, issue 17): a `Range` outside a file's bytes; the answer's
   * `Content-Range` gives the file's size (RFC 9110 §14.4). HTTP only.
   */
  RangeNotSatisfiable: "range_not_satisfiable",
  /**
   * 409: a bound on how much may exist was reached (rooms one person is in,
   * members of a room); `details` names whose. Retrying succeeds only once
   * something changed (someone left a room), unlike rate_limited.
   */
  LimitReached: "limit_reached",
  /** 429: too many requests; HTTP adds Retry-After (seconds). */
  RateLimited: "rate_limited",
  /**
   * 431 (RFC 6585): the request line and headers together are over what
   * the server reads (Node's max-http-header-size, 16 KiB by default),
   * usually a huge cookie or URL. HTTP only; the connection is closed.
   */
  HeadersTooLarge: "headers_too_large",
  /**
   * 408: the request's line and headers did not arrive in time (Node's
   * headersTimeout, 60 s). HTTP only; the connection is closed.
   */
  RequestTimeout: "request_timeout",
  /** 500: a bug or an outage; the message says nothing internal. */
  Internal: "internal_error",
  /**
   * 503: the server is shutting down, or its database is not answering (a
   * restart, a failover); retry on another node or after `retryAfter`
   * seconds. Nothing was done: a send answered so was not stored, unless a
   * retry with its clientId says otherwise.
   */
  Unavailable: "unavailable",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each code: the transport maps once, here. */
export const errorStatus: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  username_taken: 409,
  email_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  limit_reached: 409,
  rate_limited: 429,
  headers_too_large: 431,
  request_timeout: 408,
  internal_error: 500,
  unavailable: 503,
};

/** One invalid field: `path` is dotted (`body`, `rooms.r1`), `message` is for people. */
export const ErrorDetailSchema = z.object({
  path: z.string(),
  message: z.string(),
}).meta({ id: "ErrorDetail" });
export type ErrorDetail = z.infer<typeof ErrorDetailSchema>;

/** HTTP error body: `{"error": {"code", "message", "details"?}}` (contract v1). */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(ErrorDetailSchema).optional(),
  }),
}).meta({ id: "ErrorBody" });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/**
 * WebSocket close codes. 1000-1015 follow RFC 6455 §7.4.1; 4000-4999 are
 * Parley's own (the range RFC 6455 leaves to applications).
 */
export const CloseCode = {
  /** RFC 6455: the server is shutting down; reconnect elsewhere or later. */
  GoingAway: { code: 1001, reason: "going away" },
  /**
   * IANA's WebSocket close code registry (RFC 6455 §11.7): the node is
   * restarting or stopping; reconnect at once (through the load balancer,
   * to another node) and resume by seq.
   */
  ServiceRestart: { code: 1012, reason: "service restart" },
  /** RFC 6455: the peer broke the protocol (binary frame where text is required). */
  ProtocolError: { code: 1002, reason: "protocol error" },
  /** RFC 6455: unsupported data (binary frames). */
  UnsupportedData: { code: 1003, reason: "text frames only" },
  /**
   * RFC 6455: the client kept sending malformed frames (more than
   * wsInvalidFramesPerMinute), or too many before `ready`.
   */
  PolicyViolation: { code: 1008, reason: "policy violation" },
  /** RFC 6455: a frame over MAX_FRAME_BYTES (sent by ws itself, before the frame is read whole). */
  MessageTooBig: { code: 1009, reason: "frame too large" },
  /** The session or token behind the socket ended (logout, expiry, revocation). */
  Unauthorized: { code: 4401, reason: "unauthorized" },
  /** The client read too slowly and its send buffer passed the bound; resume by seq. */
  SlowConsumer: { code: 4408, reason: "slow consumer" },
  /** The client sent far more frames than the rate limit allows. */
  Flooding: { code: 4429, reason: "flooding" },
} as const;
