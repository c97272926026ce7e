import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import { startTestServer, type TestServer } from "../support/server.js";
import { PASSWORD, SocketClient, signup, signupBot, unique, type Caller } from "../support/client.js";
import { heldHttp, rawHttp } from "../support/raw-http.js";
import * as sample from "../support/sample-files.js";
import { makeKeys } from "../support/push-service.js";

/**
 * The served OpenAPI document against the server's real answers, so that the
 * two cannot drift: every answer the tests provoke must be a status the
 * document declares for that operation, with a body that validates against
 * the declared schema (and Retry-After where declared); every route under
 * /api/v1 must be documented; and every declared status except 500 must be
 * provoked at least once, so the document declares nothing the server never
 * answers. A route that gains a status (a new limit, a new error code) fails
 * here until its declaration and a case below say so.
 */

type Json = Record<string, unknown>;
interface Operation {
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Json }[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Json }>; headers?: Record<string, Json>; "x-error-codes"?: string[] }>;
}
interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json>; headers?: Record<string, Json> };
}

/** One request: `op` is "METHOD /api/v1/path/{param}" as in the document. */
interface Call {
  op: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** JSON-encoded as the body, with Content-Type: application/json. */
  body?: unknown;
  /** A raw body sent with Content-Type: application/json. */
  raw?: string;
  /** A multipart/form-data body: one file in the part named `file` (POST /uploads). */
  file?: { filename: string; data: Buffer };
  /** More request headers (Range, If-None-Match). */
  headers?: Record<string, string>;
  /** Who calls: a Caller (its Bearer token, else its cookie), or nobody. */
  as?: Caller | null;
  /** false: a cookie caller leaves X-CSRF-Token out. */
  csrf?: boolean;
}
interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const LONG_ID = "x".repeat(65);
const BIG_BODY = JSON.stringify({ body: "x".repeat(70 * 1024) });
/** Every path parameter of every operation, for the calls made to each operation alike. */
/** A Web Push subscription's body: fresh keys, an endpoint on a closed port of 127.0.0.1 (these servers allow private endpoints). */
function pushSubscriptionBody(): { endpoint: string; keys: { p256dh: string; auth: string } } {
  const { p256dh, auth } = makeKeys();
  return { endpoint: `https://127.0.0.1:9/push/${unique()}`, keys: { p256dh, auth } };
}
const ANY_PARAMS = { roomId: "x", messageId: "x", emoji: "👍", uploadId: "x", fileId: "x", subscriptionId: "x" };
/** The media type of a response whose body is a file's bytes, whatever their type (GET /files/…). */
const ANY_MEDIA = "*/*";
/** The media type of a page for a person (the unsubscribe link of an email digest, opened in a browser). */
const HTML = "text/html";

/** A multipart/form-data body with one file in the part named `file`. */
function multipartFile(file: { filename: string; data: Buffer }): { body: Buffer; contentType: string } {
  const boundary = `openapi-${unique()}`;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), file.data, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}
/** Every /api/v1 route Fastify has registered, as "METHOD /api/v1/rooms/:roomId", parsed from printRoutes' tree. */
function registeredRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split("\n")) {
    const m = /^(.*?)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    stack.length = [...m[1]!].length / 4;
    stack.push(m[2]!);
    for (const method of m[3]?.split(", ") ?? []) routes.push(`${method} ${stack.join("")}`);
  }
  return routes;
}

const toDocPath = (fastifyPath: string): string => fastifyPath.replace(/:(\w+)/g, "{$1}");

const PROTOCOL_MD = path.resolve(import.meta.dirname, "../../docs/protocol.md");

/** The endpoint table of docs/protocol.md §4: op → its auth cell and the statuses of its success and errors cells. */
function protocolTable(): Map<string, { auth: string; statuses: number[] }> {
  const rows = new Map<string, { auth: string; statuses: number[] }>();
  for (const line of fs.readFileSync(PROTOCOL_MD, "utf8").split("\n")) {
    // | method and path | v1/ext | auth | body | success | errors |
    const cells = line.split("|").slice(1, -1);
    const m = /^ (GET|POST|PUT|PATCH|DELETE) `([^`?]+)[^`]*` $/.exec(cells[0] ?? "");
    if (!m || cells.length !== 6) continue;
    const numbers = (cell: string) => [...cell.matchAll(/\b[1-5]\d\d\b/g)].map((n) => Number(n[0]));
    rows.set(`${m[1]} ${toDocPath(m[2]!)}`, { auth: cells[2]!.trim(), statuses: [...numbers(cells[4]!), ...numbers(cells[5]!)] });
  }
  return rows;
}

