import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  HistoryQuerySchema,
  HistoryResponseSchema,
  MessageResponseSchema,
  RoomParamsSchema,
  SendMessageRequestSchema,
} from "@shared/protocol/http.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses } from "../http/openapi.js";
import { httpMessageLimit } from "../rooms/rate-limits.js";

/** History and sending over HTTP; the socket's message.send calls the same service. */
export const messageRoutes: FastifyPluginAsyncZod<{ services: Services; config: Config }> = async (app, { services, config }) => {
  const onRequestAuth = authenticate(services.auth);
  const tags = ["messages"];

  app.get(
    "/rooms/:roomId/messages",
    { schema: { tags, summary: "A page of history, ascending seq", params: RoomParamsSchema, querystring: HistoryQuerySchema, response: { 200: HistoryResponseSchema, ...errorResponses(403, 404) } }, onRequest: onRequestAuth },
    async (request) => services.messages.history(actorOf(request), request.params.roomId, request.query),
  );

  app.post(
    "/rooms/:roomId/messages",
    { schema: { tags, summary: "Send a message (also delivered live)", params: RoomParamsSchema, body: SendMessageRequestSchema, response: { 201: MessageResponseSchema, ...errorResponses(403, 404, 429) } }, onRequest: onRequestAuth, preHandler: app.rateLimit(httpMessageLimit(config)) },
    async (request, reply) => {
      const message = await services.messages.send(actorOf(request), request.params.roomId, request.body.body, request.body.clientId ?? null);
      return reply.code(201).send({ message });
    },
  );
};
