import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, type Caller } from "../support/client.js";
import { soloRoom } from "../support/fixtures.js";
import type { ErrorFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import { ErrorBodySchema, type ErrorBody } from "@shared/protocol/errors.js";
import { rawHttp, upgradeRequest, type RawAnswer } from "../support/raw-http.js";

/**
 * Bad input (DESIGN.md invariant 5): a clear error with a stable code,
 * nothing stored, and the socket and the process stay up.
 */
describe("bad input over the WebSocket", () => {
  let t: TestServer;
  let alice: Caller;
  let roomId: string;
  let s: SocketClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ t, alice, roomId, s, close } = await soloRoom());
  });
  afterAll(() => close());

  const stillAlive = async () => {
    expect(await s.command({ type: "ping" })).toMatchObject({ type: "ack" });
    expect(s.closeInfo).toBeNull();
  };
  const storedBodies = async () =>
    (await alice.get<HistoryResponse>(`/rooms/${roomId}/messages?limit=100`)).body.messages.map((m) => m.body);

  const cases: [string, string | (() => string), string][] = [
    ["malformed JSON", "{not json", "validation_failed"],
    ["a JSON array", "[1,2]", "validation_failed"],
    ["no type", JSON.stringify({ id: "x1" }), "validation_failed"],
    ["an unknown type", JSON.stringify({ type: "message.explode", id: "x2" }), "validation_failed"],
    ["a missing body", JSON.stringify({ type: "message.send", id: "x3", roomId: "r", clientId: "c" }), "validation_failed"],
    ["a mistyped body", JSON.stringify({ type: "message.send", id: "x4", roomId: "r", clientId: "c", body: 42 }), "validation_failed"],
    ["an empty body", () => JSON.stringify({ type: "message.send", id: "x5", roomId, clientId: "c5", body: "   " }), "validation_failed"],
    ["a body over 4,000 characters", () => JSON.stringify({ type: "message.send", id: "x6", roomId, clientId: "c6", body: "a".repeat(4001) }), "validation_failed"],
    ["an unknown room id", JSON.stringify({ type: "message.send", id: "x7", roomId: "no-such-room", clientId: "c7", body: "hi" }), "not_found"],
    ["a negative resume seq", () => JSON.stringify({ type: "resume", id: "x9", rooms: { [roomId]: -1 } }), "validation_failed"],
    // Seqs are 32-bit columns on both databases (MAX_SEQ); past it is bad input, not a database error.
    ["a resume seq past the largest a room holds", () => JSON.stringify({ type: "resume", id: "x10", rooms: { [roomId]: 2 ** 31 } }), "validation_failed"],
  ];

  for (const [what, frame, code] of cases) {
    it(`${what}: error ${code}, nothing stored, socket up`, async () => {
      const before = await storedBodies();
      const text = typeof frame === "function" ? frame() : frame;
      const err = await s.sendRaw(text);
      expect(err.code).toBe(code);
      expect(err.message.length).toBeGreaterThan(0);
      // The error names the command when the frame had a readable id.
      const id = /"id":"(x\d+)"/.exec(text)?.[1] ?? null;
      expect(err.id).toBe(id);
      expect(await storedBodies()).toEqual(before);
      await stillAlive();
    });
  }

  it("validation errors say which field", async () => {
    const err = (await s.command({ type: "message.send", roomId, clientId: "v1" })) as ErrorFrame;
    expect(err.details?.map((d) => d.path)).toContain("body");
  });

  it("a frame over 64 KiB closes its socket with 1009 (RFC 6455) before it is parsed; nothing stored, other sockets up", async () => {
    const before = await storedBodies();
    const big = await SocketClient.connect(t.wsUrl, alice);
    big.ws.send(JSON.stringify({ type: "message.send", id: "x8", roomId, clientId: "c8", body: "b".repeat(70_000) }));
    expect((await big.whenClosed()).code).toBe(1009);
    expect(await storedBodies()).toEqual(before);
    await stillAlive();
  });

  it("a binary frame gets an error and the socket stays up", async () => {
    const err = await s.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
    expect(err.code).toBe("validation_failed");
    await stillAlive();
  });

  it("a valid message still goes through after all that", async () => {
    const ack = await s.command({ type: "message.send", roomId, body: "still here", clientId: "ok-1" });
    expect(ack.type).toBe("ack");
    expect(await storedBodies()).toEqual(["still here"]);
  });
});

