import { z } from "zod";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { SearchRequestSchema, SearchResponseSchema } from "@shared/protocol/search.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import type { Actor } from "../deps.js";
import { AppError } from "../errors.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses } from "../http/openapi.js";
import { searchLimit } from "../rooms/rate-limits.js";

/**
 * What every search passes before the service runs it, on every transport
 * (GET /search, GET /rooms/:roomId/messages?search=, the socket's `search`):
 * the query length the operator allows, then one count against the user's
 * search budget. One per node (app.ts), so the three share one budget.
 */
export interface SearchAdmission {
  /**
   * Refuses a query longer than --search-query-max-chars (the shared schema
   * already refused past 500, MAX_SEARCH_QUERY_CHARS; the setting may lower it).
   * @param q the query, trimmed (as the schema gives it); length in UTF-16 units, as zod's `max` counts
   * @param path where the query was, for `details`: "querystring.q", "querystring.search", or "q" on the socket
   * @throws AppError validation_failed, details `[{path, message}]`
   */
  checkQuery(q: string, path: string): void;
  /**
   * Counts one search of `actor` against --searches-per-minute (fixed one-minute
   * windows, per user; in Redis with --redis-url, shared by every node).
   * @throws AppError rate_limited, retryAfter = seconds left in the window
   */
  count(actor: Actor): Promise<void>;
}

const TOO_MANY = "Too many searches; try again later.";

/**
 * GET /search's query string: SearchRequestSchema's fields in an unnamed
 * object. A named one (`.meta({ id })`) would be a `$ref` in the document,
 * which @fastify/swagger cannot expand into query parameters.
 */
const SearchQuerySchema = z.object(SearchRequestSchema.shape);

/**
 * The node's SearchAdmission, on @fastify/rate-limit's store (the plugin
 * must be registered on `app` first). The limiter is made with
 * `createRateLimit` rather than as a route hook so that the socket, which
 * has no Fastify request, counts against the same counters: it is keyed on
 * the actor alone (rooms/rate-limits.ts's perUser key, `searches:<userId>`).
 */
export function searchAdmission(app: Pick<FastifyInstance, "createRateLimit">, config: Config): SearchAdmission {
  const check = app.createRateLimit(searchLimit(config));
  const max = config.searchQueryMaxChars;
  return {
    checkQuery(q, path) {
      if (q.length <= max) return;
      throw new AppError(ErrorCode.ValidationFailed, `A search is at most ${max} characters.`, {
        details: [{ path, message: `At most ${max} characters.` }],
      });
    },
    async count(actor) {
      // What the limiter reads of a request: the actor (its key) and the route's config (a rate-limit groupId; none).
      const verdict = await check({ actor, routeOptions: { config: {} } } as unknown as FastifyRequest);
      if (!verdict.isAllowed && verdict.isExceeded) throw new AppError(ErrorCode.RateLimited, TOO_MANY, { retryAfter: verdict.ttlInSeconds });
    },
  };
}

/**
 * GET /api/v1/search: the socket's `search` (realtime/commands.ts) and GET
 * /rooms/{roomId}/messages?search= (messages/routes.ts) call the same
 * service, after the same SearchAdmission.
 */
export const searchRoutes: FastifyPluginAsyncZod<{ services: Services; search: SearchAdmission }> = async (app, { services, search }) => {
  const onRequestAuth = authenticate(services.auth);
  app.get(
    "/search",
    {
      schema: {
        tags: ["search"],
        summary: "Search the messages I may read: best matches or newest first, a page at a time",
        querystring: SearchQuerySchema,
        response: { 200: SearchResponseSchema, ...errorResponses(400, 403, 404, 429) },
      },
      onRequest: onRequestAuth,
      // After validation: a query the schema refused is not counted; one the setting refuses is not either.
      preHandler: async (request) => {
        search.checkQuery(request.query.q, "querystring.q");
        await search.count(actorOf(request));
      },
    },
    async (request) => services.search.search(actorOf(request), request.query),
  );
};
