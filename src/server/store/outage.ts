import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";

/**
 * PostgreSQL SQLSTATE classes and codes that mean "the database is not
 * answering now", not "this statement is wrong" (PostgreSQL's errcodes
 * appendix): 08 connection exceptions, 57P01–57P03 (admin shutdown, crash
 * shutdown, cannot connect now: a restart), 53300 too many connections.
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
/** Node's socket errors on a connection that could not be made or was cut. */
const NETWORK_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
/** node-postgres says these in words, with no code. */
const POOL_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /client has encountered a connection error/i, /connection ended/i];

/** True when `err` says the database could not be reached or dropped the connection: retrying later may succeed. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (code.startsWith("08") || UNAVAILABLE_SQLSTATES.has(code) || NETWORK_ERRNOS.has(code))) return true;
  if (err instanceof AggregateError) return err.errors.some(isDatabaseUnavailable);
  return POOL_MESSAGES.some((re) => re.test(err.message));
}

/**
 * What a client is told when the database is unreachable: 503 `unavailable`
 * with Retry-After 1. A send that fails so was not acknowledged; retried with
 * the same clientId, it is stored once (DESIGN.md invariant 3) even if the
 * commit did land before the connection broke.
 */
export function databaseUnavailable(): AppError {
  return new AppError(ErrorCode.Unavailable, "The database is not answering; try again in a moment.", { retryAfter: 1 });
}
