import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { UserSearchQuerySchema, UsersResponseSchema } from "@shared/protocol/http.js";
import type { Services } from "../services.js";
import { actorOf, authenticate } from "../http/identity.js";

/** GET /users?q= : people to start a conversation with. */
export const userRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    "/users",
    { schema: { tags: ["users"], summary: "Find users by username or display name prefix", querystring: UserSearchQuerySchema, response: { 200: UsersResponseSchema } }, onRequest: authenticate(services.auth) },
    async (request) => ({ users: await services.users.search(actorOf(request), request.query.q) }),
  );
};
