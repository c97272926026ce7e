import type { FastifyError, FastifyInstance } from "fastify";
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
