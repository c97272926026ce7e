import type { FastifyInstance, preHandlerHookHandler } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  NotificationSettingsResponseSchema,
  RoomNotificationsResponseSchema,
  UpdateNotificationSettingsRequestSchema,
  UpdateRoomNotificationsRequestSchema,
} from "@shared/protocol/notifications.js";
import { RoomParamsSchema } from "@shared/protocol/http.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses } from "../http/openapi.js";
import { notificationChangeLimit } from "../rooms/rate-limits.js";

/**
 * The per-user budget of notification changes over HTTP
 * (--notification-changes-per-minute), as a preHandler. Made once per node
 * (app.ts) and handed to every route that changes notification settings or
 * push subscriptions, so they share one counter store (`app.rateLimit`
 * makes one per call).
 */
export function notificationChangeHook(app: Pick<FastifyInstance, "rateLimit">, config: Config): preHandlerHookHandler {
  return app.rateLimit(notificationChangeLimit(config));
}

/**
 * GET/PATCH /notifications/settings and PUT /rooms/:roomId/notifications
 * (issue 19); the socket's `notifications.set` and `room.notifications.set`
 * (realtime/commands.ts) call the same NotificationPreferences methods.
 */
export const notificationRoutes: FastifyPluginAsyncZod<{ services: Services; changeLimit: preHandlerHookHandler }> = async (app, { services, changeLimit }) => {
  const onRequestAuth = authenticate(services.auth);
  const tags = ["notifications"];
  const prefs = services.notificationPreferences;

  app.get(
    "/notifications/settings",
    { schema: { tags, summary: "My notification settings, whether email digests exist, the Web Push key", response: { 200: NotificationSettingsResponseSchema } }, onRequest: onRequestAuth },
    async (request) => prefs.settings(actorOf(request)),
  );

  app.patch(
    "/notifications/settings",
    {
      schema: {
        tags,
        summary: "Change my account's notification defaults, do not disturb, email digests (the fields given)",
        body: UpdateNotificationSettingsRequestSchema,
        response: { 200: NotificationSettingsResponseSchema, ...errorResponses(429) },
      },
      onRequest: onRequestAuth,
      preHandler: changeLimit,
    },
    async (request) => prefs.updateSettings(actorOf(request), request.body),
  );

  app.put(
    "/rooms/:roomId/notifications",
    {
      schema: {
        tags,
        summary: "Set my notification level and mute for a room I am a member of",
        params: RoomParamsSchema,
        body: UpdateRoomNotificationsRequestSchema,
        response: { 200: RoomNotificationsResponseSchema, ...errorResponses(403, 404, 429) },
      },
      onRequest: onRequestAuth,
      preHandler: changeLimit,
    },
    async (request) => prefs.updateRoom(actorOf(request), request.params.roomId, request.body),
  );
};
