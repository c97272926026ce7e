import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { Caller, SocketClient, createRoom, signup, signupBot } from "../support/client.js";
import type { AckFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse } from "@shared/protocol/http.js";

/** Reconnect and resume: exactly the missed events, in order, no duplicates (invariant 4). */
describe("resume", () => {
  let t: TestServer;
  let alice: Caller;
  let bob: Caller;
  let roomId: string;
  let otherRoom: string;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await signup(t.baseUrl, "alice");
    bob = await signupBot(t.baseUrl, "bob");
    roomId = await createRoom(alice, "public");
    otherRoom = await createRoom(alice, "public");
    await bob.post(`/rooms/${roomId}/join`);
    await bob.post(`/rooms/${otherRoom}/join`);
  });
  afterAll(() => t.destroy());

  it("a socket that misses messages while disconnected gets exactly those on resume", async () => {
    const b1 = await SocketClient.connect(t.wsUrl, bob);
    await alice.post(`/rooms/${roomId}/messages`, { body: "before" });
    const before = await b1.waitFor((f) => f.type === "message.created" && f.message.body === "before");
    const lastSeq = before.type === "message.created" ? before.seq : 0;
    await b1.close();

    for (let i = 0; i < 5; i++) await alice.post(`/rooms/${roomId}/messages`, { body: `missed ${i}` });
    await alice.post(`/rooms/${otherRoom}/messages`, { body: "elsewhere" });

    const b2 = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b2.command({ type: "resume", rooms: { [roomId]: lastSeq } })) as AckFrame;
    const got = b2.messages(roomId);
    expect(got.map((f) => f.message.body)).toEqual([0, 1, 2, 3, 4].map((i) => `missed ${i}`));
    expect(got.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5].map((i) => lastSeq + i));
    expect(ack.rooms).toEqual({ [roomId]: lastSeq + 5 });
    // The ack comes after the events it covers.
    const ackIndex = b2.frames.indexOf(ack);
    expect(b2.frames.findIndex((f) => f.type === "message.created" && f.roomId === roomId)).toBeLessThan(ackIndex);
    // Rooms not named in the resume are not replayed.
    expect(b2.messages(otherRoom)).toHaveLength(0);

    // Live delivery goes on after the resume, with no duplicate.
    await alice.post(`/rooms/${roomId}/messages`, { body: "after" });
    await b2.waitFor((f) => f.type === "message.created" && f.message.body === "after");
    const seqs = b2.messages(roomId).map((f) => f.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    await b2.close();
  });

  it("resume replays membership events too, and a large gap arrives whole and in order", async () => {
    const room = await createRoom(alice, "public");
    const b = await SocketClient.connect(t.wsUrl, bob);
    await b.close();
    await bob.post(`/rooms/${room}/join`);
    const sends = Array.from({ length: 1200 }, (_, i) => alice.post(`/rooms/${room}/messages`, { body: `bulk ${i}`, clientId: `bulk-${i}` }));
    await Promise.all(sends);
    const b2 = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b2.command({ type: "resume", rooms: { [room]: 0 } })) as AckFrame;
    const events = b2.frames.filter((f) => "roomId" in f && f.roomId === room && "seq" in f) as { seq: number; type: string }[];
    // seq 1: alice joined (owner); 2: bob joined; then 1,200 messages.
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 1202 }, (_, i) => i + 1));
    expect(events[1]!.type).toBe("member.joined");
    expect(ack.rooms?.[room]).toBe(1202);
    await b2.close();
  });

  it("events that go live before the resume command are not sent twice", async () => {
    const b1 = await SocketClient.connect(t.wsUrl, bob);
    await alice.post(`/rooms/${roomId}/messages`, { body: "x0" });
    const x0 = await b1.waitFor((f) => f.type === "message.created" && f.message.body === "x0");
    const known = x0.type === "message.created" ? x0.seq : 0;
    await b1.close();
    await alice.post(`/rooms/${roomId}/messages`, { body: "x1" }); // missed
    const b2 = await SocketClient.connect(t.wsUrl, bob);
    await alice.post(`/rooms/${roomId}/messages`, { body: "x2" }); // live, before resume
    await b2.waitFor((f) => f.type === "message.created" && f.message.body === "x2");
    await b2.command({ type: "resume", rooms: { [roomId]: known } });
    await alice.post(`/rooms/${roomId}/messages`, { body: "x3" });
    await b2.waitFor((f) => f.type === "message.created" && f.message.body === "x3");
    const bodies = b2.messages(roomId).map((f) => f.message.body);
    expect(bodies.sort()).toEqual(["x1", "x2", "x3"]);
    await b2.close();
  });

  it("a client that already has everything gets nothing but the ack", async () => {
    const room = await createRoom(alice, "public");
    await bob.post(`/rooms/${room}/join`);
    await alice.post(`/rooms/${room}/messages`, { body: "seen" });
    const head = (await bob.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;
    const b = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b.command({ type: "resume", rooms: { [room]: head } })) as AckFrame;
    expect(ack.rooms).toEqual({ [room]: head });
    expect(b.messages(room)).toHaveLength(0);
    await b.close();
  });
});