describe("bad input over HTTP", () => {
  let t: TestServer;
  let alice: Caller;
  let roomId: string;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await signup(t.baseUrl, "alice");
    roomId = await createRoom(alice, "public");
  });
  afterAll(() => t.destroy());

  const expectError = (res: { status: number; body: unknown }, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect((res.body as ErrorBody).error.code).toBe(code);
    expect((res.body as ErrorBody).error.message.length).toBeGreaterThan(0);
  };

  it("answers each bad request with its status and code and stores nothing", async () => {
    expectError(await alice.post(`/rooms/${roomId}/messages`, undefined, { raw: "{oops" }), 400, "validation_failed");
    expectError(await alice.post(`/rooms/${roomId}/messages`, {}), 400, "validation_failed");
    expectError(await alice.post(`/rooms/${roomId}/messages`, { body: 7 }), 400, "validation_failed");
    expectError(await alice.post(`/rooms/${roomId}/messages`, { body: " " }), 400, "validation_failed");
    expectError(await alice.post(`/rooms/${roomId}/messages`, { body: "x".repeat(4001) }), 400, "validation_failed");
    expectError(await alice.get(`/rooms/${roomId}/messages?before=${2 ** 31}`), 400, "validation_failed");
    expectError(await alice.get(`/rooms/${roomId}/messages?after=99999999999999999999`), 400, "validation_failed");
    expectError(await alice.post(`/rooms/${roomId}/messages`, { body: "x".repeat(70_000) }), 413, "payload_too_large");
    expectError(await alice.post(`/rooms/no-such-room/messages`, { body: "hi" }), 404, "not_found");
    expectError(await alice.post("/rooms", { name: "", kind: "public" }), 400, "validation_failed");
    expectError(await alice.post("/rooms", { name: "x", kind: "secret" }), 400, "validation_failed");
    expectError(await alice.get("/no/such/route"), 404, "not_found");
    const history = await alice.get<HistoryResponse>(`/rooms/${roomId}/messages`);
    expect(history.body.messages).toEqual([]);
  });

  it("a body of exactly 4,000 characters is accepted", async () => {
    const res = await alice.post<{ message: { body: string } }>(`/rooms/${roomId}/messages`, { body: "y".repeat(4000) });
    expect(res.status).toBe(201);
    expect(res.body.message.body).toHaveLength(4000);
  });

  it("validation errors carry details naming the field", async () => {
    const res = await alice.post<ErrorBody>("/rooms", { kind: "public" });
    expect(res.body.error.details?.some((d) => d.path.includes("name"))).toBe(true);
  });
});

/**
 * Issue 16 item 14: the edges a fuzz run found answered outside the
 * contract, by the router, by Node's HTTP parser and by the WebSocket
 * upgrade. Each now answers contract v1's `{error: {code, message}}` with
 * an X-Request-Id; raw sockets send what fetch would not.
 */
