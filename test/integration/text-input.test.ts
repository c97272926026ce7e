import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { Caller, PASSWORD, createRoom, signup, unique, type SocketClient } from "../support/client.js";
import { soloRoom } from "../support/fixtures.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import type { ErrorFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import type { Message, Room } from "@shared/protocol/entities.js";

type RoomsResponse = { rooms: Room[] };
type MessageResponse = { message: Message };

/**
 * Text rules (src/shared/protocol/text.ts) over real HTTP and WebSocket:
 * spoofing characters are refused with validation_failed naming the field,
 * nothing is stored, a NUL is a 400 (never a 500), and what is stored is
 * NFC-normalized.
 */
const RLO = "\u202e";
const ZWSP = "\u200b";
const ZWJ = "\u200d";

function expectValidation(res: { status: number; body: unknown }, path: string): void {
  expect(res.status).toBe(400);
  const error = (res.body as ErrorBody).error;
  expect(error.code).toBe("validation_failed");
  const detail = error.details?.find((d) => d.path === path);
  expect(detail, `details name ${path}: ${JSON.stringify(error.details)}`).toBeDefined();
  expect(detail!.message.length).toBeGreaterThan(0);
}

describe("text input over HTTP", () => {
  let t: TestServer;
  let alice: Caller;
  let roomId: string;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await signup(t.baseUrl, "alice");
    roomId = await createRoom(alice, "public");
  });
  afterAll(() => t.destroy());

  const roomNames = async () => (await alice.get<RoomsResponse>("/rooms")).body.rooms.map((r) => r.name);
  const bodies = async () => (await alice.get<HistoryResponse>(`/rooms/${roomId}/messages`)).body.messages.map((m) => m.body);

  it("a right-to-left override in a room name or topic: 400 naming the field, no room created", async () => {
    const before = await roomNames();
    const badName = await alice.post("/rooms", { name: `invoice${RLO}fdp.exe`, kind: "public" });
    expectValidation(badName, "body.name");
    expect((badName.body as ErrorBody).error.details!.find((d) => d.path === "body.name")!.message).toMatch(/bidirectional/);
    expectValidation(await alice.post("/rooms", { name: "fine", kind: "public", topic: `x${RLO}y` }), "body.topic");
    expectValidation(await alice.post("/rooms", { name: `ad${ZWSP}min`, kind: "public" }), "body.name");
    expect(await roomNames()).toEqual(before);
  });

  it("a right-to-left override or zero-width space in a display name: 400, no account created", async () => {
    for (const displayName of [`Bob${RLO}`, ZWSP, `B${ZWSP}ob`, "a\u0000b"]) {
      const username = `dn_${unique()}`.slice(0, 32);
      const caller = new Caller(t.baseUrl);
      const res = await caller.post("/auth/signup", {
        email: `${username}@example.test`, username, password: PASSWORD, passwordConfirm: PASSWORD, displayName,
      });
      expectValidation(res, "body.displayName");
      // Nothing was stored: the same username can sign up right after.
      const again = await caller.post("/auth/signup", {
        email: `${username}@example.test`, username, password: PASSWORD, passwordConfirm: PASSWORD, displayName: "Bob",
      });
      expect(again.status).toBe(201);
    }
  });

  it("a NUL in the search query, the login username or a body is a 400, never a 500", async () => {
    expectValidation(await alice.get(`/users?q=${encodeURIComponent("a\u0000")}`), "querystring.q");
    const login = await new Caller(t.baseUrl).post("/auth/login", { username: `${alice.user.username}\u0000`, password: PASSWORD });
    expectValidation(login, "body.username");
    expectValidation(await alice.post(`/rooms/${roomId}/messages`, { body: "hi\u0000there" }), "body.body");
    expectValidation(await alice.post(`/rooms/${roomId}/messages`, { body: "hi", clientId: "c\u0000" }), "body.clientId");
    expectValidation(await alice.get(`/rooms/${encodeURIComponent("r\u0000")}`), "params.roomId");
    expectValidation(await alice.post("/direct", { userId: "u\u0000" }), "body.userId");
    expect(await bodies()).toEqual([]);
  });

  it("a body of only zero-width characters and whitespace is refused", async () => {
    for (const body of [ZWSP, `${ZWSP}${ZWJ} ${ZWSP}`, `\u3164`, `${ZWJ}\n\t${ZWJ}`]) {
      const res = await alice.post(`/rooms/${roomId}/messages`, { body });
      expectValidation(res, "body.body");
      expect((res.body as ErrorBody).error.message).toMatch(/no visible character/);
    }
    expect(await bodies()).toEqual([]);
  });

  it("what is stored is NFC: e + combining acute becomes é, in the answer and in history", async () => {
    const res = await alice.post<MessageResponse>(`/rooms/${roomId}/messages`, { body: "caf" + "e\u0301" });
    expect(res.status).toBe(201);
    expect(res.body.message.body).toBe("caf\u00e9");
    expect(await bodies()).toEqual(["caf\u00e9"]);
    const room = await alice.post<{ room: { name: string } }>("/rooms", { name: `Cafe\u0301 ${unique()}`, kind: "public" });
    expect(room.status).toBe(201);
    expect(room.body.room.name.startsWith("Caf\u00e9 ")).toBe(true);
  });

  it("emoji ZWJ sequences stay allowed in names and bodies", async () => {
    const coder = "\u{1F469}\u200d\u{1F4BB}";
    const room = await alice.post<{ room: { name: string } }>("/rooms", { name: `coders ${coder} ${unique()}`, kind: "public" });
    expect(room.status).toBe(201);
    expect(room.body.room.name).toContain(coder);
    const msg = await alice.post<MessageResponse>(`/rooms/${roomId}/messages`, { body: coder });
    expect(msg.status).toBe(201);
    expect(msg.body.message.body).toBe(coder);
  });
});

