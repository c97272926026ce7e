import type { FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode } from "@shared/protocol/errors.js";
import type { Actor } from "../deps.js";
import type { AuthService } from "../auth/service.js";
import { AppError } from "../errors.js";
import { SESSION_COOKIE } from "../auth/credentials.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by `authenticate`: who is acting (DESIGN.md invariant 1). */
    actor: Actor | null;
  }
}

/** Methods that change nothing, so need no CSRF token (the OpenAPI document says the same). */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The onRequest hook of every authenticated route (before body parsing and validation, so an anonymous caller learns nothing about its input): resolves the actor from the
 * Bearer header or the session cookie, and for a cookie-authenticated
 * change requires X-CSRF-Token to match the session's (OWASP CSRF
 * Prevention Cheat Sheet: synchronizer token pattern).
 * @throws AppError unauthenticated, forbidden (CSRF)
 */
export function authenticate(auth: AuthService) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const bearer = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    const actor = await auth.identify({ bearer, sessionToken: request.cookies[SESSION_COOKIE] });
    if (!actor) throw new AppError(ErrorCode.Unauthenticated, "Log in, or send a valid Bearer token.");
    if (!SAFE_METHODS.has(request.method)) {
      const csrf = request.headers["x-csrf-token"];
      if (!auth.csrfValid(actor, typeof csrf === "string" ? csrf : undefined)) {
        throw new AppError(ErrorCode.Forbidden, "Missing or wrong X-CSRF-Token header.", {
          details: [{ path: "X-CSRF-Token", message: "Send the csrfToken from login, signup or GET /me." }],
        });
      }
    }
    request.actor = actor;
  };
}

/** The actor of an authenticated route; a route without `authenticate` is a bug. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new Error("route is missing the authenticate hook");
  return request.actor;
}
