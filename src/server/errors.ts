import type { ZodError } from "zod";
import { ErrorCode, errorStatus, type ErrorDetail } from "@shared/protocol/errors.js";

/**
 * The one error type services throw for anything a caller did wrong or may
 * not do. The transport edge maps it once: HTTP status + `{error}` body, or
 * an `error` frame on the socket. Anything else thrown is a bug (500).
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  /** Seconds, for rate_limited: sent as Retry-After / retryAfter. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { details?: ErrorDetail[]; retryAfter?: number } = {}) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.details = opts.details;
    this.retryAfter = opts.retryAfter;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

/** Turns zod issues into `details` entries with dotted paths. */
export function detailsFromZod(error: ZodError, prefix?: string): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== "").join(".");
    return { path: path || "(root)", message: issue.message };
  });
}

/** A validation_failed error from a zod failure; the message names the first bad field. */
export function validationError(error: ZodError, prefix?: string): AppError {
  const details = detailsFromZod(error, prefix);
  const first = details[0];
  const message = first ? `Invalid ${first.path}: ${first.message}` : "Invalid input.";
  return new AppError(ErrorCode.ValidationFailed, message, { details });
}

export const notFound = (what = "Not found."): AppError => new AppError(ErrorCode.NotFound, what);
export const forbidden = (why = "You may not do that."): AppError => new AppError(ErrorCode.Forbidden, why);