describe("text input over the WebSocket", () => {
  let alice: Caller;
  let roomId: string;
  let s: SocketClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ alice, roomId, s, close } = await soloRoom());
  });
  afterAll(() => close());

  const bodies = async () => (await alice.get<HistoryResponse>(`/rooms/${roomId}/messages`)).body.messages.map((m) => m.body);

  it("an invisible-only body gets an error frame naming body, nothing stored, and the socket stays open", async () => {
    for (const [i, body] of [ZWSP, `${ZWSP}${ZWJ} `, "\u2800", "a\u0000"].entries()) {
      const err = (await s.command({ type: "message.send", roomId, clientId: `inv-${i}`, body })) as ErrorFrame;
      expect(err.type).toBe("error");
      expect(err.code).toBe("validation_failed");
      expect(err.details?.map((d) => d.path)).toEqual(["body"]);
    }
    expect(await bodies()).toEqual([]);
    expect(await s.command({ type: "ping" })).toMatchObject({ type: "ack" });
    expect(s.closeInfo).toBeNull();
  });

  it("a bidi override in a body is refused; a NUL in a resume room id too", async () => {
    const err = (await s.command({ type: "message.send", roomId, clientId: "rlo", body: `see ${RLO}gpj.exe` })) as ErrorFrame;
    expect(err.code).toBe("validation_failed");
    const resume = (await s.command({ type: "resume", rooms: { "r\u0000": 0 } })) as ErrorFrame;
    expect(resume.code).toBe("validation_failed");
    expect(s.closeInfo).toBeNull();
  });

  it("a decomposed accent is stored and delivered composed (NFC)", async () => {
    const ack = await s.command({ type: "message.send", roomId, clientId: "nfc-1", body: "e\u0301" });
    expect(ack.type).toBe("ack");
    expect(ack.type === "ack" && ack.message?.body).toBe("\u00e9");
    const created = await s.waitFor((f) => f.type === "message.created" && f.message.clientId === "nfc-1");
    expect(created.type === "message.created" && created.message.body).toBe("\u00e9");
    expect(await bodies()).toEqual(["\u00e9"]);
  });
});
