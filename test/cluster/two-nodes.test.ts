import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, signupBot, unique, type Caller } from "../support/client.js";
import { callerOn, eventually, installation, startNode, type Installation } from "../support/cluster.js";
import type { AckFrame, ErrorFrame, ServerFrame } from "@shared/protocol/frames.js";
import type { Message } from "@shared/protocol/entities.js";
import type { HistoryResponse } from "@shared/protocol/http.js";

/**
 * Two nodes on one PostgreSQL database and one Redis (issue 11): people on
 * different nodes talk, see each other's presence and typing, and a right
 * taken away on one node takes effect on the other's sockets.
 */
describe("two nodes on PostgreSQL and Redis", () => {
  let inst: Installation;
  let a: TestServer;
  let b: TestServer;
  let alice: Caller;
  let bob: Caller;
  let roomId: string;

  beforeAll(async () => {
    inst = await installation();
    [a, b] = [await startNode(inst, { metricsPort: 0 }), await startNode(inst, { metricsPort: 0 })];
    alice = await signup(a.baseUrl, "alice");
    bob = await signupBot(b.baseUrl, "bob");
    roomId = await createRoom(alice, "public");
    expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    await inst?.drop();
  });

  it("a message sent on one node reaches the sockets on the other, once, with its seq", async () => {
    const sa = await SocketClient.connect(a.wsUrl, alice);
    const sb = await SocketClient.connect(b.wsUrl, bob);
    const ack = (await sa.command({ type: "message.send", roomId, body: "across nodes", clientId: `x-${unique()}` })) as AckFrame & { message: Message };
    expect(ack.type).toBe("ack");
    const got = await sb.waitFor((f) => f.type === "message.created" && f.message.id === ack.message.id);
    expect(got).toMatchObject({ message: { seq: ack.message.seq, body: "across nodes" } });
    // And back: bob's reply on node B reaches alice on node A.
    const reply = (await sb.command({ type: "message.send", roomId, body: "and back", clientId: `y-${unique()}` })) as AckFrame & { message: Message };
    await sa.waitFor((f) => f.type === "message.created" && f.message.id === reply.message.id);
    await new Promise((r) => setTimeout(r, 200));
    expect(sb.messages(roomId).filter((f) => f.message.id === ack.message.id)).toHaveLength(1);
    // Node B measured how long node A's envelopes took through Redis.
    const metrics = await (await fetch(b.server.metricsUrl!)).text();
    expect(Number(/^parley_bus_lag_seconds_count (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    await sa.close();
    await sb.close();
  });

  it("presence and typing cross nodes; a socket that closes goes offline everywhere after the grace", async () => {
    // Her own user: another test's offline grace must not overlap this one.
    const alice = await signup(a.baseUrl, "alice2");
    expect((await alice.post(`/rooms/${roomId}/join`)).status).toBe(200);
    const sb = await SocketClient.connect(b.wsUrl, bob);
    const sa = await SocketClient.connect(a.wsUrl, alice);
    const isAlice = (status: string) => (f: ServerFrame) => f.type === "presence.updated" && f.userId === alice.user.id && f.status === status;
    await sb.waitFor(isAlice("online"));
    // A node that starts later learns the others' presence from them (hello).
    const c = await startNode(inst);
    try {
      const sc = await SocketClient.connect(c.wsUrl, callerOn(bob, c.baseUrl));
      const ready = await sc.waitFor((f) => f.type === "ready");
      await eventually("node C knows alice is online", async () => {
        const res = await sc.command({ type: "presence.get", userIds: [alice.user.id] });
        return res.type === "ack" && JSON.stringify(res).includes('"online"');
      });
      expect(ready.type).toBe("ready");
      await sc.close();
    } finally {
      await c.destroy();
    }
    sa.ws.send(JSON.stringify({ type: "typing", roomId, state: "start" }));
    await sb.waitFor((f) => f.type === "typing.updated" && f.userId === alice.user.id && f.state === "start");
    await sa.close();
    // Her socket closed: her typing stops at once, and she is offline after the grace, on node B too.
    await sb.waitFor((f) => f.type === "typing.updated" && f.userId === alice.user.id && f.state === "stop");
    const offline = await sb.waitFor<Extract<ServerFrame, { type: "presence.updated" }>>(isAlice("offline"));
    expect(offline.lastSeenAt).not.toBeNull();
    await sb.close();
  });

  it("a user on two nodes stays online while one socket remains", async () => {
    const alice = await signup(a.baseUrl, "alice3");
    expect((await alice.post(`/rooms/${roomId}/join`)).status).toBe(200);
    const watcher = await SocketClient.connect(b.wsUrl, bob);
    const onA = await SocketClient.connect(a.wsUrl, alice);
    const onB = await SocketClient.connect(b.wsUrl, callerOn(alice, b.baseUrl));
    await watcher.waitFor((f) => f.type === "presence.updated" && f.userId === alice.user.id && f.status === "online");
    await onA.close();
    const flaps = await watcher.collect((f) => f.type === "presence.updated" && f.userId === alice.user.id && f.status === "offline", 1_000);
    expect(flaps).toEqual([]);
    await onB.close();
    await watcher.waitFor((f) => f.type === "presence.updated" && f.userId === alice.user.id && f.status === "offline" && watcher.frames.indexOf(f) > 0);
    await watcher.close();
  });

  it("logging out on one node closes that session's sockets on the other (4401)", async () => {
    const carol = await signup(a.baseUrl, "carol");
    const onB = await SocketClient.connect(b.wsUrl, callerOn(carol, b.baseUrl));
    expect((await carol.post("/auth/logout")).status).toBe(204);
    expect((await onB.whenClosed()).code).toBe(4401);
  });

  it("two nodes writing to the same rooms at once: one gap-free seq per room, each message once, retries answered with the first copy", async () => {
    const rooms = [roomId, await createRoom(alice, "public"), await createRoom(alice, "public")];
    for (const r of rooms.slice(1)) expect((await bob.post(`/rooms/${r}/join`)).status).toBe(200);
    const sa = await SocketClient.connect(a.wsUrl, alice);
    const sb = await SocketClient.connect(b.wsUrl, bob);
    const perSocket = 60;
    const sends: Promise<AckFrame | ErrorFrame>[] = [];
    const clientIds: string[] = [];
    for (let i = 0; i < perSocket; i++) {
      for (const [s, who] of [[sa, "a"], [sb, "b"]] as const) {
        const clientId = `${who}-${i}-${unique()}`;
        clientIds.push(clientId);
        sends.push(s.command({ type: "message.send", roomId: rooms[i % rooms.length], body: `${who} ${i}`, clientId }));
      }
    }
    // The same sends retried by the same user on the other node, at the same moment: each must be stored once.
    const aliceOnB = await SocketClient.connect(b.wsUrl, callerOn(alice, b.baseUrl));
    const bobOnA = await SocketClient.connect(a.wsUrl, callerOn(bob, a.baseUrl));
    const retries = clientIds.filter((_, i) => i % 5 === 0).map((clientId, i) => {
      const [who, n] = clientId.split("-") as [string, string];
      const body = `${who} ${n}`;
      const room = rooms[Number(n) % rooms.length]!;
      const socket = who === "a" ? aliceOnB : bobOnA;
      const http = who === "a" ? callerOn(alice, b.baseUrl) : callerOn(bob, a.baseUrl);
      return i % 2 === 0
        ? socket.command({ type: "message.send", roomId: room, body, clientId }).then((f) => ({ clientId, id: (f as AckFrame & { message: Message }).message.id }))
        : http.post<{ message: Message }>(`/rooms/${room}/messages`, { body, clientId }).then((res) => ({ clientId, id: res.body.message.id }));
    });
    const acks = await Promise.all(sends);
    const retried = await Promise.all(retries);
    expect(acks.filter((f) => f.type !== "ack")).toEqual([]);
    const idByClient = new Map(acks.map((f) => [(f as AckFrame & { message: Message }).message.clientId, (f as AckFrame & { message: Message }).message.id]));
    for (const r of retried) expect(r.id).toBe(idByClient.get(r.clientId));
    for (const r of rooms) {
      const history = await alice.get<HistoryResponse>(`/rooms/${r}/messages?limit=100`);
      const seqs = history.body.messages.map((m) => m.seq);
      const ids = history.body.messages.map((m) => m.clientId);
      expect(new Set(ids).size).toBe(ids.length);
      const room = await alice.get<{ room: { lastSeq: number } }>(`/rooms/${r}`);
      expect(room.body.room.lastSeq).toBeGreaterThanOrEqual(seqs.at(-1)!);
    }
    // Every socket got every message of every room exactly once, in seq order.
    for (const s of [sa, sb]) {
      await eventually("all messages delivered", () => s.messages().length >= perSocket * 2);
      for (const r of rooms) {
        const seqs = s.messages(r).map((f) => f.message.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        expect(new Set(seqs).size).toBe(seqs.length);
      }
    }
    // The event log holds every seq from 1 to the head once: a fresh socket resuming from 0 gets exactly that.
    const fresh = await SocketClient.connect(b.wsUrl, bob);
    for (const r of rooms) {
      const before = fresh.frames.length;
      expect((await fresh.command({ type: "resume", rooms: { [r]: 0 } })).type).toBe("ack");
      const seqs = fresh.frames.slice(before).flatMap((f) => ("seq" in f && typeof f.seq === "number" && "roomId" in f && f.roomId === r ? [f.seq] : "message" in f && f.type === "message.created" && f.message.roomId === r ? [f.message.seq] : []));
      const head = (await alice.get<{ room: { lastSeq: number } }>(`/rooms/${r}`)).body.room.lastSeq;
      expect(seqs).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    }
    for (const s of [sa, sb, aliceOnB, bobOnA, fresh]) await s.close();
  });
});

describe("limits across nodes", () => {
  let inst: Installation;
  const nodes: TestServer[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.destroy();
    await inst?.drop();
  });

  it("count in Redis: a user's budget is one, whichever node each request reaches", async () => {
    inst = await installation();
    const [a, b] = [await startNode(inst, { roomsCreatedPerHour: 3 }), await startNode(inst, { roomsCreatedPerHour: 3 })];
    nodes.push(a, b);
    const alice = await signupBot(a.baseUrl, "alice");
    const onB = callerOn(alice, b.baseUrl);
    const statuses: number[] = [];
    for (const caller of [alice, onB, alice, onB]) statuses.push((await caller.post("/rooms", { name: `r ${unique()}`, kind: "public" })).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    // Another user's budget is their own.
    const bob = await signupBot(b.baseUrl, "bob");
    expect((await bob.post("/rooms", { name: `r ${unique()}`, kind: "public" })).status).toBe(201);
  });

  it("the socket cap per user counts the sockets on every node", async () => {
    const [a, b] = [await startNode(inst, { wsSocketsPerUser: 2 }), await startNode(inst, { wsSocketsPerUser: 2 })];
    nodes.push(a, b);
    const carol = await signupBot(a.baseUrl, "carol");
    const first = await SocketClient.connect(a.wsUrl, carol);
    const second = await SocketClient.connect(b.wsUrl, callerOn(carol, b.baseUrl));
    // Node A holds one of hers, node B the other: a third on either is one too many.
    await eventually("node A refuses a third socket", async () => {
      const third = await SocketClient.connect(a.wsUrl, carol).catch((err: Error) => err);
      if (third instanceof SocketClient) await third.close();
      return third instanceof Error && third.message.includes("429");
    });
    await second.close();
    await eventually("a socket closed on B frees a place on A", async () => {
      const again = await SocketClient.connect(a.wsUrl, carol).catch((err: Error) => err);
      if (again instanceof SocketClient) {
        await again.close();
        return true;
      }
      return false;
    });
    await first.close();
  });
});
