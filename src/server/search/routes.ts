import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { SearchRequestSchema, SearchResponseSchema } from "@shared/protocol/search.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses } from "../http/openapi.js";

/** GET /api/v1/search: the socket's `search` and GET /rooms/{roomId}/messages?search= call the same service. */
export const searchRoutes: FastifyPluginAsyncZod<{ services: Services; config: Config }> = async (app, { services }) => {
  const onRequestAuth = authenticate(services.auth);
  app.get(
    "/search",
    {
      schema: { tags: ["search"], summary: "Search the messages I may read", querystring: SearchRequestSchema, response: { 200: SearchResponseSchema, ...errorResponses(400, 403, 404, 429) } },
      onRequest: onRequestAuth,
    },
    async (request) => services.search.search(actorOf(request), request.query),
  );
};