describe("the OpenAPI document tells the truth", () => {
  let t: TestServer;
  let doc: OpenApiDoc;
  let ajv: Ajv2020;
  const validators = new Map<string, ValidateFunction>();
  /** op → statuses seen. */
  const observed = new Map<string, Set<number>>();

  // The cast of the main server.
  let alice: Caller; // cookie session; owns the rooms
  let bob: Caller; // cookie session; a member of some
  let bot: Caller; // Bearer token
  let carol: Caller; // cookie; in no room
  let publicRoom: string;
  let privateRoom: string;
  let directRoom: string;
  let bobMessage: string; // bob's, in publicRoom
  let deletedMessage: string; // deleted, in publicRoom
  let bobFile: string; // bob's pending upload, a PNG

  const operation = (op: string): Operation => {
    const [method, path] = op.split(" ") as [string, string];
    const found = doc.paths[path]?.[method.toLowerCase()];
    if (!found) throw new Error(`${op} is not in the document`);
    return found;
  };
  const operations = (): string[] =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => HTTP_METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );

  /** A validator for a schema of the document; its `#/components/schemas/…` refs resolve to the components. */
  const validatorFor = (key: string, schema: Json): ValidateFunction => {
    let v = validators.get(key);
    if (!v) {
      const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components#/$defs/')) as Json;
      v = ajv.compile(rewritten);
      validators.set(key, v);
    }
    return v;
  };

  /** A response's header object, following a `#/components/headers/…` reference. */
  const resolveHeader = (header: Json): Json => {
    const ref = header.$ref;
    if (typeof ref !== "string") return header;
    const found = doc.components.headers?.[ref.slice("#/components/headers/".length)];
    if (!found) throw new Error(`dangling ${ref}`);
    return found;
  };

  /** The method, path (with query) and headers of `call`, as `send` puts them on the wire. */
  function request(call: Call): { method: string; target: string; headers: Record<string, string>; body: string | Buffer | undefined } {
    const [method, template] = call.op.split(" ") as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = call.params?.[name];
      if (value === undefined) throw new Error(`${call.op}: no value for {${name}}`);
      return encodeURIComponent(value);
    });
    const qs = call.query ? `?${new URLSearchParams(call.query).toString()}` : "";
    const headers: Record<string, string> = { ...call.headers };
    if (call.body !== undefined || call.raw !== undefined) headers["content-type"] = "application/json";
    const form = call.file ? multipartFile(call.file) : null;
    if (form) headers["content-type"] = form.contentType;
    const as = call.as;
    if (as?.bearer) headers.authorization = `Bearer ${as.bearer}`;
    else if (as?.cookie) {
      headers.cookie = as.cookie;
      if (call.csrf !== false && method !== "GET" && as.csrfToken) headers["x-csrf-token"] = as.csrfToken;
    }
    return { method, target: `${path}${qs}`, headers, body: form?.body ?? call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body)) };
  }

  /** Sends `call` and checks the answer against the document; returns it for the case's own assertions. */
  async function send(call: Call): Promise<Answer> {
    const { method, target, headers, body } = request(call);
    const res = await fetch(`${t.baseUrl}${target}`, { method, headers, body: Buffer.isBuffer(body) ? new Uint8Array(body) : body });
    const text = await res.text();
    // A file's bytes are not JSON; anything else that has a body is.
    const content = operation(call.op).responses[String(res.status)]?.content;
    const json = text !== "" && !content?.[ANY_MEDIA] && !content?.[HTML];
    const answer: Answer = { status: res.status, body: json ? (JSON.parse(text) as unknown) : null, headers: res.headers };
    check(call, operation(call.op), answer, text);
    return answer;
  }

  /**
   * `call` on a connection of its own whose head stops short of its last
   * line until `until` resolves: a request the server is already reading
   * when it starts to stop. `sent` resolves once that first part is written.
   */
  function sendHeld(call: Call, until: Promise<unknown>): { sent: Promise<void>; answer: Promise<Answer> } {
    const { method, target, headers, body } = request(call);
    const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    const lines = Object.entries({ host: "localhost", connection: "close", "content-length": String(bytes.length), ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    const held = heldHttp(t.baseUrl, `${method} ${target} HTTP/1.1\r\n${lines.join("")}`, Buffer.concat([Buffer.from("\r\n"), bytes]), until);
    return {
      sent: held.sent,
      answer: held.answer.then((res) => {
        const answer: Answer = { status: res.status, body: res.body ? (JSON.parse(res.body) as unknown) : null, headers: res.headers };
        check(call, operation(call.op), answer, res.body);
        return answer;
      }),
    };
  }

  function check(call: Call, op: Operation, answer: Answer, text: string): void {
    const where = `${call.op} → ${answer.status} ${text.slice(0, 300)}`;
    const declared = op.responses[String(answer.status)];
    expect(declared, `undeclared status: ${where}`).toBeDefined();
    if (!declared) return;
    let statuses = observed.get(call.op);
    if (!statuses) observed.set(call.op, (statuses = new Set()));
    statuses.add(answer.status);

    const media = declared.content?.["application/json"];
    if (declared.content?.[HTML]) {
      expect(answer.headers.get("content-type") ?? "", where).toMatch(/^text\/html/);
    } else if (declared.content?.[ANY_MEDIA]) {
      // A file's bytes: its own type, never JSON (the body is the file's, checked by uploads.test.ts).
      expect(answer.headers.get("content-type") ?? "", where).not.toMatch(/^application\/json/);
    } else if (!media) {
      expect(text, `a body where the document declares none: ${where}`).toBe("");
    } else {
      expect(answer.headers.get("content-type") ?? "", where).toMatch(/^application\/json/);
      const validate = validatorFor(`${call.op} ${answer.status}`, media.schema);
      expect(validate(answer.body), `${where}\n${JSON.stringify(validate.errors)}`).toBe(true);
    }
    const codes = declared["x-error-codes"];
    if (answer.status >= 400) {
      expect(codes, `error response without x-error-codes: ${where}`).toBeDefined();
      expect(codes ?? [], where).toContain((answer.body as { error: { code: string } }).error.code);
    }
    // Required headers are there; optional ones, when there, are integers; limiter headers are never undeclared.
    const declaredHeaders = new Map(Object.entries(declared.headers ?? {}).map(([name, h]) => [name.toLowerCase(), resolveHeader(h)]));
    for (const [name, header] of declaredHeaders) {
      const value = answer.headers.get(name);
      if (header.required === true) expect(value, `declared header ${name} missing: ${where}`).not.toBeNull();
      if (value !== null) expect(value, `${name}: ${where}`).toMatch(/^\d+$/);
    }
    for (const name of answer.headers.keys()) {
      if (name.startsWith("x-ratelimit-") || name === "retry-after") expect(declaredHeaders.has(name), `undeclared header ${name}: ${where}`).toBe(true);
    }
    // What the server accepted must be acceptable by the document too (no stricter claims than the server).
    const bodySchema = op.requestBody?.content["application/json"]?.schema;
    if (answer.status < 300 && bodySchema && call.body !== undefined) {
      const validate = validatorFor(`${call.op} request`, bodySchema);
      expect(validate(call.body), `accepted body the document refuses: ${where}\n${JSON.stringify(validate.errors)}`).toBe(true);
    }
  }

  beforeAll(async () => {
    // Push endpoints on 127.0.0.1 are allowed here: a test push to a closed port fails at once, off the answer.
    t = await startTestServer({ pushAllowPrivateEndpoints: "true" });
    const res = await fetch(`${t.baseUrl}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDoc;
    ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    // The components as one schema, "components", whose refs point inside it.
    ajv.addSchema(JSON.parse(JSON.stringify({ $id: "components", $defs: doc.components.schemas }).replaceAll('"#/components/schemas/', '"#/$defs/')) as Json);

    [alice, bob, carol] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "bob"), signup(t.baseUrl, "carol")]);
    bot = await signupBot(t.baseUrl, "bot");
  });
  afterAll(() => t.destroy());

  it("is a structurally valid OpenAPI 3.1 document whose every schema compiles as JSON Schema 2020-12", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(doc.info.version).toEqual(expect.any(String));
    const schemes = doc.components.securitySchemes;
    expect(schemes).toMatchObject({
      bearer: { type: "http", scheme: "bearer" },
      session: { type: "apiKey", in: "cookie", name: "parley_session" },
      csrf: { type: "apiKey", in: "header", name: "X-CSRF-Token" },
    });
    // Every component schema compiles under strict Ajv (unknown keywords or formats would throw).
    for (const name of Object.keys(doc.components.schemas)) validatorFor(`component ${name}`, { $ref: `#/components/schemas/${name}` });

    const refs = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(collect);
      if (typeof node !== "object" || node === null) return;
      for (const [k, v] of Object.entries(node)) {
        if (k === "$ref" && typeof v === "string") refs.add(v);
        else collect(v);
      }
    };
    collect(doc);
    for (const ref of refs) {
      const m = /^#\/components\/(schemas|headers)\/(.+)$/.exec(ref);
      expect(m, ref).not.toBeNull();
      const [, kind, name] = m!;
      expect((kind === "schemas" ? doc.components.schemas : doc.components.headers)?.[name!], `dangling ${ref}`).toBeDefined();
    }
    for (const [name, header] of Object.entries(doc.components.headers ?? {})) validatorFor(`header ${name}`, header.schema as Json);

    for (const op of operations()) {
      const [, path] = op.split(" ") as [string, string];
      expect(path.startsWith("/api/v1/"), op).toBe(true);
      const o = operation(op);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const pathParams = (o.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      expect(pathParams.sort(), `${op}: path parameters`).toEqual([...templated].sort());
      for (const p of o.parameters ?? []) {
        expect(["path", "query", "header", "cookie"], op).toContain(p.in);
        if (p.in === "path") expect(p.required, `${op}: path parameter ${p.name} must be required`).toBe(true);
        if (p.schema) validatorFor(`${op} parameter ${p.name}`, p.schema);
      }
      expect(Array.isArray(o.security), `${op}: every operation states its security`).toBe(true);
      for (const requirement of o.security ?? []) for (const name of Object.keys(requirement)) expect(schemes[name], `${op}: scheme ${name}`).toBeDefined();
      expect(Object.keys(o.responses).length, op).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(o.responses)) {
        expect(status, op).toMatch(/^[1-5]\d\d$/);
        expect(response.description, `${op} ${status}: description`).toEqual(expect.any(String));
        for (const [type, media] of Object.entries(response.content ?? {})) {
          // JSON, or (a success of GET /files/…) a file's bytes of any type.
          // …or (a success of the unsubscribe link) a page for a person.
          expect(type, op).toBe(Number(status) < 300 && (type === ANY_MEDIA || type === HTML) ? type : "application/json");
          validatorFor(`${op} ${status}`, media.schema);
        }
        // Every error answer is the contract's error body, with its codes listed.
        if (Number(status) >= 400) {
          expect(response.content?.["application/json"]?.schema, `${op} ${status}`).toEqual({ $ref: "#/components/schemas/ErrorBody" });
          expect(response["x-error-codes"]?.length, `${op} ${status}: x-error-codes`).toBeGreaterThan(0);
        }
        if (status === "204") expect(response.content, `${op} 204 has no body`).toBeUndefined();
        if (status === "429" || status === "503") {
          expect(Object.keys(response.headers ?? {}), `${op} ${status}`).toContain("Retry-After");
          expect(resolveHeader(response.headers!["Retry-After"]!).required, `${op} ${status}: Retry-After is always sent`).toBe(true);
        }
      }
      for (const media of Object.values(o.requestBody?.content ?? {})) validatorFor(`${op} request`, media.schema);
    }
  });

  it("documents every route registered under /api/v1, and nothing else", () => {
    const registered = registeredRoutes(t.server.app)
      .filter((r) => r.split(" ")[1]!.startsWith("/api/v1/"))
      // Fastify answers HEAD for every GET by itself; the GET is what is documented.
      .filter((r) => !r.startsWith("HEAD "))
      .map((r) => {
        const [method, path] = r.split(" ") as [string, string];
        return `${method} ${toDocPath(path)}`;
      });
    expect(registered).toContain("POST /api/v1/rooms/{roomId}/messages");
    expect(registered).toContain("GET /api/v1/openapi.json");
    expect([...registered].sort()).toEqual(operations().sort());
  });

  it("docs/protocol.md's endpoint table states the same operations, security and statuses as the document", () => {
    const table = protocolTable();
    expect([...table.keys()].sort()).toEqual(operations().sort());
    for (const op of operations()) {
      const o = operation(op);
      const security = o.security ?? [];
      const auth = security.length === 0 ? "none" : security.some((r) => "csrf" in r) ? "Bearer, or cookie + CSRF" : "Bearer or cookie";
      expect(table.get(op)?.auth, `${op}: auth column`).toBe(auth);
      // 431, 500 and 503 are said once for all endpoints, above the table.
      const declared = Object.keys(o.responses).map(Number).filter((s) => s !== 431 && s !== 500 && s !== 503);
      expect(table.get(op)?.statuses.sort(), `${op}: statuses`).toEqual(declared.sort());
    }
  });

  it("public operations answer without credentials; every other one answers 401 without them", async () => {
    for (const op of operations()) {
      const security = operation(op).security ?? [];
      if (security.length > 0) {
        const res = await send({ op, params: ANY_PARAMS, as: null });
        expect(res.status, op).toBe(401);
        expect(res.body).toMatchObject({ error: { code: "unauthenticated" } });
      }
    }
    const publicOps = operations().filter((op) => (operation(op).security ?? []).length === 0);
    expect(publicOps.sort()).toEqual([
      "GET /api/v1/notifications/unsubscribe",
      "GET /api/v1/openapi.json",
      "GET /api/v1/session",
      "POST /api/v1/auth/login",
      "POST /api/v1/auth/signup",
      // The unsubscribe link of an email digest: its token is the credential (RFC 8058 one-click).
      "POST /api/v1/notifications/unsubscribe",
    ]);
    const me = await send({ op: "POST /api/v1/auth/login", body: { username: alice.user.username, password: PASSWORD }, as: null });
    expect(me.status).toBe(200);
    await send({ op: "GET /api/v1/openapi.json", as: null });
  });

  it("a cookie-authenticated change without X-CSRF-Token answers 403 where the document asks for the csrf scheme", async () => {
    for (const op of operations()) {
      const security = operation(op).security ?? [];
      const needsCsrf = security.some((r) => "session" in r && "csrf" in r);
      const cookieAlone = security.some((r) => "session" in r && !("csrf" in r));
      if (!needsCsrf && !cookieAlone) continue;
      const res = await send({ op, params: ANY_PARAMS, as: bob, csrf: false });
      if (needsCsrf) {
        expect(res.status, op).toBe(403);
        expect(res.body).toMatchObject({ error: { code: "forbidden", details: [{ path: "X-CSRF-Token" }] } });
      } else {
        expect(res.status, `${op} needs no CSRF token`).not.toBe(403);
      }
    }
  });

  it("success answers of every operation match the document", async () => {
    await send({ op: "GET /api/v1/openapi.json", as: null });
    const name = `dora_${unique()}`.slice(0, 32);
    const dora = await send({
      op: "POST /api/v1/auth/signup",
      body: { email: `${name}@example.test`, username: name, password: PASSWORD, passwordConfirm: PASSWORD, displayName: "Dora" },
      as: null,
    });
    expect(dora.status).toBe(201);
    expect((await send({ op: "GET /api/v1/me", as: alice })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/me", as: bot })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/session", as: alice })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/session", as: null })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/tokens", body: { name: "ci" }, as: alice })).status).toBe(201);
    expect((await send({ op: "GET /api/v1/users", query: { q: "bo" }, as: alice })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/users", as: bot })).status).toBe(200);
    // An email digest's unsubscribe link (issue 19): the page (a GET changes nothing), then the one-click POST.
    const unsubscribe = { token: await t.server.services.unsubscribe.tokenFor(bot.user.id) };
    expect((await send({ op: "GET /api/v1/notifications/unsubscribe", query: unsubscribe, as: null })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/notifications/unsubscribe", query: unsubscribe, as: null })).status).toBe(200);

    const created = await send({ op: "POST /api/v1/rooms", body: { name: "General", kind: "public", topic: "Anything" }, as: alice });
    expect(created.status).toBe(201);
    publicRoom = (created.body as { room: { id: string } }).room.id;
    const priv = await send({ op: "POST /api/v1/rooms", body: { name: "Secret", kind: "private" }, as: alice });
    privateRoom = (priv.body as { room: { id: string } }).room.id;
    expect((await send({ op: "GET /api/v1/rooms/public", as: bob })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}", params: { roomId: publicRoom }, as: bob })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/join", params: { roomId: publicRoom }, as: bob })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/join", params: { roomId: publicRoom }, as: bot })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: privateRoom }, body: { userId: bob.user.id }, as: alice })).status).toBe(201);
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: privateRoom }, body: { userId: bob.user.id }, as: alice })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/members", params: { roomId: privateRoom }, as: bob })).status).toBe(200);
    const sent = await send({ op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, body: { body: "hello", clientId: "c-1" }, as: bob });
    expect(sent.status).toBe(201);
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, body: { body: "hi from a bot" }, as: bot })).status).toBe(201);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { limit: "1" }, as: alice })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { after: "0" }, as: bot })).status).toBe(200);
    // Editing, its history and deleting.
    const sentId = (sent.body as { message: { id: string } }).message.id;
    bobMessage = sentId;
    const msg = { roomId: publicRoom, messageId: sentId };
    expect((await send({ op: "PATCH /api/v1/rooms/{roomId}/messages/{messageId}", params: msg, body: { body: "hello, edited" }, as: bob })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/edits", params: msg, as: alice })).status).toBe(200);
    // Search (issue 18): everywhere I may read, and within one room (the history route's ?search=).
    expect((await send({ op: "GET /api/v1/search", query: { q: "hello" }, as: alice })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/search", query: { q: "hello", roomId: publicRoom, sort: "date", limit: "5" }, as: bot })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { search: "hello" }, as: bob })).status).toBe(200);
    // Reactions: a new one 201, the same again 200, removing one not held 200, removing one held 200.
    expect((await send({ op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { ...msg, emoji: "👍" }, as: alice })).status).toBe(201);
    expect((await send({ op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { ...msg, emoji: "👍" }, as: alice })).status).toBe(200);
    expect((await send({ op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { ...msg, emoji: "🎉" }, as: bot })).status).toBe(201);
    expect((await send({ op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { ...msg, emoji: "❤️" }, as: bob })).status).toBe(200);
    expect((await send({ op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { ...msg, emoji: "🎉" }, as: bot })).status).toBe(200);
    // Replies and threads (issue 9): a reply, a thread, history around a seq.
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, body: { body: "a reply", replyTo: sentId }, as: alice })).status).toBe(201);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/replies", params: msg, query: { limit: "10", after: "0" }, as: bob })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { around: "2", limit: "4" }, as: bob })).status).toBe(200);
    const doomed = await send({ op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, body: { body: "to be deleted" }, as: bot });
    deletedMessage = (doomed.body as { message: { id: string } }).message.id;
    expect((await send({ op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: publicRoom, messageId: deletedMessage }, as: alice })).status).toBe(200);
    // The room list after activity: a last message, unread counts, a peer for direct rooms.
    const direct = await send({ op: "POST /api/v1/direct", body: { userId: bob.user.id }, as: alice });
    expect(direct.status).toBe(200);
    directRoom = (direct.body as { room: { id: string } }).room.id;
    expect((await send({ op: "GET /api/v1/rooms", as: bob })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/read", params: { roomId: publicRoom }, body: { seq: 3 }, as: alice })).status).toBe(204);
    // Receipts (issue 9): delivered positions, every member's positions, mark all read.
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/delivered", params: { roomId: publicRoom }, body: { seq: 3 }, as: alice })).status).toBe(204);
    expect((await send({ op: "GET /api/v1/rooms/{roomId}/receipts", params: { roomId: publicRoom }, as: bob })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/rooms/read-all", as: bob })).status).toBe(200);
    // Notifications (issue 19): the account's settings, a room's level and mute.
    expect((await send({ op: "GET /api/v1/notifications/settings", as: alice })).status).toBe(200);
    expect((await send({ op: "PATCH /api/v1/notifications/settings", body: { roomLevel: "all", dndUntil: new Date(Date.now() + 3_600_000).toISOString() }, as: alice })).status).toBe(200);
    expect((await send({ op: "PATCH /api/v1/notifications/settings", body: { dndUntil: null, email: false }, as: bot })).status).toBe(200);
    expect((await send({ op: "PUT /api/v1/rooms/{roomId}/notifications", params: { roomId: publicRoom }, body: { level: "mentions", muted: true }, as: bob })).status).toBe(200);
    expect((await send({ op: "PUT /api/v1/rooms/{roomId}/notifications", params: { roomId: directRoom }, body: { muted: false, level: "default" }, as: bob })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/rooms/{roomId}/leave", params: { roomId: publicRoom }, as: bot })).status).toBe(204);
    // Files (issue 17): an upload; its bytes whole, a range of them, unchanged; its thumbnail; a cancel.
    const up = await send({ op: "POST /api/v1/uploads", file: { filename: "p.png", data: await sample.png(64, 48) }, as: bob });
    expect(up.status).toBe(201);
    bobFile = (up.body as { upload: { id: string } }).upload.id;
    const file = { fileId: bobFile };
    expect((await send({ op: "GET /api/v1/files/{fileId}", params: file, as: bob })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/files/{fileId}", params: file, query: { download: "1" }, headers: { range: "bytes=0-9" }, as: bob })).status).toBe(206);
    expect((await send({ op: "GET /api/v1/files/{fileId}", params: file, headers: { "if-none-match": `"${bobFile}"` }, as: bob })).status).toBe(304);
    expect((await send({ op: "GET /api/v1/files/{fileId}/thumbnail", params: file, as: bob })).status).toBe(200);
    expect((await send({ op: "GET /api/v1/files/{fileId}/thumbnail", params: file, headers: { "if-none-match": `"${bobFile}.t"` }, as: bob })).status).toBe(304);
    const draft = await send({ op: "POST /api/v1/uploads", file: { filename: "draft.pdf", data: sample.pdf() }, as: bot });
    expect(draft.status).toBe(201);
    expect((await send({ op: "DELETE /api/v1/uploads/{uploadId}", params: { uploadId: (draft.body as { upload: { id: string } }).upload.id }, as: bot })).status).toBe(204);

    // Web Push: a subscription whose endpoint is a closed port (the test push fails after the 202, logged).
    const subscribed = await send({ op: "POST /api/v1/push/subscriptions", body: pushSubscriptionBody(), as: bob });
    expect(subscribed.status).toBe(201);
    const subscription = { subscriptionId: (subscribed.body as { subscription: { id: string } }).subscription.id };
    expect((await send({ op: "GET /api/v1/push/subscriptions", as: bob })).status).toBe(200);
    expect((await send({ op: "POST /api/v1/push/subscriptions/{subscriptionId}/test", params: subscription, as: bob })).status).toBe(202);
    expect((await send({ op: "DELETE /api/v1/push/subscriptions/{subscriptionId}", params: subscription, as: bob })).status).toBe(204);

    const leaver = await signup(t.baseUrl, "leaver");
    expect((await send({ op: "POST /api/v1/auth/logout", as: leaver })).status).toBe(204);
    expect((await send({ op: "POST /api/v1/auth/logout", as: bot })).status).toBe(204);
  });

  it("validation failures (400) and oversized bodies (413) match the document", async () => {
    for (const op of operations()) {
      const [method] = op.split(" ");
      if (method !== "POST") continue;
      const notJson = await send({ op, params: { roomId: publicRoom, subscriptionId: "x" }, raw: "{not json", as: bot });
      expect(notJson.status, op).toBe(400);
      expect(notJson.body).toMatchObject({ error: { code: "validation_failed" } });
      const big = await send({ op, params: { roomId: publicRoom, subscriptionId: "x" }, raw: BIG_BODY, as: bot });
      expect(big.status, op).toBe(413);
      expect(big.body).toMatchObject({ error: { code: "payload_too_large" } });
    }
    const bad: Call[] = [
      { op: "GET /api/v1/rooms/{roomId}", params: { roomId: LONG_ID }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/members", params: { roomId: LONG_ID }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { limit: "0" }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { before: "5", after: "1" }, as: bob },
      { op: "GET /api/v1/users", query: { q: "q".repeat(65) }, as: bob },
      { op: "GET /api/v1/notifications/unsubscribe", query: { token: "not a token" }, as: null },
      { op: "POST /api/v1/notifications/unsubscribe", as: null },
      { op: "POST /api/v1/auth/signup", body: { email: "nope", username: "x", password: "short", passwordConfirm: "other" }, as: null },
      { op: "POST /api/v1/auth/login", body: { username: "" }, as: null },
      { op: "POST /api/v1/tokens", body: { name: "" }, as: bob },
      { op: "POST /api/v1/rooms", body: { name: " ", kind: "secret" }, as: bob },
      { op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: privateRoom }, body: {}, as: alice },
      { op: "POST /api/v1/rooms/{roomId}/read", params: { roomId: publicRoom }, body: { seq: -1 }, as: bob },
      { op: "POST /api/v1/rooms/{roomId}/delivered", params: { roomId: publicRoom }, body: { seq: "x" }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/receipts", params: { roomId: LONG_ID }, as: bob },
      { op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, body: { body: "   " }, as: bob },
      { op: "POST /api/v1/rooms/{roomId}/join", params: { roomId: LONG_ID }, as: bob },
      { op: "POST /api/v1/rooms/{roomId}/leave", params: { roomId: LONG_ID }, as: bob },
      { op: "POST /api/v1/direct", body: { userId: bob.user.id }, as: bob }, // oneself
      { op: "POST /api/v1/uploads", file: { filename: "empty.txt", data: Buffer.alloc(0) }, as: bob },
      { op: "DELETE /api/v1/uploads/{uploadId}", params: { uploadId: LONG_ID }, as: bob },
      { op: "GET /api/v1/files/{fileId}", params: { fileId: LONG_ID }, as: bob },
      { op: "GET /api/v1/files/{fileId}/thumbnail", params: { fileId: bobFile }, query: { download: "yes" }, as: bob },
      { op: "POST /api/v1/push/subscriptions", body: { ...pushSubscriptionBody(), endpoint: "http://127.0.0.1:9/push" }, as: bob },
      { op: "DELETE /api/v1/push/subscriptions/{subscriptionId}", params: { subscriptionId: LONG_ID }, as: bob },
      { op: "POST /api/v1/push/subscriptions/{subscriptionId}/test", params: { subscriptionId: LONG_ID }, as: bob },
    ];
    for (const call of bad) {
      const res = await send(call);
      expect(res.status, call.op).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "validation_failed", details: expect.any(Array) } });
    }
    for (const op of ["PATCH /api/v1/rooms/{roomId}/messages/{messageId}", "DELETE /api/v1/rooms/{roomId}/messages/{messageId}"]) {
      const params = { roomId: publicRoom, messageId: bobMessage };
      expect((await send({ op, params, raw: "{not json", as: bob })).status, op).toBe(400);
      expect((await send({ op, params, raw: BIG_BODY, as: bob })).status, op).toBe(413);
    }
    {
      const op = "DELETE /api/v1/uploads/{uploadId}";
      expect((await send({ op, params: { uploadId: bobFile }, raw: "{not json", as: bob })).status, op).toBe(400);
      expect((await send({ op, params: { uploadId: bobFile }, raw: BIG_BODY, as: bob })).status, op).toBe(413);
    }
    {
      const op = "DELETE /api/v1/push/subscriptions/{subscriptionId}";
      expect((await send({ op, params: { subscriptionId: "x" }, raw: BIG_BODY, as: bob })).status, op).toBe(413);
    }
    // An image that does not decode (415); a range outside the file (416).
    const png = await sample.png(64, 48);
    const cut = await send({ op: "POST /api/v1/uploads", file: { filename: "cut.png", data: png.subarray(0, 60) }, as: bob });
    expect(cut.status).toBe(415);
    expect(cut.body).toMatchObject({ error: { code: "unsupported_media_type" } });
    const outside = await send({ op: "GET /api/v1/files/{fileId}", params: { fileId: bobFile }, headers: { range: "bytes=999999-" }, as: bob });
    expect(outside.status).toBe(416);
    expect(outside.body).toMatchObject({ error: { code: "range_not_satisfiable" } });
    for (const op of ["PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", "DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}"]) {
      const params = { roomId: publicRoom, messageId: bobMessage, emoji: "👍" };
      expect((await send({ op, params, raw: "{not json", as: bob })).status, op).toBe(400);
      expect((await send({ op, params, raw: BIG_BODY, as: bob })).status, op).toBe(413);
    }
    for (const op of ["PATCH /api/v1/notifications/settings", "PUT /api/v1/rooms/{roomId}/notifications"]) {
      const params = { roomId: publicRoom };
      expect((await send({ op, params, raw: "{not json", as: bob })).status, op).toBe(400);
      expect((await send({ op, params, raw: BIG_BODY, as: bob })).status, op).toBe(413);
      const res = await send({ op, params, body: { roomLevel: "loud", level: "loud" }, as: bob });
      expect(res.status, op).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "validation_failed", details: expect.any(Array) } });
    }
    const badMessageCalls: Call[] = [
      { op: "PATCH /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: publicRoom, messageId: bobMessage }, body: { body: "\u200B" }, as: bob },
      { op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: publicRoom, messageId: LONG_ID }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/edits", params: { roomId: publicRoom, messageId: LONG_ID }, as: bob },
      { op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: publicRoom, messageId: bobMessage, emoji: "👍👍" }, as: bob }, // two emoji
      { op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: publicRoom, messageId: bobMessage, emoji: "a" }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/replies", params: { roomId: publicRoom, messageId: bobMessage }, query: { limit: "0" }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { around: "3", after: "1" }, as: bob },
      { op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, query: { search: "hello", before: "3" }, as: bob },
      { op: "GET /api/v1/search", query: { q: "" }, as: bob },
      { op: "GET /api/v1/search", query: { q: "hello", cursor: "not-a-cursor" }, as: bob },
    ];
    for (const call of badMessageCalls) {
      const res = await send(call);
      expect(res.status, call.op).toBe(400);
      expect(res.body).toMatchObject({ error: { code: "validation_failed", details: expect.any(Array) } });
    }
    // A bodiless POST that declares an empty JSON body.
    expect((await send({ op: "POST /api/v1/auth/logout", raw: "", as: bob })).status).toBe(400);
  });

  it("forbidden (403), not_found (404) and conflicts (409) match the document", async () => {
    const missing = "no-such-room";
    const notFound: Call[] = [
      { op: "GET /api/v1/rooms/{roomId}", params: { roomId: privateRoom }, as: carol },
      { op: "POST /api/v1/rooms/{roomId}/join", params: { roomId: privateRoom }, as: carol },
      { op: "POST /api/v1/rooms/{roomId}/leave", params: { roomId: missing }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/members", params: { roomId: privateRoom }, as: carol },
      { op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: missing }, body: { userId: carol.user.id }, as: alice },
      { op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: publicRoom }, body: { userId: "no-such-user" }, as: alice },
      { op: "POST /api/v1/rooms/{roomId}/read", params: { roomId: missing }, body: { seq: 1 }, as: carol },
      { op: "POST /api/v1/rooms/{roomId}/delivered", params: { roomId: privateRoom }, body: { seq: 1 }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/receipts", params: { roomId: privateRoom }, as: carol },
      { op: "POST /api/v1/direct", body: { userId: "no-such-user" }, as: carol },
      // A token this installation did not seal (or whose user is gone): the same 404.
      { op: "GET /api/v1/notifications/unsubscribe", query: { token: "A".repeat(86) }, as: null },
      { op: "POST /api/v1/notifications/unsubscribe", query: { token: await t.server.services.unsubscribe.tokenFor("no-such-user") }, as: null },
      { op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: privateRoom }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: privateRoom }, query: { search: "hello" }, as: carol },
      { op: "GET /api/v1/search", query: { q: "hello", roomId: privateRoom }, as: carol },
      { op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: missing }, body: { body: "hi" }, as: carol },
      { op: "PATCH /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: publicRoom, messageId: "no-such-message" }, body: { body: "hi" }, as: bob },
      { op: "PATCH /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: publicRoom, messageId: deletedMessage }, body: { body: "hi" }, as: bob }, // deleted
      { op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: privateRoom, messageId: bobMessage }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/edits", params: { roomId: privateRoom, messageId: bobMessage }, as: carol },
      { op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: publicRoom, messageId: deletedMessage, emoji: "👍" }, as: bob }, // deleted
      { op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: privateRoom, messageId: bobMessage, emoji: "👍" }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/replies", params: { roomId: privateRoom, messageId: bobMessage }, as: carol },
      { op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, body: { body: "hi", replyTo: deletedMessage }, as: bob }, // reply to a deleted message
      { op: "GET /api/v1/files/{fileId}", params: { fileId: bobFile }, as: carol }, // someone else's pending upload
      { op: "GET /api/v1/files/{fileId}/thumbnail", params: { fileId: "no-such-file" }, as: bob },
      { op: "PUT /api/v1/rooms/{roomId}/notifications", params: { roomId: privateRoom }, body: { level: "all" }, as: carol },
      { op: "DELETE /api/v1/uploads/{uploadId}", params: { uploadId: bobFile }, as: carol },
      { op: "DELETE /api/v1/push/subscriptions/{subscriptionId}", params: { subscriptionId: "no-such-subscription" }, as: carol },
      { op: "POST /api/v1/push/subscriptions/{subscriptionId}/test", params: { subscriptionId: "no-such-subscription" }, as: carol },
    ];
    for (const call of notFound) {
      const res = await send(call);
      expect(res.status, call.op).toBe(404);
      expect(res.body).toMatchObject({ error: { code: "not_found" } });
    }
    const forbidden: Call[] = [
      { op: "POST /api/v1/rooms/{roomId}/leave", params: { roomId: directRoom }, as: alice }, // a direct room cannot be left
      { op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: publicRoom }, body: { userId: carol.user.id }, as: bob }, // not owner
      { op: "POST /api/v1/rooms/{roomId}/read", params: { roomId: publicRoom }, body: { seq: 1 }, as: carol }, // public, not joined
      { op: "POST /api/v1/rooms/{roomId}/delivered", params: { roomId: publicRoom }, body: { seq: 1 }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/receipts", params: { roomId: publicRoom }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, as: carol },
      { op: "GET /api/v1/search", query: { q: "hello", roomId: publicRoom }, as: carol }, // public, not joined
      { op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: publicRoom }, body: { body: "hi" }, as: carol },
      { op: "PATCH /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: publicRoom, messageId: bobMessage }, body: { body: "not yours" }, as: alice }, // not the author
      { op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: publicRoom, messageId: bobMessage }, as: carol }, // public, not joined
      { op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/edits", params: { roomId: publicRoom, messageId: bobMessage }, as: carol },
      { op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: publicRoom, messageId: bobMessage, emoji: "👍" }, as: carol }, // public, not joined
      { op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: publicRoom, messageId: bobMessage, emoji: "👍" }, as: carol },
      { op: "GET /api/v1/rooms/{roomId}/messages/{messageId}/replies", params: { roomId: publicRoom, messageId: bobMessage }, as: carol },
      { op: "PUT /api/v1/rooms/{roomId}/notifications", params: { roomId: publicRoom }, body: { muted: true }, as: carol }, // public, not joined
    ];
    for (const call of forbidden) {
      const res = await send(call);
      expect(res.status, call.op).toBe(403);
      expect(res.body).toMatchObject({ error: { code: "forbidden" } });
    }
    const wrong = await send({ op: "POST /api/v1/auth/login", body: { username: alice.user.username, password: "not-the-password" }, as: null });
    expect(wrong.status).toBe(401);
    const taken = await send({
      op: "POST /api/v1/auth/signup",
      body: { email: `other_${unique()}@example.test`, username: alice.user.username, password: PASSWORD, passwordConfirm: PASSWORD },
      as: null,
    });
    expect(taken.body).toMatchObject({ error: { code: "username_taken" } });
    const emailTaken = await send({
      op: "POST /api/v1/auth/signup",
      body: { email: alice.user.email, username: `other_${unique()}`.slice(0, 32), password: PASSWORD, passwordConfirm: PASSWORD },
      as: null,
    });
    expect(emailTaken.body).toMatchObject({ error: { code: "email_taken" } });
  });

  it("bounds on how much may exist answer a documented 409 limit_reached", async () => {
    const small = await startTestServer({ roomsPerUser: 2, membersPerRoom: 2, reactionsPerMessage: 1, uploadQuotaBytes: 1024, pushSubscriptionsPerUser: 1, pushAllowPrivateEndpoints: "true" });
    const base = t;
    t = small;
    try {
      const [a, b, c, d] = await Promise.all(["a", "b", "c", "d"].map((n) => signup(small.baseUrl, n)));
      const room = (n: string) => send({ op: "POST /api/v1/rooms", body: { name: n, kind: "public" }, as: a! });
      expect((await room("one")).status).toBe(201);
      expect((await room("two")).status).toBe(201);
      const full = await room("three"); // a is in 2 rooms
      expect(full.status).toBe(409);
      expect(full.body).toMatchObject({ error: { code: "limit_reached" } });
      const bRoom = ((await send({ op: "POST /api/v1/rooms", body: { name: "b's", kind: "public" }, as: b! })).body as { room: { id: string } }).room.id;
      expect((await send({ op: "POST /api/v1/rooms/{roomId}/join", params: { roomId: bRoom }, as: a! })).status).toBe(409);
      expect((await send({ op: "POST /api/v1/direct", body: { userId: b!.user.id }, as: a! })).status).toBe(409);
      expect((await send({ op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: bRoom }, body: { userId: c!.user.id }, as: b! })).status).toBe(201);
      expect((await send({ op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: bRoom }, body: { userId: d!.user.id }, as: b! })).status).toBe(409);
      // A message carries at most reactionsPerMessage (here 1) distinct emoji.
      const said = await send({ op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: bRoom }, body: { body: "react" }, as: b! });
      const reacted = { roomId: bRoom, messageId: (said.body as { message: { id: string } }).message.id };
      expect((await send({ op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { ...reacted, emoji: "👍" }, as: b! })).status).toBe(201);
      const tooMany = await send({ op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { ...reacted, emoji: "🎉" }, as: c! });
      expect(tooMany.status).toBe(409);
      expect(tooMany.body).toMatchObject({ error: { code: "limit_reached" } });
      // A user's files take at most uploadQuotaBytes (here 1 KiB).
      expect((await send({ op: "POST /api/v1/uploads", file: { filename: "a.bin", data: Buffer.alloc(1000, 1) }, as: a! })).status).toBe(201);
      const over = await send({ op: "POST /api/v1/uploads", file: { filename: "b.bin", data: Buffer.alloc(100, 1) }, as: a! });
      expect(over.status).toBe(409);
      expect(over.body).toMatchObject({ error: { code: "limit_reached" } });
      // A user subscribes at most pushSubscriptionsPerUser (here 1) devices to Web Push.
      expect((await send({ op: "POST /api/v1/push/subscriptions", body: pushSubscriptionBody(), as: a! })).status).toBe(201);
      const devices = await send({ op: "POST /api/v1/push/subscriptions", body: pushSubscriptionBody(), as: a! });
      expect(devices.status).toBe(409);
      expect(devices.body).toMatchObject({ error: { code: "limit_reached" } });
    } finally {
      t = base;
      await small.destroy();
    }
  });

  it("rate limits answer a documented 429 with Retry-After", async () => {
    const limited = await startTestServer({
      signupsPerHourPerAddress: 4,
      loginAttemptsPerMinute: 2,
      loginAttemptsPerMinutePerAddress: 100,
      roomsCreatedPerHour: 1,
      memberAddsPerMinute: 1,
      httpMessagesPerMinute: 1,
      uploadsPerMinute: 1,
      searchesPerMinute: 1,
      notificationChangesPerMinute: 1,
      pushTestsPerMinute: 1,
      pushAllowPrivateEndpoints: "true",
    });
    const base = t;
    t = limited;
    /** Repeats `call` until it answers 429 (each answer checked against the document). */
    const until429 = async (call: Call, tries = 6): Promise<Answer> => {
      let res: Answer | undefined;
      for (let i = 0; i < tries && res?.status !== 429; i++) res = await send(call);
      expect(res?.status, `${call.op} never answered 429`).toBe(429);
      expect(res?.body).toMatchObject({ error: { code: "rate_limited" } });
      return res!;
    };
    try {
      const [a, b] = await Promise.all([signup(limited.baseUrl, "a"), signup(limited.baseUrl, "b")]);
      await until429({ op: "POST /api/v1/auth/login", body: { username: a.user.username, password: "wrong-password" }, as: null });
      await until429({
        op: "POST /api/v1/auth/signup",
        body: { email: `x_${unique()}@example.test`, username: `x_${unique()}`.slice(0, 32), password: PASSWORD, passwordConfirm: PASSWORD },
        as: null,
      });
      const room = await until429({ op: "POST /api/v1/rooms", body: { name: "r", kind: "public" }, as: a });
      expect(room.status).toBe(429);
      const aRoom = ((await send({ op: "GET /api/v1/rooms", as: a })).body as { rooms: { id: string }[] }).rooms[0]!.id;
      await until429({ op: "POST /api/v1/direct", body: { userId: b.user.id }, as: a });
      await until429({ op: "POST /api/v1/rooms/{roomId}/members", params: { roomId: aRoom }, body: { userId: b.user.id }, as: a });
      await until429({ op: "POST /api/v1/rooms/{roomId}/messages", params: { roomId: aRoom }, body: { body: "hi" }, as: a });
      // Edits and deletions share the HTTP message budget.
      await until429({ op: "PATCH /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: aRoom, messageId: "any" }, body: { body: "hi" }, as: a });
      await until429({ op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}", params: { roomId: aRoom, messageId: "any" }, as: a });
      // So do reactions.
      await until429({ op: "PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: aRoom, messageId: "any", emoji: "👍" }, as: a });
      await until429({ op: "DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", params: { roomId: aRoom, messageId: "any", emoji: "👍" }, as: a });
      await until429({ op: "POST /api/v1/uploads", file: { filename: "a.pdf", data: sample.pdf() }, as: a });
      // Searches: one budget for GET /search and a room's ?search=.
      await until429({ op: "GET /api/v1/search", query: { q: "hi" }, as: a });
      // Settings and rooms' levels share one budget of notification changes.
      await until429({ op: "PATCH /api/v1/notifications/settings", body: { roomLevel: "all" }, as: a });
      await until429({ op: "PUT /api/v1/rooms/{roomId}/notifications", params: { roomId: aRoom }, body: { level: "all" }, as: a });
      await until429({ op: "GET /api/v1/rooms/{roomId}/messages", params: { roomId: aRoom }, query: { search: "hi" }, as: a });
      // Push subscription changes share one budget (notificationChangesPerMinute); tests have theirs.
      const device = await send({ op: "POST /api/v1/push/subscriptions", body: pushSubscriptionBody(), as: b });
      const deviceId = { subscriptionId: (device.body as { subscription: { id: string } }).subscription.id };
      await until429({ op: "POST /api/v1/push/subscriptions", body: pushSubscriptionBody(), as: b });
      await until429({ op: "DELETE /api/v1/push/subscriptions/{subscriptionId}", params: deviceId, as: b });
      await until429({ op: "POST /api/v1/push/subscriptions/{subscriptionId}/test", params: deviceId, as: b });
    } finally {
      t = base;
      await limited.destroy();
    }
  });

  it("what is refused before routing answers a documented 400 or 431 on every operation", async () => {
    for (const op of operations()) {
      const [method, template] = op.split(" ") as [string, string];
      const path = template.replace(/\{\w+\}/g, "x");
      const refused = [
        // A raw non-ASCII byte in the target: Node's parser refuses it.
        Buffer.concat([Buffer.from(`${method} ${path}?q=`), Buffer.from([0xff]), Buffer.from(" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")]),
        // Bad percent-encoding: the router refuses it.
        `${method} ${path}%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        // Headers over Node's 16 KiB.
        `${method} ${path} HTTP/1.1\r\nHost: x\r\nX-Padding: ${"p".repeat(17 * 1024)}\r\n\r\n`,
      ];
      const statuses: number[] = [];
      for (const request of refused) {
        const res = await rawHttp(t.baseUrl, request);
        const answer: Answer = { status: res.status, body: res.body ? (JSON.parse(res.body) as unknown) : null, headers: res.headers };
        check({ op }, operation(op), answer, res.body);
        expect(res.headers.get("x-request-id"), op).not.toBeNull();
        statuses.push(res.status);
      }
      expect(statuses, op).toEqual([400, 400, 431]);
    }
  });

  it("during shutdown every operation answers a documented 503 with Retry-After", async () => {
    // A socket that never reads holds the gateway's close (up to 3 s), and the HTTP API answers 503 meanwhile.
    const holder = await SocketClient.connect(t.wsUrl, bot);
    holder.ws.pause();
    // Each request is half-sent before the stop: its connection is being read, so the stopping server
    // answers it (a new connection would be refused: the listener closes at once, and a balancer tries another node).
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const held = operations().map((op) => sendHeld({ op, params: { ...ANY_PARAMS, roomId: publicRoom }, as: alice }, stopped));
    await Promise.all(held.map((h) => h.sent));
    // One whole request on a new connection of its own, answered after them: the server accepts connections
    // in order and reads what each holds before it waits for more, so it has read every half-sent head by then.
    expect((await rawHttp(t.baseUrl, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")).status).toBe(200);
    const stopping = t.server.close();
    stop();
    try {
      const answers = await Promise.all(held.map((h) => h.answer));
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ error: { code: "unavailable" } });
        expect(res.headers.get("retry-after")).toBe("5");
      }
    } finally {
      holder.ws.resume();
      await stopping;
    }
  });

  it("declares no status that the server was not seen to answer (except 500)", () => {
    const never: string[] = [];
    for (const op of operations()) {
      for (const status of Object.keys(operation(op).responses).map(Number)) {
        if (status === 500) continue;
        if (!observed.get(op)?.has(status)) never.push(`${op} ${status}`);
      }
    }
    expect(never, "declared but never provoked: provoke them above, or stop declaring them").toEqual([]);
  });
});
