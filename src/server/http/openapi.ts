import type { RouteOptions } from "fastify";
import type { FastifyDynamicSwaggerOptions, SwaggerTransform, SwaggerTransformObject } from "@fastify/swagger";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import { maxHeaderSize } from "node:http";
import { z } from "zod";
import { ErrorBodySchema, errorStatus, type ErrorCode } from "@shared/protocol/errors.js";
import { MAX_FRAME_BYTES } from "@shared/protocol/limits.js";
import { SESSION_COOKIE } from "../auth/credentials.js";
import { SAFE_METHODS } from "./identity.js";

/**
 * The OpenAPI description of the HTTP API (served at /api/v1/openapi.json),
 * declared here once so that it tells the truth about every route:
 *
 * - A route's `schema.response` lists its success answers and the errors its
 *   *service* decides (`...errorResponses(403, 404)`), next to the handler.
 * - The errors the *transport* produces are added here for every route, by
 *   rule (`transportErrorStatuses`): 401 for an authenticated route, 403
 *   (CSRF) for an authenticated change, 413 for a body, 429 for a route
 *   with `config.rateLimit`, and 400, 431, 500 and 503 everywhere (a
 *   request Node cannot read, or one over its header limit, can name any
 *   route); a limit applied another way, by a service or a preHandler, is
 *   declared by its route.
 * - Security is set here too: a route whose schema says `security: []` is
 *   public; any other reads with Bearer or the session cookie, and changes
 *   with Bearer, or the session cookie and X-CSRF-Token together.
 * - The finished document gets response descriptions, the error codes of
 *   each status (`x-error-codes`, from `errorStatus`), Retry-After on 429 and
 *   503, the x-ratelimit-* headers on the answers of an operation that can
 *   answer 429, and only the component schemas it references.
 *
 * So a new error code is one line in `errorStatus`, a status a service starts
 * answering is one number in its route's `errorResponses(...)`, and
 * test/integration/openapi.test.ts fails on any answer the document does not
 * declare, and on any declared status it never sees.
 */

export const API_PREFIX = "/api/v1";

/** An HTTP status that some error code maps to (see `errorStatus`). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 416 | 429 | 431 | 500 | 503;

/** Methods whose body Fastify parses: they can answer 413 (too large) and 400 (bad JSON). */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export const SECURITY_SCHEMES = {
  bearer: {
    type: "http",
    scheme: "bearer",
    description: "A personal API token from POST /api/v1/tokens (`prl_…`). Needs no CSRF token.",
  },
  session: {
    type: "apiKey",
    in: "cookie",
    name: SESSION_COOKIE,
    description: "The session cookie set by signup and login (HttpOnly). Changes also need the `csrf` header.",
  },
  csrf: {
    type: "apiKey",
    in: "header",
    name: "X-CSRF-Token",
    description:
      "The `csrfToken` from signup, login or GET /me. Required with the session cookie on every request that is not GET, HEAD or OPTIONS; without it the answer is 403 forbidden.",
  },
} as const;

type SecurityRequirement = Record<keyof typeof SECURITY_SCHEMES, string[]>;
/** Reads: Bearer, or the session cookie. */
const READ_SECURITY: Partial<SecurityRequirement>[] = [{ bearer: [] }, { session: [] }];
/** Changes: Bearer, or the session cookie AND the CSRF header. */
const CHANGE_SECURITY: Partial<SecurityRequirement>[] = [{ bearer: [] }, { session: [], csrf: [] }];

/**
 * Error answers a route decides itself, to spread into its `response`:
 * `response: { 200: RoomResponseSchema, ...errorResponses(403, 404) }`.
 * Transport errors (400, 401, CSRF 403, 413, 500, 503, and 429 from a
 * `config.rateLimit`) are added by rule and need not be listed; a 429 from a
 * service or from an `app.rateLimit()` preHandler must be.
 */
