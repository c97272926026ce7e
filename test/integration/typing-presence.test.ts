import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, socketPool, type Caller } from "../support/client.js";
import type { ServerFrame, PresenceUpdatedEvent, TypingUpdatedEvent } from "@shared/protocol/frames.js";

/**
 * Typing indicators and presence (issue 9, items 1 and 2) against a real
 * node over real sockets. What must NOT arrive is checked behind a barrier
 * (a later frame on the same socket that would have come after it), never by
 * waiting a while; the timeouts are safety nets, not budgets.
 */

const isTyping = (roomId: string, userId: string, state?: "start" | "stop") => (f: ServerFrame) =>
  f.type === "typing.updated" && f.roomId === roomId && f.userId === userId && (state === undefined || f.state === state);
const isPresence = (userId: string, status?: string) => (f: ServerFrame) =>
  f.type === "presence.updated" && f.userId === userId && (status === undefined || f.status === status);

/** Frames `client` received before the first one that passes `barrier` (waited for). */
async function before(client: SocketClient, barrier: (f: ServerFrame) => boolean): Promise<ServerFrame[]> {
  const b = await client.waitFor(barrier);
  return client.frames.slice(0, client.frames.indexOf(b));
}

/** A barrier on `client`: a ping's ack, which comes after anything already queued for its socket. */
async function pingBarrier(client: SocketClient): Promise<ServerFrame[]> {
  const ack = await client.command({ type: "ping" });
  return client.frames.slice(0, client.frames.indexOf(ack));
}

async function join(caller: Caller, roomId: string): Promise<void> {
  const res = await caller.post(`/rooms/${roomId}/join`);
  expect(res.status).toBe(200);
}

