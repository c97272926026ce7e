import type { FastifyRequest } from "fastify";
import type { RateLimitOptions } from "@fastify/rate-limit";
import { rateLimitOptions } from "../auth/limits.js";
import type { Config } from "../config.js";
import { actorOf } from "../http/identity.js";

/**
 * Per-user HTTP rate limits on rooms and messages (issue 8), on
 * @fastify/rate-limit's store (fixed windows): in memory on one node, in
 * Redis (shared by every node) with --redis-url. Each is
 * turned into a preHandler with `app.rateLimit(options)`: one counter store
 * per call, shared by every route given that hook (POST /rooms and POST
 * /direct share the creation budget). Keyed on the authenticated user
 * (`authenticate` runs in onRequest, before any preHandler), never on the
 * address: people behind one NAT do not share a budget, and one person
 * with many addresses does. A refusal is contract v1's 429 `rate_limited`
 * with Retry-After in seconds; the request is counted after validation
 * and before the handler, so a refused request changes nothing.
 */

/** Users each limiter remembers; an LRU past it forgets the least recent (~100 bytes each). */
const USER_KEYS_CACHED = 50_000;

/**
 * `scope` starts each key: with many nodes the counters live in one Redis
 * namespace (app.ts), where limiters made by `app.rateLimit` are not told
 * apart by route, so two limits of one user must not share a key.
 */
const perUser = (scope: string, max: number, timeWindowMs: number, message: string): RateLimitOptions =>
  rateLimitOptions(max, timeWindowMs, message, {
    keyGenerator: (request: FastifyRequest) => `${scope}:${actorOf(request).userId}`,
    cache: USER_KEYS_CACHED,
  });

/**
 * `roomsCreatedPerHour` per user, for POST /rooms and POST /direct: give
 * both the same hook, and skip it on POST /direct when the conversation
 * exists already (opening it creates nothing).
 */
export const roomCreationLimit = (config: Config): RateLimitOptions =>
  perUser("rooms-created", config.roomsCreatedPerHour, 3_600_000, "Too many rooms created; try again later.");

/** `memberAddsPerMinute` per user, for POST /rooms/:roomId/members (every attempt counts). */
export const memberAddLimit = (config: Config): RateLimitOptions =>
  perUser("members-added", config.memberAddsPerMinute, 60_000, "Too many members added; try again later.");

/** `httpMessagesPerMinute` per user, for POST /rooms/:roomId/messages (the socket has its own per-socket limit). */
export const httpMessageLimit = (config: Config): RateLimitOptions =>
  perUser("http-messages", config.httpMessagesPerMinute, 60_000, "Too many messages; try again later.");

/** `uploadsPerMinute` per user, for POST /uploads (every attempt counts, refused ones too). */
export const uploadLimit = (config: Config): RateLimitOptions =>
  perUser("uploads", config.uploadsPerMinute, 60_000, "Too many uploads; try again later.");

/**
 * `searchesPerMinute` per user, for every search (issue 18): GET /search,
 * GET /rooms/:roomId/messages?search= and the socket's `search` count
 * against one budget (search/routes.ts's SearchAdmission holds the one
 * limiter; every attempt that passed validation counts).
 */
export const searchLimit = (config: Config): RateLimitOptions =>
  perUser("searches", config.searchesPerMinute, 60_000, "Too many searches; try again later.");

/**
 * `notificationChangesPerMinute` per user (issue 19), for PATCH
 * /notifications/settings, PUT /rooms/:roomId/notifications and the push
 * subscription changes: one budget (notifications/routes.ts
 * notificationChangeHook makes the one hook they share).
 */
export const notificationChangeLimit = (config: Config): RateLimitOptions =>
  perUser("notification-changes", config.notificationChangesPerMinute, 60_000, "Too many notification setting changes; try again later.");