describe("edges outside the routes answer in the contract's shape", () => {
  let t: TestServer;
  let alice: Caller;
  let roomId: string;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await signup(t.baseUrl, "alice");
    roomId = await createRoom(alice, "public");
  });
  afterAll(() => t.destroy());

  /** The answer is `status` with contract v1's error body carrying `code`, an X-Request-Id, and JSON. */
  const expectContractError = (res: RawAnswer, status: number, code: string) => {
    expect(res.status, res.raw.slice(0, 300)).toBe(status);
    expect(res.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._-]{8,64}$/);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = ErrorBodySchema.parse(JSON.parse(res.body));
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
  };
  const storedBodies = async () => (await alice.get<HistoryResponse>(`/rooms/${roomId}/messages?limit=100`)).body.messages.map((m) => m.body);
  const credentials = () => `Cookie: ${alice.cookie}\r\nX-CSRF-Token: ${alice.csrfToken}\r\n`;

  it("a WebSocket upgrade with a malformed target is refused 400 or 404, not 500", async () => {
    expectContractError(await rawHttp(t.baseUrl, upgradeRequest("//[")), 404, "not_found");
    expectContractError(await rawHttp(t.baseUrl, upgradeRequest("//ws:99999")), 404, "not_found");
    expectContractError(await rawHttp(t.baseUrl, upgradeRequest("http://[::1")), 400, "validation_failed");
    // An absolute-form target naming /ws is still the socket's (RFC 9112 §3.2.2): here refused for want of credentials.
    expectContractError(await rawHttp(t.baseUrl, upgradeRequest("http://localhost/ws")), 401, "unauthenticated");
  });

  it("every refused upgrade carries the error body, the request's X-Request-Id and Connection: close", async () => {
    const res = await rawHttp(t.baseUrl, upgradeRequest("/ws", { "X-Request-Id": "balancer-id-1234" }));
    expectContractError(res, 401, "unauthenticated");
    expect(res.headers.get("x-request-id")).toBe("balancer-id-1234");
    expect(res.headers.get("connection")).toBe("close");
    expectContractError(await rawHttp(t.baseUrl, upgradeRequest("/api/v1/rooms")), 404, "not_found");
  });

  it("a path parameter over the router's 512 characters is 400 validation_failed, not Fastify's 414", async () => {
    const res = await rawHttp(t.baseUrl, `GET /api/v1/rooms/${"x".repeat(600)} HTTP/1.1\r\nHost: x\r\n${credentials()}Connection: close\r\n\r\n`);
    expectContractError(res, 400, "validation_failed");
  });

  it("bad percent-encoding in the path is 400 validation_failed, not Fastify's FST_ERR_BAD_URL", async () => {
    const res = await rawHttp(t.baseUrl, `GET /api/v1/rooms/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${credentials()}Connection: close\r\n\r\n`);
    expectContractError(res, 400, "validation_failed");
    const post = await rawHttp(
      t.baseUrl,
      `POST /api/v1/rooms/%ZZ/messages HTTP/1.1\r\nHost: x\r\n${credentials()}Content-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{"body":"hi"}`,
    );
    expectContractError(post, 400, "validation_failed");
    expect(await storedBodies()).toEqual([]);
  });

  it("a request line over 16 KiB is 431 headers_too_large, with no body to a HEAD and the connection closed", async () => {
    const long = `/api/v1/rooms/${"x".repeat(17 * 1024)}`;
    const get = await rawHttp(t.baseUrl, `GET ${long} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expectContractError(get, 431, "headers_too_large");
    expect(get.headers.get("connection")).toBe("close");
    // HEAD: the head only (RFC 9110 §9.3.2); a keep-alive client would read a body as its next answer.
    const head = await rawHttp(t.baseUrl, `HEAD ${long} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(head.status).toBe(431);
    expect(head.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(head.headers.get("connection")).toBe("close");
    expect(head.body).toBe("");
    // Headers that add up past it, the request line short: the same answer.
    const cookie = await rawHttp(t.baseUrl, `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nCookie: a=${"c".repeat(17 * 1024)}\r\n\r\n`);
    expectContractError(cookie, 431, "headers_too_large");
  });

  it("a raw non-ASCII byte in the target is 400 validation_failed, not Node's bare Client Error", async () => {
    const request = Buffer.concat([Buffer.from(`GET /api/v1/rooms/r`), Buffer.from([0xe9]), Buffer.from(` HTTP/1.1\r\nHost: x\r\n${credentials()}Connection: close\r\n\r\n`)]);
    const res = await rawHttp(t.baseUrl, request);
    expectContractError(res, 400, "validation_failed");
    expect(res.headers.get("connection")).toBe("close");
  });

  it("a wrong method on a known path is 404 before its body is read: not 400 for bad JSON, not 413 for a large one", async () => {
    const send = (method: string, path: string, body: string) =>
      rawHttp(t.baseUrl, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${credentials()}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    expectContractError(await send("PUT", "/api/v1/rooms", "{oops"), 404, "not_found");
    expectContractError(await send("PATCH", `/api/v1/rooms/${roomId}/messages`, "x".repeat(70_000)), 404, "not_found");
    expectContractError(await send("DELETE", `/api/v1/rooms/${roomId}/join`, '{"a":1}'), 404, "not_found");
    expect(await storedBodies()).toEqual([]);
  });

  it("a JSON body declared in a charset other than UTF-8 is refused 400 and stores nothing; utf-8, however spelled, is taken", async () => {
    const send = (contentType: string, body: Buffer): Promise<Response> =>
      fetch(`${t.baseUrl}/api/v1/rooms/${roomId}/messages`, {
        method: "POST",
        headers: { "content-type": contentType, cookie: alice.cookie!, "x-csrf-token": alice.csrfToken! },
        body: new Uint8Array(body),
      });
    const utf8 = Buffer.from(JSON.stringify({ body: "héllo" }));
    for (const [type, body] of [
      ["application/json; charset=utf-16", utf8],
      ["application/json; charset=UTF-16LE", Buffer.from(JSON.stringify({ body: "héllo" }), "utf16le")],
      ["application/json; charset=latin1", utf8],
      ['application/json; charset="iso-8859-1"', utf8],
    ] as const) {
      const res = await send(type, body);
      expect(res.status, type).toBe(400);
      expect(res.headers.get("x-request-id")).not.toBeNull();
      const answer = ErrorBodySchema.parse(await res.json());
      expect(answer.error.code).toBe("validation_failed");
      expect(answer.error.details?.[0]?.path).toBe("Content-Type");
    }
    expect(await storedBodies()).toEqual([]);
    for (const type of ["application/json", "application/json; charset=utf-8", 'application/json;charset="UTF-8"', "application/json; charset=utf8"]) {
      expect((await send(type, utf8)).status, type).toBe(201);
    }
    expect(await storedBodies()).toEqual(["héllo", "héllo", "héllo", "héllo"]);
  });
});
