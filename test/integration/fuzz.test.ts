import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { sql } from "kysely";
import { ErrorBodySchema, errorStatus, type ErrorCode } from "@shared/protocol/errors.js";
import type { ServerFrame } from "@shared/protocol/frames.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, signup, signupBot, type Caller } from "../support/client.js";
import { rawHttp, type RawAnswer } from "../support/raw-http.js";

/**
 * Issue 16 item 14: the fuzz run, bounded and seeded (fast-check). Random
 * requests over every operation of the served OpenAPI document (arbitrary
 * path parameters, queries, bodies, content types, methods and
 * credentials), random raw request bytes, and random WebSocket frames.
 * Whatever comes in:
 *
 * - nothing answers 5xx, and every answer carries an X-Request-Id;
 * - every error answer is contract v1's `{error: {code, message}}`, its
 *   code one whose status it is, and its status one the document declares
 *   for the operation (404 `not_found` when no operation has that method
 *   and path);
 * - a refused request or frame stores nothing (the row count of every table
 *   is unchanged);
 * - the socket stays open and answers a ping after each frame, and every
 *   frame the server sends is one of the protocol's.
 *
 * The seed is fixed (PARLEY_FUZZ_SEED overrides it); on a failure
 * fast-check prints the seed and the shrunk counterexample, and
 * `{ seed, path }` replays it.
 */
const SEED = Number(process.env.PARLEY_FUZZ_SEED ?? 1_614_2026);
const RUNS = { http: 300, raw: 150, ws: 40 };

interface Operation {
  responses: Record<string, { "x-error-codes"?: string[] }>;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
}

const TABLES = [
  "users",
  "sessions",
  "api_tokens",
  "rooms",
  "room_members",
  "messages",
  "message_edits",
  "message_mentions",
  "reactions",
  "room_events",
] as const;

/** Percent-encodes every byte of `text`'s UTF-8 but the unreserved characters (RFC 3986 §2.3). */
function encode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

