import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, type Caller } from "../support/client.js";
import { soloRoom } from "../support/fixtures.js";
import type { ErrorFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import type { ErrorBody } from "@shared/protocol/errors.js";

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