export function errorResponses<const S extends ErrorStatus>(...statuses: S[]): { [K in S]: typeof ErrorBodySchema } {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBodySchema])) as { [K in S]: typeof ErrorBodySchema };
}

/** The `response` entry of a 204 or 304: no body (its JSON schema is `type: null`, which the document shows as no content). */
export const NoContentSchema = z.undefined();

/**
 * The `response` entry of an answer whose body is a file's bytes (GET
 * /files/…): the document shows it as content of any media type (the
 * file's own), not JSON. The route sends a stream, which Fastify never serializes.
 */
export const FileBytesSchema = z.string().meta({ id: "FileBytes", description: "The file's bytes, with its sniffed type as Content-Type." });
const FILE_BYTES_REF = "#/components/schemas/FileBytes";

/**
 * The `response` entry of an answer that is a small HTML page for a person
 * (the unsubscribe link of an email digest, opened in a browser): the
 * document shows it as `text/html`, not JSON.
 */
export const HtmlPageSchema = z.string().meta({ id: "HtmlPage", description: "A small HTML page for a person." });
const HTML_PAGE_REF = "#/components/schemas/HtmlPage";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * A route whose body is `multipart/form-data`, which its handler reads
     * part by part (files/routes.ts): the form as the document shows it.
     * Never validated by Fastify (the body is a stream when the handler runs).
     */
    multipartBody?: z.ZodType;
  }
}