describe("fuzz: every answer stays inside the contract", () => {
  let t: TestServer;
  let doc: OpenApiDoc;
  let alice: Caller; // cookie; owns the rooms
  let bob: Caller; // cookie; a member of the public room
  let bot: Caller; // Bearer
  let publicRoom: string;
  let privateRoom: string;
  let messageId: string;
  /** "METHOD /api/v1/…{param}" → a matcher of concrete paths, and its count of static segments (the router prefers static). */
  let routes: { op: string; method: string; pattern: RegExp; statics: number }[];

  beforeAll(async () => {
    t = await startTestServer({
      // The fuzz sends hundreds of malformed frames and commands on one socket: the per-socket bounds are tested elsewhere.
      wsInvalidFramesPerMinute: 1_000_000,
      wsCommandsPerSecond: 100_000,
      wsBytesPerSecond: 64 * 1024 * 1024,
      wsTypingPerSecond: 100_000,
    });
    doc = (await (await fetch(`${t.baseUrl}/api/v1/openapi.json`)).json()) as OpenApiDoc;
    [alice, bob, bot] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "bob"), signupBot(t.baseUrl, "bot")]);
    publicRoom = await createRoom(alice, "public");
    privateRoom = await createRoom(alice, "private");
    await bob.post(`/rooms/${publicRoom}/join`);
    messageId = (await postMessage(alice, publicRoom, "hello")).id;
    routes = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => ({
        op: `${m.toUpperCase()} ${path}`,
        method: m.toUpperCase(),
        pattern: new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+").replace(/\./g, "\\.")}$`),
        statics: path.split("/").filter((s) => s && !s.startsWith("{")).length,
      })),
    );
  });
  afterAll(() => t.destroy());

  /** Rows per table: what a refused request must leave as it was. */
  async function stored(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of TABLES) {
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(t.server.store.db);
      counts[table] = Number(rows[0]?.n);
    }
    return counts;
  }

  /** The documented operation that serves `method` and `path` (HEAD is served by GET), or null. */
  function operationFor(method: string, path: string): { op: string; operation: Operation } | null {
    const wanted = method === "HEAD" ? "GET" : method;
    const found = routes.filter((r) => r.method === wanted && r.pattern.test(path)).sort((a, b) => b.statics - a.statics)[0];
    if (!found) return null;
    const [m, p] = found.op.split(" ") as [string, string];
    return { op: found.op, operation: doc.paths[p]![m.toLowerCase()]! };
  }

  /** The contract's checks on one answer; returns whether it refused (an error status). */
  function checkAnswer(res: RawAnswer, method: string, where: string): boolean {
    expect(res.status, where).toBeGreaterThanOrEqual(200);
    expect(res.status, where).toBeLessThan(500);
    expect(res.headers.get("x-request-id"), where).toMatch(/^[A-Za-z0-9._-]{8,64}$/);
    if (res.status < 400) return false;
    if (method !== "HEAD") {
      expect(res.headers.get("content-type") ?? "", where).toMatch(/^application\/json/);
      const body = ErrorBodySchema.safeParse(JSON.parse(res.body) as unknown);
      expect(body.success, where).toBe(true);
      const code = body.data!.error.code as ErrorCode;
      expect(errorStatus[code], `${where}: code ${code} belongs to another status`).toBe(res.status);
    }
    return true;
  }

  const anyValue = (ids: string[]) =>
    fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      ...(ids.length > 0 ? [fc.constantFrom(...ids)] : []),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    );
  const FIELDS = ["body", "name", "kind", "topic", "userId", "seq", "clientId", "replyTo", "username", "password", "email", "passwordConfirm", "displayName", "__proto__", "constructor"];

  it("HTTP: random requests over every operation answer inside the contract and refused ones store nothing", async () => {
    const ids = () => [publicRoom, privateRoom, messageId, alice.user.id, bob.user.id, "👍", "public", "read-all", ".."];
    /** A path parameter: mostly a real one of its kind (so that requests reach their handlers), else anything. */
    const param = (real: string[]) =>
      fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...real) },
        { weight: 1, arbitrary: fc.constantFrom(...ids()) },
        { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 80 }) },
        { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }) },
        { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }) },
        { weight: 1, arbitrary: fc.integer().map(String) },
        { weight: 1, arbitrary: fc.integer({ min: 60, max: 700 }).map((n) => "p".repeat(n)) },
      );
    const query = fc.dictionary(
      fc.oneof(fc.constantFrom("before", "after", "around", "limit", "q"), fc.string({ maxLength: 8 })),
      fc.oneof(fc.integer().map(String), fc.string({ unit: "grapheme", maxLength: 30 }), fc.constantFrom("", "99999999999999999999", "-1", "1e3", "NaN")),
      { maxKeys: 4 },
    );
    const body = fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
      { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), anyValue(ids()), { maxKeys: 5 }).map((v) => JSON.stringify(v)) },
      // Plausible: fields most operations take, so that some requests succeed and the fuzz reaches past validation.
      {
        weight: 3,
        arbitrary: fc
          .record({
            body: fc.oneof(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,40}$/), fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 })),
            name: fc.oneof(fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,30}$/), fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 })),
            kind: fc.constantFrom("public", "private", "direct"),
            userId: fc.constantFrom(bob.user.id, alice.user.id),
            seq: fc.nat(5),
            clientId: fc.uuid(),
          })
          .map((v) => JSON.stringify(v)),
      },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
      { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => JSON.stringify({ body: "b".repeat(n) })) },
    );
    const contentType = fc.oneof(
      { weight: 6, arbitrary: fc.constant("application/json") },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          undefined,
          "application/json; charset=utf-8",
          "application/json; charset=utf-16",
          'application/json; charset="latin1"',
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "nonsense",
        ),
      },
    );
    const ops = routes.map((r) => r.op);
    const request = fc.record({
      op: fc.constantFrom(...ops),
      // Mostly the operation's own method; one in eight another (a route with no such method, or HEAD for a GET).
      otherMethod: fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS") }),
      params: fc.record({ roomId: param([publicRoom, privateRoom]), messageId: param([messageId]), emoji: param(["👍", "🎉", "❤️"]) }),
      query,
      body,
      contentType,
      as: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom("alice", "bob", "bot") },
        { weight: 1, arbitrary: fc.constantFrom("none", "alice-no-csrf", "bad-bearer") },
      ),
    });

    let before = await stored();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const [opMethod, template] = r.op.split(" ") as [string, string];
        const method = r.otherMethod ?? opMethod;
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encode(r.params[name as keyof typeof r.params] ?? "x"));
        const qs = Object.entries(r.query)
          .map(([k, v]) => `${encode(k)}=${encode(v)}`)
          .join("&");
        const headers: string[] = ["Host: fuzz", "Connection: close"];
        // A logout with real credentials would end the fixture's session for every later case.
        const as = template.endsWith("/auth/logout") ? "none" : r.as;
        if (as === "alice" || as === "alice-no-csrf" || as === "bob") {
          const who = as === "bob" ? bob : alice;
          headers.push(`Cookie: ${who.cookie}`);
          if (as !== "alice-no-csrf") headers.push(`X-CSRF-Token: ${who.csrfToken}`);
        } else if (as === "bot") headers.push(`Authorization: Bearer ${bot.bearer}`);
        else if (as === "bad-bearer") headers.push("Authorization: Bearer prl_nothing");
        const payload = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, "utf8");
        if (r.contentType !== undefined) headers.push(`Content-Type: ${r.contentType}`);
        if (r.body !== undefined || r.contentType !== undefined) headers.push(`Content-Length: ${payload.length}`);
        const target = qs ? `${path}?${qs}` : path;
        const head = Buffer.from(`${method} ${target} HTTP/1.1\r\n${headers.join("\r\n")}\r\n\r\n`, "latin1");
        const res = await rawHttp(t.baseUrl, Buffer.concat([head, payload]));
        const where = `${method} ${target.slice(0, 200)} → ${res.status} ${res.body.slice(0, 200)}`;
        const refused = checkAnswer(res, method, where);
        const served = operationFor(method, path);
        if (!served) {
          // 404; or 400 when the router could not read the path (bad percent-encoding, a segment over 512 characters) before it looked for a route.
          // (A HEAD's answer has no body to say which; its status alone is checked.)
          const unreadable = res.status === 400 && (method === "HEAD" || /"path":"(url|params)"/.test(res.body));
          if (!unreadable) expect(res.status, `no operation serves it: ${where}`).toBe(404);
        } else {
          const declared = served.operation.responses[String(res.status)];
          expect(declared, `${served.op} does not declare ${res.status}: ${where}`).toBeDefined();
          if (refused && method !== "HEAD") {
            const code = (JSON.parse(res.body) as { error: { code: string } }).error.code;
            expect(declared?.["x-error-codes"] ?? [], where).toContain(code);
          }
        }
        const after = await stored();
        if (refused) expect(after, `a refused request stored something: ${where}`).toEqual(before);
        before = after;
      }),
      { seed: SEED, numRuns: RUNS.http },
    );
  }, 120_000);

  it("HTTP: random bytes in the request line and headers answer inside the contract and store nothing", async () => {
    // Any byte but CR and LF, which end the line (and would make another request of the rest).
    const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a.filter((b) => b !== 13 && b !== 10)));
    const request = fc.record({
      method: fc.oneof(fc.constantFrom("GET", "POST", "HEAD", "PUT", "DELETE"), fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 8 })),
      target: fc.tuple(fc.constantFrom(...Object.keys(doc.paths).map((p) => p.replace(/\{\w+\}/g, "x")), "/ws", "/"), bytes(30), fc.constantFrom("", "?q=", "#")),
      header: fc.option(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), bytes(40)), { freq: 2 }),
      huge: fc.nat(9).map((n) => n === 0),
    });
    let before = await stored();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const [base, noise, suffix] = r.target;
        const header = r.header ? Buffer.concat([Buffer.from(`X-${r.header[0]}: `), r.header[1], Buffer.from("\r\n")]) : Buffer.alloc(0);
        const raw = Buffer.concat([
          Buffer.from(`${r.method} ${base}`, "latin1"),
          noise,
          Buffer.from(`${suffix} HTTP/1.1\r\nHost: fuzz\r\n`),
          header,
          r.huge ? Buffer.from(`X-Padding: ${"p".repeat(17 * 1024)}\r\n`) : Buffer.alloc(0),
          Buffer.from("Connection: close\r\n\r\n"),
        ]);
        const res = await rawHttp(t.baseUrl, raw);
        const where = `${JSON.stringify(raw.subarray(0, 120).toString("latin1"))} → ${res.status} ${res.body.slice(0, 200)}`;
        const refused = checkAnswer(res, r.method, where);
        const after = await stored();
        if (refused) expect(after, `a refused request stored something: ${where}`).toEqual(before);
        before = after;
      }),
      { seed: SEED, numRuns: RUNS.raw },
    );
  }, 120_000);

  it("WebSocket: random frames get answers inside the protocol, refused ones store nothing, and the socket stays usable", async () => {
    const s = await SocketClient.connect(t.wsUrl, alice);
    const rooms = [publicRoom, privateRoom];
    const roomId = fc.oneof(fc.constantFrom(...rooms), fc.string({ maxLength: 70 }));
    const command = fc.record(
      {
        type: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom("message.send", "message.edit", "message.delete", "resume", "room.read", "room.delivered", "ping", "typing", "presence.set", "presence.get") },
          { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
        ),
        roomId,
        messageId: fc.oneof(fc.constant(messageId), fc.string({ maxLength: 70 })),
        body: anyValue(rooms),
        clientId: anyValue([]),
        replyTo: anyValue([messageId]),
        rooms: fc.oneof(fc.dictionary(roomId, fc.oneof(fc.integer(), anyValue(rooms)), { maxKeys: 3 }), anyValue(rooms)),
        seq: fc.oneof(fc.integer(), anyValue([])),
        status: anyValue(["online", "away"]),
        users: anyValue([bob.user.id]),
      },
      { requiredKeys: ["type"] },
    );
    const frame = fc.oneof(
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 120 }).map((text) => ({ text })) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v) })) },
      { weight: 6, arbitrary: command.map((cmd) => ({ cmd })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ binary: Buffer.from(bytes) })) },
    );
    let n = 0;
    let before = await stored();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
          for (const f of frames) {
            const from = s.frames.length;
            let answer: ServerFrame | null = null;
            let sent: string;
            if ("cmd" in f) {
              const id = `fz${n++}`;
              sent = JSON.stringify({ ...f.cmd, id });
              s.ws.send(sent);
              // Every command but a typing signal is answered, by id (or by an error with id null when its id was unreadable).
              if (f.cmd.type !== "typing") {
                answer = await s.waitFor((x) => (x.type === "ack" || x.type === "error") && (x.id === id || (x.type === "error" && x.id === null && s.frames.indexOf(x) >= from)));
              }
            } else if ("text" in f) {
              sent = f.text;
              s.ws.send(f.text);
            } else {
              sent = `binary ${f.binary.toString("hex")}`;
              s.ws.send(f.binary, { binary: true });
            }
            // The socket stays usable: a ping after the frame is answered.
            expect((await s.command({ type: "ping" })).type, sent).toBe("ack");
            expect(s.closeInfo, sent).toBeNull();
            expect(s.invalid, `frames outside the protocol after ${sent}`).toEqual([]);
            const internal = s.frames.slice(from).filter((x) => x.type === "error" && x.code === "internal_error");
            expect(internal, sent).toEqual([]);
            const after = await stored();
            if (answer?.type !== "ack" && !("cmd" in f && f.cmd.type === "typing")) {
              expect(after, `a refused frame stored something: ${sent.slice(0, 300)}`).toEqual(before);
            }
            before = after;
          }
        }),
        { seed: SEED, numRuns: RUNS.ws },
      );
    } finally {
      await s.close();
    }
  }, 120_000);
});
