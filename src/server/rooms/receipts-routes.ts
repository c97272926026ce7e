import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { MarkDeliveredRequestSchema, ReadAllResponseSchema, ReceiptsResponseSchema, RoomParamsSchema } from "@shared/protocol/http.js";
import type { Services } from "../services.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses, NoContentSchema } from "../http/openapi.js";

/** Receipts (issue 9): delivered positions, every member's positions, mark all read. Same service as the WS commands. */
export const receiptRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const onRequestAuth = authenticate(services.auth);
  const tags = ["rooms"];

  app.post(
    "/rooms/read-all",
    { schema: { tags, summary: "Mark every room of mine read up to its last seq", response: { 200: ReadAllResponseSchema } }, onRequest: onRequestAuth },
    async (request) => services.receipts.readAll(actorOf(request)),
  );

  app.post(
    "/rooms/:roomId/delivered",
    { schema: { tags, summary: "Say the room's events up to a seq reached my device", params: RoomParamsSchema, body: MarkDeliveredRequestSchema, response: { 204: NoContentSchema, ...errorResponses(403, 404) } }, onRequest: onRequestAuth },
    async (request, reply) => {
      await services.receipts.markDelivered(actorOf(request), request.params.roomId, request.body.seq);
      return reply.code(204).send();
    },
  );

  app.get(
    "/rooms/:roomId/receipts",
    { schema: { tags, summary: "Every member's read and delivered position (members only)", params: RoomParamsSchema, response: { 200: ReceiptsResponseSchema, ...errorResponses(403, 404) } }, onRequest: onRequestAuth },
    async (request) => services.receipts.positions(actorOf(request), request.params.roomId),
  );
};