/** What GET /api/v1/openapi.json answers: an OpenAPI 3.1 document (only its frame is declared). */
export const OpenApiDocumentSchema = z
  .looseObject({
    openapi: z.string(),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .meta({ id: "OpenApiDocument", description: "This OpenAPI 3.1 document." });

type RouteFacts = Pick<RouteOptions, "method" | "config"> & { schema?: { security?: unknown; body?: unknown; querystring?: unknown; params?: unknown } };

function methodsOf(route: Pick<RouteOptions, "method">): string[] {
  return (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toUpperCase());
}

/** A route whose schema says `security: []` needs no credentials. */
function isPublic(route: RouteFacts): boolean {
  const security = route.schema?.security;
  return Array.isArray(security) && security.length === 0;
}

/** True when the route has a `config.rateLimit` of @fastify/rate-limit. */
function isRateLimited(route: Pick<RouteOptions, "config">): boolean {
  const config = route.config as { rateLimit?: unknown } | undefined;
  return config?.rateLimit !== undefined && config.rateLimit !== false;
}

/**
 * The error statuses the transport answers on a route, whatever its service
 * does: the authenticate hook (401; 403 for a cookie change without CSRF),
 * Fastify's parsing and schema validation (400, 413), @fastify/rate-limit
 * (429), the error handler (500) and the shutdown hook in app.ts (503).
 * Every route can also answer what is refused before routing
 * (http/errors.ts): 400 for a request Node's parser or the router cannot
 * read (a raw non-ASCII byte in the target, bad percent-encoding), 431 for
 * a request line and headers over Node's limit.
 */
export function transportErrorStatuses(route: RouteFacts): ErrorStatus[] {
  const methods = methodsOf(route);
  const change = methods.some((m) => !SAFE_METHODS.has(m));
  const hasBody = methods.some((m) => BODY_METHODS.has(m));
  const statuses: ErrorStatus[] = [400];
  if (!isPublic(route)) {
    statuses.push(401);
    if (change) statuses.push(403);
  }
  if (hasBody) statuses.push(413);
  if (isRateLimited(route)) statuses.push(429);
  statuses.push(431, 500, 503);
  return statuses;
}

/**
 * The route transform: adds the transport's error answers and the security
 * requirement to each /api/v1 route, then converts its zod schemas.
 */
const transform: SwaggerTransform = (input) => {
  const { route } = input;
  if (!route.url.startsWith(API_PREFIX) || input.schema?.hide) return jsonSchemaTransform(input);
  const own = (input.schema ?? {}) as RouteFacts["schema"] & { response?: Record<string, unknown> };
  const facts: RouteFacts = { method: route.method, config: route.config, schema: own };
  const response = { ...errorResponses(...transportErrorStatuses(facts)), ...own.response };
  const change = methodsOf(route).some((m) => !SAFE_METHODS.has(m));
  const security = isPublic(facts) ? [] : change ? CHANGE_SECURITY : READ_SECURITY;
  const multipartBody = route.config?.multipartBody;
  const body = multipartBody ? { body: multipartBody, consumes: ["multipart/form-data"] } : {};
  return jsonSchemaTransform({ ...input, schema: { ...input.schema, ...body, response, security } });
};

/** What each code means, for the descriptions of error answers. A code missing here is listed by name only. */
const CODE_MEANING: Partial<Record<ErrorCode, string>> = {
  validation_failed:
    "the input is not acceptable (not JSON, JSON in a charset other than UTF-8, a field missing, mistyped or out of range; or a request that is not valid HTTP/1.1, such as a raw non-ASCII byte or bad percent-encoding in its target); `details` names each field",
  unauthenticated: "no valid session cookie or Bearer token, or (at login) a wrong username or password",
  forbidden: "not allowed; also a change authenticated by the session cookie without the right X-CSRF-Token (`details[0].path` is `X-CSRF-Token`)",
  not_found: "no such room, user or route, or a private or direct room you are not a member of",
  username_taken: "the username is in use (case is ignored)",
  email_taken: "an account with that email exists (case is ignored)",
  limit_reached: "a bound on how much may exist was reached (rooms one person is in, members of a room); `details` names whose; retrying helps only once something changed",
  payload_too_large: `the request body is over ${MAX_FRAME_BYTES / 1024} KiB; an upload's file over the server's upload limit, or an image over its pixel limit`,
  unsupported_media_type: "an upload whose content is an image that does not decode (truncated, corrupt)",
  range_not_satisfiable: "the Range asked for is outside the file; `Content-Range: bytes */<size>` gives its size",
  rate_limited: "too many requests; wait the Retry-After header's seconds",
  headers_too_large: `the request line and headers are over ${maxHeaderSize / 1024} KiB (a long URL or a large cookie); the connection is closed`,
  internal_error: "a bug or an outage; the message reveals nothing internal",
  unavailable: "the server is shutting down; retry after Retry-After seconds",
};

const SUCCESS_DESCRIPTION: Record<string, string> = {
  "200": "OK",
  "201": "Created",
  "204": "Done; no body",
  "206": "Partial content: the byte range asked for, with Content-Range",
  "304": "Not modified: the copy whose ETag you sent in If-None-Match is current; no body",
};

/** The error codes answered with `status`, from the one code → status table. */
export function codesForStatus(status: number): ErrorCode[] {
  return (Object.keys(errorStatus) as ErrorCode[]).filter((code) => errorStatus[code] === status);
}

const RETRY_AFTER = {
  description: "Seconds to wait before trying again.",
  required: true,
  schema: { type: "integer", minimum: 0 },
};

/** What @fastify/rate-limit adds to the answers of a limited route (any answer after its hook ran). */
const RATE_LIMIT_HEADERS = {
  "x-ratelimit-limit": { description: "Requests allowed in the window.", schema: { type: "integer", minimum: 0 } },
  "x-ratelimit-remaining": { description: "Requests left in the window.", schema: { type: "integer", minimum: 0 } },
  "x-ratelimit-reset": { description: "Seconds until the window starts again.", schema: { type: "integer", minimum: 0 } },
};

/** Response headers, declared once in `components.headers` and referenced by name. */
const HEADERS = { "Retry-After": RETRY_AFTER, ...RATE_LIMIT_HEADERS };
const headerRef = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` });

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Names of the component schemas reachable from `root` through `$ref`s. */
function referencedSchemas(root: unknown, components: Json): Set<string> {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith("#/components/schemas/")) {
        const name = value.slice("#/components/schemas/".length);
        if (!found.has(name)) {
          found.add(name);
          visit(components[name]);
        }
      } else visit(value);
    }
  };
  visit(root);
  return found;
}

/**
 * Removes zod's `$schema` and `$id` keys: OpenAPI 3.1 schemas are 2020-12
 * already, and an `$id` that is a bare fragment (`#/components/schemas/Room`)
 * is not a valid 2020-12 `$id`.
 */
function stripSchemaIds(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(stripSchemaIds);
  if (!isObject(node)) return;
  delete node.$schema;
  if (typeof node.$id === "string" && node.$id.startsWith("#")) delete node.$id;
  Object.values(node).forEach(stripSchemaIds);
}

/**
 * The document transform: component schemas from the zod registry (each
 * `.meta({ id })`), then the finishing the route transform cannot do.
 */
const transformObject: SwaggerTransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as Json & { paths?: Json; components?: Json & { schemas?: Json } };
  for (const pathItem of Object.values(doc.paths ?? {})) {
    if (!isObject(pathItem)) continue;
    for (const operation of Object.values(pathItem)) {
      if (!isObject(operation) || !isObject(operation.responses)) continue;
      // A rate-limited operation may carry the limiter's headers on any answer but a 503 (refused before the limiter).
      const limited = "429" in operation.responses;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!isObject(response)) continue;
        const code = Number(status);
        // A file's bytes: any type (the file's own), not JSON.
        if (isObject(response.content) && isObject(response.content["application/json"]) && isObject(response.content["application/json"].schema) && response.content["application/json"].schema.$ref === FILE_BYTES_REF) {
          response.content = { "*/*": { schema: { description: "The file's bytes, of the type its Content-Type gives (sniffed from its content)." } } };
        }
        // A page for a person: HTML, not JSON.
        if (isObject(response.content) && isObject(response.content["application/json"]) && isObject(response.content["application/json"].schema) && response.content["application/json"].schema.$ref === HTML_PAGE_REF) {
          response.content = { "text/html": { schema: { type: "string", description: "A small HTML page for a person." } } };
        }
        const headers: Json = {};
        if (limited && code !== 503) for (const name of Object.keys(RATE_LIMIT_HEADERS) as (keyof typeof RATE_LIMIT_HEADERS)[]) headers[name] = headerRef(name);
        if (code === 429 || code === 503) headers["Retry-After"] = headerRef("Retry-After");
        if (Object.keys(headers).length > 0) response.headers = headers;
        if (code < 400) {
          response.description = SUCCESS_DESCRIPTION[status] ?? response.description;
          continue;
        }
        const codes = codesForStatus(code);
        response.description = codes.map((c) => (CODE_MEANING[c] ? `\`${c}\`: ${CODE_MEANING[c]}.` : `\`${c}\`.`)).join(" ");
        response["x-error-codes"] = codes;
      }
    }
  }
  if (doc.components) doc.components.headers = HEADERS;
  const schemas = doc.components?.schemas ?? {};
  const used = referencedSchemas(doc.paths, schemas);
  // The registry holds every named schema twice (input and output); keep the ones this document uses.
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  stripSchemaIds(doc);
  return doc as ReturnType<SwaggerTransformObject>;
};

/** The @fastify/swagger options of the API: one place for the document's frame, security and transforms. */
export function swaggerOptions(version: string): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Parley HTTP API",
        version,
        description: [
          "Contract v1 of Parley's HTTP API, under /api/v1; JSON in and out.",
          "Authenticate with `Authorization: Bearer <token>` (scripts, bots), or with the session cookie, in which case every change also sends `X-CSRF-Token`.",
          "An error is its status plus `{\"error\": {\"code\", \"message\", \"details\"?}}`; switch on `code` (each response lists its codes in `x-error-codes`).",
          "New fields may appear in any object: ignore the ones you do not know.",
          "The real-time WebSocket protocol at /ws is documented in Parley's protocol guide (docs/protocol.md).",
        ].join(" "),
      },
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    transform,
    transformObject,
  };
}

