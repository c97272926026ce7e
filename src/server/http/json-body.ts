import type { FastifyInstance } from "fastify";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";

/** The charsets a JSON body may declare: UTF-8 only (RFC 8259 §8.1), under its two common spellings. */
const UTF8 = new Set(["utf-8", "utf8"]);

/** The `charset` parameter of a Content-Type header, lower-cased and unquoted; null when there is none. */
export function charsetOf(contentType: string): string | null {
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  if (!m) return null;
  return (m[1] ?? m[2] ?? "").toLowerCase();
}

/**
 * Replaces Fastify's `application/json` parser with the same parser behind
 * a charset check: the body is read as UTF-8 (RFC 8259 §8.1), so a body
 * declared in another charset (`charset=utf-16`, `latin1`) would be read as
 * something its sender did not mean. It is refused with `400
 * validation_failed` (details path `Content-Type`), like any other media
 * type the API does not take, before a byte of it is parsed.
 */
export function registerJsonBody(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const charset = charsetOf(request.headers["content-type"] ?? "");
    if (charset !== null && !UTF8.has(charset)) {
      done(
        new AppError(ErrorCode.ValidationFailed, "Send JSON in UTF-8: Content-Type: application/json or application/json; charset=utf-8.", {
          details: [{ path: "Content-Type", message: `Unsupported charset ${JSON.stringify(charset.slice(0, 40))}; only utf-8.` }],
        }),
        undefined,
      );
      return;
    }
    parse(request, typeof body === "string" ? body : body.toString("utf8"), done);
  });
}
