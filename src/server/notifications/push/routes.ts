import type { FastifyRequest, preHandlerHookHandler } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RateLimitOptions } from "@fastify/rate-limit";
import {
  CreatePushSubscriptionRequestSchema,
  PushSubscriptionParamsSchema,
  PushSubscriptionResponseSchema,
  PushSubscriptionsResponseSchema,
} from "@shared/protocol/notifications.js";
import type { Config } from "../../config.js";
import type { Services } from "../../services.js";
import { rateLimitOptions } from "../../auth/limits.js";
import { actorOf, authenticate } from "../../http/identity.js";
import { NoContentSchema, errorResponses } from "../../http/openapi.js";

/**
 * Web Push subscriptions over HTTP (issue 19): POST/GET
 * /push/subscriptions, DELETE /push/subscriptions/:subscriptionId, and
 * POST …/:subscriptionId/test (202: queued, not yet sent). Changes (POST,
 * DELETE) count against `notificationChangesPerMinute` per user: the
 * `changeLimit` hook given (the one budget of every notification change,
 * notifications/routes.ts), else a budget of their own under that setting;
 * tests against `pushTestsPerMinute`.
 */

/** Users each limiter remembers (as rooms/rate-limits.ts). */
const USER_KEYS_CACHED = 50_000;

const perUser = (scope: string, max: number, message: string): RateLimitOptions =>
  rateLimitOptions(max, 60_000, message, { keyGenerator: (request: FastifyRequest) => `${scope}:${actorOf(request).userId}`, cache: USER_KEYS_CACHED });

/** `notificationChangesPerMinute` per user for subscribing and removing devices. */
export const pushChangeLimit = (config: Config): RateLimitOptions =>
  perUser("push-changes", config.notificationChangesPerMinute, "Too many push subscription changes; try again later.");

/** `pushTestsPerMinute` per user for test notifications. */
export const pushTestLimit = (config: Config): RateLimitOptions =>
  perUser("push-tests", config.pushTestsPerMinute, "Too many test notifications; try again later.");

export const pushRoutes: FastifyPluginAsyncZod<{ services: Services; config: Config; changeLimit?: preHandlerHookHandler }> = async (app, opts) => {
  const { services, config } = opts;
  const onRequestAuth = authenticate(services.auth);
  const changeLimit = opts.changeLimit ?? app.rateLimit(pushChangeLimit(config));
  const testLimit = app.rateLimit(pushTestLimit(config));
  const tags = ["notifications"];

  app.post(
    "/push/subscriptions",
    {
      schema: {
        tags,
        summary: "Subscribe this browser to Web Push (PushSubscription.toJSON()); an endpoint already known moves to you",
        body: CreatePushSubscriptionRequestSchema,
        response: { 201: PushSubscriptionResponseSchema, ...errorResponses(409, 429) },
      },
      onRequest: onRequestAuth,
      preHandler: changeLimit,
    },
    async (request, reply) => {
      const subscription = await services.pushSubscriptions.create(actorOf(request), request.body, request.headers["user-agent"]);
      return reply.code(201).send({ subscription });
    },
  );

  app.get(
    "/push/subscriptions",
    { schema: { tags, summary: "Your devices subscribed to Web Push", response: { 200: PushSubscriptionsResponseSchema } }, onRequest: onRequestAuth },
    async (request) => ({ subscriptions: await services.pushSubscriptions.list(actorOf(request)) }),
  );

  app.delete(
    "/push/subscriptions/:subscriptionId",
    {
      schema: { tags, summary: "Remove one of your push subscriptions", params: PushSubscriptionParamsSchema, response: { 204: NoContentSchema, ...errorResponses(404, 429) } },
      onRequest: onRequestAuth,
      preHandler: changeLimit,
    },
    async (request, reply) => {
      await services.pushSubscriptions.delete(actorOf(request), request.params.subscriptionId);
      return reply.code(204).send();
    },
  );

  app.post(
    "/push/subscriptions/:subscriptionId/test",
    {
      schema: {
        tags,
        summary: "Send a test notification to one of your devices (queued: 202 before the push service answers)",
        params: PushSubscriptionParamsSchema,
        response: { 202: NoContentSchema, ...errorResponses(404, 429) },
      },
      onRequest: onRequestAuth,
      preHandler: testLimit,
    },
    async (request, reply) => {
      await services.pushSubscriptions.test(actorOf(request), request.params.subscriptionId);
      return reply.code(202).send();
    },
  );
};