describe("typing indicators", () => {
  let srv: TestServer;
  const { connect, closeAll } = socketPool(() => srv.wsUrl);

  beforeAll(async () => {
    // A long TTL: every stop seen here comes from a stop, a disconnect or… the short-TTL test's own server.
    // A low command limit (bursts of 20): a typing flood counted against it would throttle the send after it.
    srv = await startTestServer({ typingTtlMs: 60_000, wsCommandsPerSecond: 5 });
  });
  afterAll(async () => {
    await closeAll();
    await srv.destroy();
  });

  it("reaches the other members' sockets, not the typist's own, not non-members; stop clears it", async () => {
    const alice = await signup(srv.baseUrl, "alice");
    const bob = await signup(srv.baseUrl, "bob");
    const carol = await signup(srv.baseUrl, "carol");
    const room = await createRoom(alice);
    await join(bob, room);
    const other = await createRoom(alice); // carol shares another room with alice, not this one
    await join(carol, other);
    const [a1, a2, b, c] = [await connect(alice), await connect(alice), await connect(bob), await connect(carol)];

    const ack = await a1.command({ type: "typing", roomId: room, state: "start" });
    expect(ack.type).toBe("ack");
    const start = await b.waitFor<TypingUpdatedEvent>(isTyping(room, alice.user.id, "start"));
    expect(start).toEqual({ type: "typing.updated", roomId: room, userId: alice.user.id, state: "start" });

    // Barrier for alice's other tab: her next message reaches it after any typing frame would have.
    const sent = await a1.command({ type: "message.send", roomId: room, body: "hi", clientId: "t1" });
    expect(sent.type).toBe("ack");
    expect((await before(a2, (f) => f.type === "message.created" && f.roomId === room)).filter((f) => f.type === "typing.updated")).toEqual([]);
    // Barrier for carol: alice typing in the room they share reaches her after anything from this room.
    await a1.command({ type: "typing", roomId: other, state: "start" });
    const seenByCarol = await before(c, isTyping(other, alice.user.id, "start"));
    expect(seenByCarol.filter((f) => f.type === "typing.updated")).toEqual([]);

    // Without an id: no ack, but the stop still reaches bob.
    const acks = () => a1.frames.filter((f) => f.type === "ack").length;
    const acksBefore = acks();
    a1.ws.send(JSON.stringify({ type: "typing", roomId: room, state: "stop" }));
    await b.waitFor(isTyping(room, alice.user.id, "stop"));
    await a1.command({ type: "ping" });
    expect(acks()).toBe(acksBefore + 1); // the ping's only
  });

  it("sends a stop when the typist's socket closes", async () => {
    const alice = await signup(srv.baseUrl, "alice");
    const bob = await signup(srv.baseUrl, "bob");
    const room = await createRoom(alice);
    await join(bob, room);
    const a = await SocketClient.connect(srv.wsUrl, alice);
    const b = await connect(bob);
    await a.command({ type: "typing", id: "t", roomId: room, state: "start" });
    await b.waitFor(isTyping(room, alice.user.id, "start"));
    await a.close();
    // The TTL is a minute: this stop can only come from the disconnect.
    await b.waitFor(isTyping(room, alice.user.id, "stop"));
  });

  it("sends a stop when the typist leaves the room, with the socket still open", async () => {
    const alice = await signup(srv.baseUrl, "alice");
    const bob = await signup(srv.baseUrl, "bob");
    const room = await createRoom(alice);
    await join(bob, room);
    const a = await connect(alice);
    const b = await connect(bob);
    await b.command({ type: "typing", id: "t", roomId: room, state: "start" });
    await a.waitFor(isTyping(room, bob.user.id, "start"));
    expect((await bob.post(`/rooms/${room}/leave`)).status).toBe(204);
    // The TTL is a minute and Bob's socket stays open: this stop can only come from the leave.
    await a.waitFor(isTyping(room, bob.user.id, "stop"));
  });

  it("is not stored: takes no seq and is not replayed by resume", async () => {
    const alice = await signup(srv.baseUrl, "alice");
    const bob = await signup(srv.baseUrl, "bob");
    const room = await createRoom(alice);
    await join(bob, room);
    const head = async () => (await alice.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;
    const seqBefore = await head();
    const a = await connect(alice);
    const b = await connect(bob);
    await a.command({ type: "typing", roomId: room, state: "start" });
    await b.waitFor(isTyping(room, alice.user.id, "start"));
    expect(await head()).toBe(seqBefore);

    const b2 = await connect(bob);
    const ack = await b2.command({ type: "resume", rooms: { [room]: 0 } });
    expect(ack.type).toBe("ack");
    const replayed = b2.frames.slice(0, b2.frames.indexOf(ack));
    expect(replayed.length).toBeGreaterThan(0); // the room's real events came back
    expect(replayed.filter((f) => f.type === "typing.updated")).toEqual([]);
    expect(replayed.every((f) => f.type !== "typing.updated" && (!("seq" in f) || f.seq <= seqBefore))).toBe(true);
  });

  it("a typing flood does not throttle message.send, and fans out only a few frames", async () => {
    const alice = await signup(srv.baseUrl, "alice");
    const bob = await signup(srv.baseUrl, "bob");
    const room = await createRoom(alice);
    await join(bob, room);
    const a = await connect(alice);
    const b = await connect(bob);
    const started = performance.now();
    for (let i = 0; i < 200; i++) a.ws.send(JSON.stringify({ type: "typing", roomId: room, state: i % 2 === 0 ? "start" : "stop" }));
    const sent = await a.command({ type: "message.send", roomId: room, body: "still here", clientId: "after-flood" });
    expect(sent.type).toBe("ack");
    expect(a.frames.filter((f) => f.type === "error")).toEqual([]);
    const seen = await before(b, (f) => f.type === "message.created" && f.message.clientId === "after-flood");
    // At most one start per user per room per second, a stop only after a start: a start and a stop for each second
    // the flood took. Under 20 when it takes under a second; the bound grows with a machine too slow for that.
    const seconds = Math.floor((performance.now() - started) / 1_000);
    expect(seen.filter(isTyping(room, alice.user.id)).length).toBeGreaterThan(0);
    expect(seen.filter(isTyping(room, alice.user.id)).length).toBeLessThan(20 + 2 * seconds);
    expect(a.closeInfo).toBeNull();
  });

  it("refuses a non-member's typing with a stable code and fans out nothing", async () => {
    const alice = await signup(srv.baseUrl, "alice");
    const mallory = await signup(srv.baseUrl, "mallory");
    const room = await createRoom(alice);
    const secret = await createRoom(alice, "private");
    const a = await connect(alice);
    const m = await connect(mallory);
    const refused = await m.command({ type: "typing", roomId: room, state: "start" });
    expect(refused).toMatchObject({ type: "error", code: "forbidden" });
    const hidden = await m.command({ type: "typing", roomId: secret, state: "start" });
    expect(hidden).toMatchObject({ type: "error", code: "not_found" });
    await a.command({ type: "message.send", roomId: room, body: "barrier", clientId: "b1" });
    const seen = await before(a, (f) => f.type === "message.created" && f.message.clientId === "b1");
    expect(seen.filter((f) => f.type === "typing.updated")).toEqual([]);
  });

  it("refuses a frame that starts as typing but is another command", async () => {
    const alice = await signup(srv.baseUrl, "alice");
    const room = await createRoom(alice);
    const a = await connect(alice);
    const err = await a.sendRaw(`{"type":"typing","id":"x","roomId":"${room}","type":"message.send","body":"sneak","clientId":"s"}`);
    expect(err).toMatchObject({ code: "validation_failed", id: "x" });
  });

  it("expires after the TTL when the client goes quiet", async () => {
    const quick = await startTestServer({ typingTtlMs: 50 });
    try {
      const alice = await signup(quick.baseUrl, "alice");
      const bob = await signup(quick.baseUrl, "bob");
      const room = await createRoom(alice);
      await join(bob, room);
      const a = await SocketClient.connect(quick.wsUrl, alice);
      const b = await SocketClient.connect(quick.wsUrl, bob);
      await a.command({ type: "typing", roomId: room, state: "start" });
      await b.waitFor(isTyping(room, alice.user.id, "start"));
      // alice stays connected and silent: only the server's expiry can send this.
      await b.waitFor(isTyping(room, alice.user.id, "stop"));
      expect(a.closeInfo).toBeNull();
      await a.close();
      await b.close();
    } finally {
      await quick.destroy();
    }
  });
});

describe("presence", () => {
  let srv: TestServer;
  const { connect, closeAll } = socketPool(() => srv.wsUrl);

  beforeAll(async () => {
    srv = await startTestServer({ presenceOfflineGraceMs: 20 });
  });
  afterAll(async () => {
    await closeAll();
    await srv.destroy();
  });

  it("online on connect, two tabs count once, idle everywhere → away, last close → offline with lastSeenAt", async () => {
    const ada = await signup(srv.baseUrl, "ada");
    const bob = await signup(srv.baseUrl, "bob");
    const room = await createRoom(ada);
    await join(bob, room);
    const a = await connect(ada);
    const b1 = await SocketClient.connect(srv.wsUrl, bob);
    const online = await a.waitFor<PresenceUpdatedEvent>(isPresence(bob.user.id, "online"));
    expect(online).toEqual({ type: "presence.updated", userId: bob.user.id, status: "online", lastSeenAt: null });

    const b2 = await SocketClient.connect(srv.wsUrl, bob);
    // A new socket of ada's sees bob in ready's presence map.
    const a2 = await connect(ada);
    const ready = a2.frames[0]!;
    expect(ready.type === "ready" && ready.presence?.[bob.user.id]?.status).toBe("online");

    await b1.close(); // the other tab stays: still online
    expect((await b2.command({ type: "presence.set", state: "idle" })).type).toBe("ack");
    const away = await a.waitFor<PresenceUpdatedEvent>(isPresence(bob.user.id, "away"));
    expect(away.lastSeenAt).toBeNull();
    // The tab closing said nothing: the next announcement after online was away.
    expect(a.frames.filter(isPresence(bob.user.id)).map((f) => (f as PresenceUpdatedEvent).status)).toEqual(["online", "away"]);

    await b2.close();
    const offline = await a.waitFor<PresenceUpdatedEvent>(isPresence(bob.user.id, "offline"));
    expect(offline.lastSeenAt).not.toBeNull();
    expect(Number.isNaN(Date.parse(offline.lastSeenAt!))).toBe(false);
  });

  it("an active tab beats an idle one (most present wins)", async () => {
    const ada = await signup(srv.baseUrl, "ada");
    const bob = await signup(srv.baseUrl, "bob");
    const room = await createRoom(ada);
    await join(bob, room);
    const a = await connect(ada);
    const b1 = await connect(bob);
    const b2 = await connect(bob);
    await a.waitFor(isPresence(bob.user.id, "online"));
    await b1.command({ type: "presence.set", state: "idle" });
    await b2.command({ type: "presence.set", state: "idle" });
    const away = await a.waitFor(isPresence(bob.user.id, "away"));
    await b1.command({ type: "presence.set", state: "active" }); // b2 stays idle
    await a.waitFor((f) => isPresence(bob.user.id, "online")(f) && a.frames.indexOf(f) > a.frames.indexOf(away));
  });

  it("presence.get answers for those who share a room with the caller, never for strangers", async () => {
    const ada = await signup(srv.baseUrl, "ada");
    const bob = await signup(srv.baseUrl, "bob");
    const stranger = await signup(srv.baseUrl, "stranger");
    const a = await connect(ada);
    const b = await connect(bob);
    await connect(stranger);
    // They meet after both connected: neither ready nor an announcement told ada about bob.
    const dm = await ada.post<{ room: { id: string } }>("/direct", { userId: bob.user.id });
    expect(dm.status).toBe(200);
    const ack = await a.command({ type: "presence.get", userIds: [bob.user.id, stranger.user.id, "nobody"] });
    expect(ack).toMatchObject({ type: "ack", presence: { [bob.user.id]: { status: "online", lastSeenAt: null } } });
    expect(Object.keys((ack as { presence: object }).presence)).toEqual([bob.user.id]);
    const bad = await b.command({ type: "presence.get", userIds: [] });
    expect(bad).toMatchObject({ type: "error", code: "validation_failed" });
  });

  it("is only told to users who share a room, and stops when the last shared room is left", async () => {
    const ada = await signup(srv.baseUrl, "ada");
    const bob = await signup(srv.baseUrl, "bob");
    const witness = await signup(srv.baseUrl, "witness");
    const stranger = await signup(srv.baseUrl, "stranger");
    const shared = await createRoom(bob);
    await join(ada, shared);
    await join(witness, shared);
    const a = await connect(ada);
    const w = await connect(witness);
    const s = await connect(stranger);
    const b = await connect(bob);
    await a.waitFor(isPresence(bob.user.id, "online"));
    await w.waitFor(isPresence(bob.user.id, "online"));
    // The stranger's socket had the same envelope's chance: nothing before its ping's ack.
    expect((await pingBarrier(s)).filter((f) => f.type === "presence.updated")).toEqual([]);

    // ada leaves the only room she shares with bob; bob then goes away.
    expect((await ada.post(`/rooms/${shared}/leave`)).status).toBe(204);
    await b.command({ type: "presence.set", state: "idle" });
    await w.waitFor(isPresence(bob.user.id, "away"));
    expect((await pingBarrier(a)).filter(isPresence(bob.user.id, "away"))).toEqual([]);
    expect((await pingBarrier(s)).filter((f) => f.type === "presence.updated")).toEqual([]);
  });
});

describe("presence last seen across a restart", () => {
  let srv: TestServer;
  afterAll(async () => {
    await srv.destroy();
  });

  it("a co-member's ready and presence.get still report the user offline with the same lastSeenAt", async () => {
    srv = await startTestServer({ presenceOfflineGraceMs: 20 });
    const ada = await signup(srv.baseUrl, "ada");
    const bob = await signup(srv.baseUrl, "bob");
    const room = await createRoom(ada);
    await join(bob, room);
    const a = await SocketClient.connect(srv.wsUrl, ada);
    const b = await SocketClient.connect(srv.wsUrl, bob);
    await a.waitFor(isPresence(bob.user.id, "online"));
    await b.close();
    // The offline announcement is sent only after its last-seen time is written: no waiting for the write.
    const offline = await a.waitFor<PresenceUpdatedEvent>(isPresence(bob.user.id, "offline"));
    expect(offline.lastSeenAt).not.toBeNull();
    await a.close();

    srv = await srv.restart();
    // The cookie was issued on the old port: the new node's URL is the allowed Origin now.
    const a2 = await SocketClient.connect(srv.wsUrl, ada, { origin: srv.baseUrl });
    try {
      const ready = a2.frames[0]!;
      expect(ready.type).toBe("ready");
      expect(ready.type === "ready" && ready.presence?.[bob.user.id]).toEqual({ status: "offline", lastSeenAt: offline.lastSeenAt });
      const ack = await a2.command({ type: "presence.get", userIds: [bob.user.id] });
      expect(ack).toMatchObject({ type: "ack", presence: { [bob.user.id]: { status: "offline", lastSeenAt: offline.lastSeenAt } } });
    } finally {
      await a2.close();
    }
  });
});
