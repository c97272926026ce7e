import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { FastifyReply } from "fastify";
import type { Services } from "../../services.js";
import { HtmlPageSchema, errorResponses } from "../../http/openapi.js";
import { escapeHtml } from "./render.js";
import { UNSUBSCRIBE_PATH, UnsubscribeQuerySchema } from "./unsubscribe.js";

/**
 * The unsubscribe link of email digests (RFC 8058), one URL for two uses:
 * - POST: the one-click unsubscribe a mail provider sends (body
 *   `List-Unsubscribe=One-Click`, form-encoded; no session, no CSRF token:
 *   the token in the URL is the credential), and the button of the page below;
 * - GET: a page with that button. A GET never unsubscribes: mail scanners
 *   and link previews fetch every link of a mail.
 * A token this installation did not make, or whose user is gone, answers
 * 404 either way (validation_failed 400 when it is not even a token's shape).
 */

/** Headers of the pages: nothing runs, nothing is embedded, the token leaves in no Referer. */
function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .type("text/html; charset=utf-8")
    .header("cache-control", "no-store")
    .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    .header("referrer-policy", "no-referrer")
    .header("x-content-type-options", "nosniff");
}

function page(title: string, body: string): string {
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)} · Parley</title></head>`,
    '<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">',
    `<h1 style="font-size: 1.4rem">${escapeHtml(title)}</h1>`,
    body,
    "</body></html>",
  ].join("\n");
}

export const emailRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  // RFC 8058's POST is a form (url-encoded or multipart); the body says nothing the URL does not, so it is read and ignored.
  app.addContentTypeParser(["application/x-www-form-urlencoded", "multipart/form-data"], { parseAs: "string", bodyLimit: 4096 }, (_request, _body, done) => done(null, undefined));

  const path = UNSUBSCRIBE_PATH.slice("/api/v1".length);
  app.get(
    path,
    {
      schema: {
        tags: ["notifications"],
        summary: "The unsubscribe link of an email digest: a page with a button that unsubscribes (a GET changes nothing)",
        security: [],
        querystring: UnsubscribeQuerySchema,
        response: { 200: HtmlPageSchema, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      await services.unsubscribe.check(request.query.token);
      const action = `${UNSUBSCRIBE_PATH}?token=${encodeURIComponent(request.query.token)}`;
      return pageHeaders(reply).send(
        page(
          "Stop email digests?",
          `<p>You will no longer get emails about direct messages and mentions you missed. You can turn them on again in Parley's notification settings.</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit" style="font-size: 1rem; padding: 0.5rem 1rem">Unsubscribe</button></form>`,
        ),
      );
    },
  );
  app.post(
    path,
    {
      schema: {
        tags: ["notifications"],
        summary: "One-click unsubscribe from email digests (RFC 8058): the token is the credential",
        security: [],
        querystring: UnsubscribeQuerySchema,
        response: { 200: HtmlPageSchema, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      await services.unsubscribe.unsubscribe(request.query.token);
      return pageHeaders(reply).send(page("You are unsubscribed", "<p>Parley will not email you about missed messages any more. You can turn email digests on again in Parley's notification settings.</p>"));
    },
  );
};
