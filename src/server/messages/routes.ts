import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  EditMessageRequestSchema,
  HistoryQuerySchema,
  MessageEditsResponseSchema,
  MessageParamsSchema,
  MessageResponseSchema,
  RepliesQuerySchema,
  RepliesResponseSchema,
  RoomMessagesResponseSchema,
  RoomParamsSchema,
  SendMessageRequestSchema,
} from "@shared/protocol/http.js";
import { ReactionParamsSchema, ReactionsResponseSchema } from "@shared/protocol/reactions.js";
import type { SearchSort } from "@shared/protocol/search.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses } from "../http/openapi.js";
import { httpMessageLimit } from "../rooms/rate-limits.js";
import type { SearchAdmission } from "../search/routes.js";

/**
 * The history page's answer as JSON, written once. The default serializer
 * (fastify-type-provider-zod) first re-parses the whole page with zod,
 * copying every message, author and reaction: on a 50-message page that
 * was ~0.1-0.2 ms of ~0.5 ms of work and 28 % of the garbage (scavenges per
 * 5,000 pages: 77 with it, 55 without; issue 10's history benchmark). The page is built only by MessageService.history
 * (with ?search=, SearchService.search), whose type the route's schema already checks at compile time, from rows
 * mapped field by field (toMessage, withReactions), so it carries no field
 * the schema would strip. The schema stays for validation of requests and
 * for the OpenAPI description.
 */
const historySerializer = (): ((data: unknown) => string) => (data) => JSON.stringify(data);

/**
 * History, sending, editing and deleting over HTTP; the socket's
 * message.send, message.edit and message.delete call the same services.
 */
export const messageRoutes: FastifyPluginAsyncZod<{ services: Services; config: Config; search: SearchAdmission }> = async (app, { services, config, search }) => {
  const onRequestAuth = authenticate(services.auth);
  const tags = ["messages"];
  // One budget per user for every message write over HTTP (send, edit, delete): each takes a seq.
  const writeLimit = app.rateLimit(httpMessageLimit(config));

  // With ?search= (ext, issue 18): the room's search, as GET /search with roomId, on the same budget; else v1's history page.
  app.get(
    "/rooms/:roomId/messages",
    {
      schema: {
        tags,
        summary: "A page of history, ascending seq; with ?search=, a search of this room (a SearchResponse)",
        params: RoomParamsSchema,
        querystring: HistoryQuerySchema,
        response: { 200: RoomMessagesResponseSchema, ...errorResponses(403, 404, 429) },
      },
      onRequest: onRequestAuth,
      preHandler: async (request) => {
        if (request.query.search === undefined) return;
        search.checkQuery(request.query.search, "querystring.search");
        await search.count(actorOf(request));
      },
      serializerCompiler: historySerializer,
    },
    async (request) => {
      const { search: q, sort, cursor, limit, before, after, around } = request.query;
      // The schema let only relevance or date through with search.
      if (q !== undefined) return services.search.search(actorOf(request), { q, roomId: request.params.roomId, sort: sort as SearchSort | undefined, cursor, limit });
      return services.messages.history(actorOf(request), request.params.roomId, { before, after, around, limit });
    },
  );

  app.post(
    "/rooms/:roomId/messages",
    { schema: { tags, summary: "Send a message (also delivered live)", params: RoomParamsSchema, body: SendMessageRequestSchema, response: { 201: MessageResponseSchema, ...errorResponses(403, 404, 429) } }, onRequest: onRequestAuth, preHandler: writeLimit },
    async (request, reply) => {
      const { body } = request;
      // No text: a message of files only (the schema refused a send with neither).
      const message = await services.messages.send(
        actorOf(request),
        request.params.roomId,
        body.body ?? "",
        body.clientId ?? null,
        body.replyTo ?? null,
        { inThread: body.inThread ?? false, alsoInRoom: body.alsoInRoom ?? false },
        body.attachments ?? [],
      );
      return reply.code(201).send({ message });
    },
  );

  app.patch(
    "/rooms/:roomId/messages/:messageId",
    { schema: { tags, summary: "Edit your message (message.edited goes live)", params: MessageParamsSchema, body: EditMessageRequestSchema, response: { 200: MessageResponseSchema, ...errorResponses(403, 404, 429) } }, onRequest: onRequestAuth, preHandler: writeLimit },
    async (request) => {
      const message = await services.edits.edit(actorOf(request), request.params.roomId, request.params.messageId, request.body.body);
      return { message };
    },
  );

  app.delete(
    "/rooms/:roomId/messages/:messageId",
    { schema: { tags, summary: "Delete a message for everyone (message.deleted goes live)", params: MessageParamsSchema, response: { 200: MessageResponseSchema, ...errorResponses(403, 404, 429) } }, onRequest: onRequestAuth, preHandler: writeLimit },
    async (request) => {
      const message = await services.deletions.delete(actorOf(request), request.params.roomId, request.params.messageId);
      return { message };
    },
  );

  app.get(
    "/rooms/:roomId/messages/:messageId/edits",
    { schema: { tags, summary: "Earlier versions of a message, oldest first", params: MessageParamsSchema, response: { 200: MessageEditsResponseSchema, ...errorResponses(403, 404) } }, onRequest: onRequestAuth },
    async (request) => ({ edits: await services.edits.history(actorOf(request), request.params.roomId, request.params.messageId) }),
  );

  // Reactions: the emoji is the last path segment, percent-encoded, so that PUT is an idempotent
  // add and DELETE its undo on the same URL, with no body (and one reaction per emoji per user
  // is the URL's identity). Both share the HTTP write budget: each change takes a seq.
  app.put(
    "/rooms/:roomId/messages/:messageId/reactions/:emoji",
    { schema: { tags, summary: "React with an emoji (reaction.added goes live); 200 if you already had", params: ReactionParamsSchema, response: { 200: ReactionsResponseSchema, 201: ReactionsResponseSchema, ...errorResponses(403, 404, 409, 429) } }, onRequest: onRequestAuth, preHandler: writeLimit },
    async (request, reply) => {
      const { roomId, messageId, emoji } = request.params;
      const change = await services.reactions.add(actorOf(request), roomId, messageId, emoji);
      return reply.code(change.changed ? 201 : 200).send({ messageId, reactions: change.reactions });
    },
  );

  app.delete(
    "/rooms/:roomId/messages/:messageId/reactions/:emoji",
    { schema: { tags, summary: "Take back your emoji reaction (reaction.removed goes live); 200 also if you had none", params: ReactionParamsSchema, response: { 200: ReactionsResponseSchema, ...errorResponses(403, 404, 429) } }, onRequest: onRequestAuth, preHandler: writeLimit },
    async (request) => {
      const { roomId, messageId, emoji } = request.params;
      const change = await services.reactions.remove(actorOf(request), roomId, messageId, emoji);
      return { messageId, reactions: change.reactions };
    },
  );

  app.get(
    "/rooms/:roomId/messages/:messageId/replies",
    { schema: { tags, summary: "A thread: its root and a page of replies, ascending seq", params: MessageParamsSchema, querystring: RepliesQuerySchema, response: { 200: RepliesResponseSchema, ...errorResponses(403, 404) } }, onRequest: onRequestAuth },
    async (request) => services.replies.thread(actorOf(request), request.params.roomId, request.params.messageId, request.query),
  );
};