describe("durability", () => {
  it("history survives a server restart, and seqs continue without a gap", async () => {
    let t = await startTestServer();
    const alice = await signup(t.baseUrl, "alice");
    const room = await createRoom(alice, "public");
    for (const body of ["one", "two", "three"]) await alice.post(`/rooms/${room}/messages`, { body });
    t = await t.restart();
    const again = new Caller(t.baseUrl);
    again.cookie = alice.cookie;
    again.csrfToken = alice.csrfToken;
    const history = await again.get<HistoryResponse>(`/rooms/${room}/messages`);
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m) => m.body)).toEqual(["one", "two", "three"]);
    const next = await again.post<{ message: { seq: number } }>(`/rooms/${room}/messages`, { body: "four" });
    expect(next.body.message.seq).toBe(history.body.messages[2]!.seq + 1);
    await t.destroy();
  });

  it("graceful shutdown closes sockets with 1012 service restart, so that clients reconnect at once (to another node)", async () => {
    const t = await startTestServer();
    const alice = await signup(t.baseUrl, "alice");
    const s = await SocketClient.connect(t.wsUrl, alice);
    await t.destroy();
    const closed = await s.whenClosed();
    expect(closed.code).toBe(1012);
  });
});

describe("resume edge cases", () => {
  let t: TestServer;
  let alice: Caller;
  let bob: Caller;
  beforeAll(async () => {
    t = await startTestServer();
    alice = await signup(t.baseUrl, "alice");
    bob = await signupBot(t.baseUrl, "bob");
  });
  afterAll(() => t.destroy());

  it("a room the socket learns of through resume gets live events afterwards", async () => {
    const room = await createRoom(alice, "public");
    const b = await SocketClient.connect(t.wsUrl, bob);
    // A membership whose member.joined this socket never saw (as when another node's join races the resume).
    await t.server.store.db.insertInto("room_members").values({ room_id: room, user_id: bob.user.id, role: "member", joined_at: new Date().toISOString(), last_read_seq: 0 }).execute();
    const ack = (await b.command({ type: "resume", rooms: { [room]: 0 } })) as AckFrame;
    expect(ack.rooms).toEqual({ [room]: 1 });
    await alice.post(`/rooms/${room}/messages`, { body: "live after resume" });
    await b.waitFor((f) => f.type === "message.created" && f.roomId === room && f.message.body === "live after resume");
    await b.close();
  });

  it("a client claiming a seq past the room's head is held to the head, and live events still arrive", async () => {
    const room = await createRoom(alice, "public");
    await bob.post(`/rooms/${room}/join`);
    const b = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await b.command({ type: "resume", rooms: { [room]: 1000 } })) as AckFrame;
    expect(ack.rooms).toEqual({ [room]: 2 });
    await alice.post(`/rooms/${room}/messages`, { body: "next" });
    await b.waitFor((f) => f.type === "message.created" && f.roomId === room && f.seq === 3);
    await b.close();
  });
});
