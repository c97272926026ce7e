import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { FastifyReply } from "fastify";
import {
  CreateTokenRequestSchema,
  CreateTokenResponseSchema,
  LoginRequestSchema,
  SessionResponseSchema,
  SessionStateResponseSchema,
  SignupRequestSchema,
} from "@shared/protocol/http.js";
import type { Services } from "../services.js";
import type { Config } from "../config.js";
import { actorOf, authenticate } from "../http/identity.js";
import { errorResponses, NoContentSchema } from "../http/openapi.js";
import type { NewSession } from "./service.js";
import { SESSION_COOKIE } from "./credentials.js";
import { accountLoginLimit, loginAddressLimit, signupAddressLimit } from "./limits.js";

/** POST /auth/signup, /auth/login, /auth/logout, GET /me, POST /tokens (contract v1); GET /session (ext). */
export const authRoutes: FastifyPluginAsyncZod<{ services: Services; config: Config }> = async (app, { services, config }) => {
  const auth = authenticate(services.auth);
  const accountLimit = accountLoginLimit(app, config);

  /** HttpOnly, SameSite=Lax, Secure over https (OWASP Session Management Cheat Sheet). */
  const setSessionCookie = (reply: FastifyReply, session: NewSession) =>
    reply.setCookie(SESSION_COOKIE, session.token, {
      path: "/",
      httpOnly: true,
      sameSite: "lax",
      secure: config.secureCookies,
      expires: session.expiresAt,
    });

  app.post(
    "/auth/signup",
    {
      schema: { tags: ["auth"], summary: "Create an account and log in", security: [], body: SignupRequestSchema, response: { 201: SessionResponseSchema, ...errorResponses(409, 429) } },
      config: { rateLimit: signupAddressLimit(config) },
    },
    async (request, reply) => {
      const session = await services.auth.signup(request.body);
      setSessionCookie(reply, session);
      return reply.code(201).send({ user: session.user, csrfToken: session.csrfToken });
    },
  );

  app.post(
    "/auth/login",
    {
      schema: { tags: ["auth"], summary: "Log in by username or email", security: [], body: LoginRequestSchema, response: { 200: SessionResponseSchema, ...errorResponses(401, 429) } },
      // Per address here; per account (username and email alike) inside login, once the name is resolved.
      config: { rateLimit: loginAddressLimit(config) },
    },
    async (request, reply) => {
      const session = await services.auth.login(request.body, { throttle: accountLimit(request) });
      setSessionCookie(reply, session);
      return { user: session.user, csrfToken: session.csrfToken };
    },
  );

  app.post("/auth/logout", { schema: { tags: ["auth"], summary: "End this session", response: { 204: NoContentSchema } }, onRequest: auth }, async (request, reply) => {
    await services.auth.logout(actorOf(request));
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return reply.code(204).send();
  });

  app.get("/me", { schema: { tags: ["auth"], summary: "The signed-in user and the CSRF token", response: { 200: SessionResponseSchema } }, onRequest: auth }, async (request) => {
    const actor = actorOf(request);
    // A Bearer caller needs no CSRF token; it gets an empty one.
    return { user: await services.auth.me(actor), csrfToken: actor.csrfToken ?? "" };
  });

  // Never 401: the web client asks this on load, where "no session" is the normal answer for a new visitor.
  app.get(
    "/session",
    { schema: { tags: ["auth"], summary: "Whether the caller is signed in (200 either way)", security: [], response: { 200: SessionStateResponseSchema } } },
    async (request) => {
      const header = request.headers.authorization;
      const bearer = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
      const actor = await services.auth.identify({ bearer, sessionToken: request.cookies[SESSION_COOKIE] });
      if (!actor) return { authenticated: false as const };
      return { authenticated: true as const, user: await services.auth.me(actor), csrfToken: actor.csrfToken ?? "" };
    },
  );

  app.post(
    "/tokens",
    { schema: { tags: ["auth"], summary: "Create a personal API token (shown once)", body: CreateTokenRequestSchema, response: { 201: CreateTokenResponseSchema } }, onRequest: auth },
    async (request, reply) => reply.code(201).send(await services.auth.createToken(actorOf(request), request.body.name)),
  );
};
