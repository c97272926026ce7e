import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { IncomingMessage } from "node:http";
import { sql, type Kysely } from "kysely";
import { ErrorCode, type ErrorBody } from "@shared/protocol/errors.js";
import type { Database } from "../store/schema.js";

/** How long /readyz waits for the database before calling it not ready (ms). */
const READY_DATABASE_TIMEOUT_MS = 2_000;

/**
 * `/healthz` (alive: the process answers; for a supervisor's liveness
 * probe, says nothing of the database) and `/readyz` (worth sending
 * traffic to, for a load balancer: the database answers within 2 s, and
 * `redisReady()` is true). A draining node (`draining()`: its shutdown
 * began) answers /readyz 503 at once, so that a balancer stops sending it
 * traffic while it still serves; once it stops listening it answers both
 * 503 from its onRequest hook. Both are left out of the OpenAPI document.
 */
export function healthRoutes(app: FastifyInstance, opts: { db: Kysely<Database>; redisReady: () => boolean; draining: () => boolean }): void {
  app.get("/healthz", { schema: { hide: true } }, async () => ({ ok: true }));
  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    if (opts.draining()) {
      const body: ErrorBody = { error: { code: ErrorCode.Unavailable, message: "Not ready: shutting down." } };
      return reply.code(503).header("retry-after", "5").send(body);
    }
    const failing: string[] = [];
    const probe = sql`select 1`.execute(opts.db).then(
      () => true,
      () => false,
    );
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), READY_DATABASE_TIMEOUT_MS).unref());
    if (!(await Promise.race([probe, timeout]))) failing.push("database");
    if (!opts.redisReady()) failing.push("redis");
    if (failing.length === 0) return { ready: true };
    const body: ErrorBody = { error: { code: ErrorCode.Unavailable, message: `Not ready: ${failing.join(" and ")} not answering.` } };
    return reply.code(503).header("retry-after", "1").send(body);
  });
}

/**
 * Request ids: a balancer's `X-Request-Id` (nginx: `$request_id`) names
 * the request in our logs too, so one request can be followed across both;
 * a missing or odd one (not 8–64 of A-Z a-z 0-9 . _ -) gets a fresh UUID.
 * For Fastify's `genReqId` (with `requestIdHeader: false`).
 */
export function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && /^[A-Za-z0-9._-]{8,64}$/.test(given) ? given : randomUUID();
}

/** Answers every request with its id (`X-Request-Id`), so a client's report can name the log lines. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook("onSend", async (request: FastifyRequest, reply) => {
    void reply.header("x-request-id", request.id);
  });
}
