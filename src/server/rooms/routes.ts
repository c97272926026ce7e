import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AddMemberRequestSchema,
  CreateRoomRequestSchema,
  DirectRequestSchema,
  MarkReadRequestSchema,
  MemberResponseSchema,
  MembersResponseSchema,
  RoomParamsSchema,
  RoomResponseSchema,
  RoomsResponseSchema,
} from "@shared/protocol/http.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses, NoContentSchema } from "../http/openapi.js";
import { memberAddLimit, roomCreationLimit } from "./rate-limits.js";

/** Rooms, members, direct rooms and read positions (contract v1 and extensions). */
export const roomRoutes: FastifyPluginAsyncZod<{ services: Services; config: Config }> = async (app, { services, config }) => {
  const onRequestAuth = authenticate(services.auth);
  const tags = ["rooms"];
  // Per-user budgets (rooms/rate-limits.ts); one creation budget for POST /rooms and POST /direct.
  const creationLimit = app.rateLimit(roomCreationLimit(config));
  const memberAddsLimit = app.rateLimit(memberAddLimit(config));

  app.get("/rooms", { schema: { tags, summary: "My rooms, most recent activity first", response: { 200: RoomsResponseSchema } }, onRequest: onRequestAuth }, async (request) => ({
    rooms: await services.rooms.listMine(actorOf(request)),
  }));

  app.get("/rooms/public", { schema: { tags, summary: "Public rooms anyone may join", response: { 200: RoomsResponseSchema } }, onRequest: onRequestAuth }, async (request) => ({
    rooms: await services.rooms.listPublic(actorOf(request)),
  }));

  app.post("/rooms", { schema: { tags, summary: "Create a room; the creator is its owner", body: CreateRoomRequestSchema, response: { 201: RoomResponseSchema, ...errorResponses(409, 429) } }, onRequest: onRequestAuth, preHandler: creationLimit }, async (request, reply) =>
    reply.code(201).send({ room: await services.rooms.create(actorOf(request), request.body) }),
  );

  app.get("/rooms/:roomId", { schema: { tags, summary: "One room", params: RoomParamsSchema, response: { 200: RoomResponseSchema, ...errorResponses(404) } }, onRequest: onRequestAuth }, async (request) => ({
    room: await services.rooms.get(actorOf(request), request.params.roomId),
  }));

  app.post("/rooms/:roomId/join", { schema: { tags, summary: "Join a public room", params: RoomParamsSchema, response: { 200: RoomResponseSchema, ...errorResponses(404, 409) } }, onRequest: onRequestAuth }, async (request) => ({
    room: await services.rooms.join(actorOf(request), request.params.roomId),
  }));

  app.post("/rooms/:roomId/leave", { schema: { tags, summary: "Leave a room", params: RoomParamsSchema, response: { 204: NoContentSchema, ...errorResponses(403, 404) } }, onRequest: onRequestAuth }, async (request, reply) => {
    await services.rooms.leave(actorOf(request), request.params.roomId);
    return reply.code(204).send();
  });

  app.get("/rooms/:roomId/members", { schema: { tags, summary: "Members of a room", params: RoomParamsSchema, response: { 200: MembersResponseSchema, ...errorResponses(404) } }, onRequest: onRequestAuth }, async (request) => ({
    members: await services.rooms.members(actorOf(request), request.params.roomId),
  }));

  app.post(
    "/rooms/:roomId/members",
    { schema: { tags, summary: "Owner or admin adds a member (201; 200 if already one)", params: RoomParamsSchema, body: AddMemberRequestSchema, response: { 200: MemberResponseSchema, 201: MemberResponseSchema, ...errorResponses(403, 404, 409, 429) } }, onRequest: onRequestAuth, preHandler: memberAddsLimit },
    async (request, reply) => {
      const { member, created } = await services.rooms.addMember(actorOf(request), request.params.roomId, request.body.userId);
      return reply.code(created ? 201 : 200).send({ member });
    },
  );

  app.post("/rooms/:roomId/read", { schema: { tags, summary: "Mark the room read up to a seq", params: RoomParamsSchema, body: MarkReadRequestSchema, response: { 204: NoContentSchema, ...errorResponses(403, 404) } }, onRequest: onRequestAuth }, async (request, reply) => {
    await services.rooms.markRead(actorOf(request), request.params.roomId, request.body.seq);
    return reply.code(204).send();
  });

  app.post(
    "/direct",
    {
      schema: { tags, summary: "The direct room with a user, created on first use", body: DirectRequestSchema, response: { 200: RoomResponseSchema, ...errorResponses(404, 409, 429) } },
      onRequest: onRequestAuth,
      // Only a new conversation counts as a creation; reopening one is a single look-up on its unique key.
      preHandler: async function (request, reply) {
        if (await services.rooms.directExists(actorOf(request), request.body.userId)) return;
        await creationLimit.call(this, request, reply);
      },
    },
    async (request) => ({
      room: await services.rooms.openDirect(actorOf(request), request.body.userId),
    }),
  );
};
