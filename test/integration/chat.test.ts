import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, signupBot, unique, type Caller } from "../support/client.js";
import type { AckFrame, ErrorFrame } from "@shared/protocol/frames.js";
import type { HistoryResponse } from "@shared/protocol/http.js";
import type { Message } from "@shared/protocol/entities.js";

/** Live chat over a real server: delivery, membership, idempotency, history. */
describe("live messages", () => {
  let t: TestServer;
  let alice: Caller;
  let bob: Caller;
  let roomId: string;

  beforeAll(async () => {
    t = await startTestServer();
    alice = await signup(t.baseUrl, "alice");
    bob = await signupBot(t.baseUrl, "bob");
    roomId = await createRoom(alice, "public");
    expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
  });
  afterAll(() => t.destroy());

  it("two users in a room exchange messages both ways, the sender's other tab included", async () => {
    const a1 = await SocketClient.connect(t.wsUrl, alice);
    const a2 = await SocketClient.connect(t.wsUrl, alice);
    const b = await SocketClient.connect(t.wsUrl, bob);

    const ack = (await a1.command({ type: "message.send", roomId, body: "  hello bob  ", clientId: "a-1" })) as AckFrame;
    expect(ack.type).toBe("ack");
    expect(ack.message?.body).toBe("hello bob");
    expect(ack.message?.seq).toBeGreaterThan(0);
    for (const c of [a1, a2, b]) {
      const ev = await c.waitFor((f) => f.type === "message.created" && f.message.clientId === "a-1");
      expect(ev).toMatchObject({ roomId, seq: ack.message!.seq, message: { id: ack.message!.id, author: { id: alice.user.id } } });
    }

    const back = (await b.command({ type: "message.send", roomId, body: "hi alice", clientId: "b-1" })) as AckFrame;
    expect(back.message?.seq).toBe(ack.message!.seq + 1);
    const got = await a1.waitFor((f) => f.type === "message.created" && f.message.clientId === "b-1");
    expect(got).toMatchObject({ message: { body: "hi alice", author: { id: bob.user.id } } });
    await Promise.all([a1.close(), a2.close(), b.close()]);
  });

  it("a message sent over HTTP is delivered live and acknowledged with id and seq", async () => {
    const b = await SocketClient.connect(t.wsUrl, bob);
    const res = await alice.post<{ message: Message }>(`/rooms/${roomId}/messages`, { body: "via http", clientId: `h-${unique()}` });
    expect(res.status).toBe(201);
    const ev = await b.waitFor((f) => f.type === "message.created" && f.message.id === res.body.message.id);
    expect(ev).toMatchObject({ seq: res.body.message.seq });
    await b.close();
  });

  it("a send retried with the same clientId is stored once and acked with the same message", async () => {
    const a = await SocketClient.connect(t.wsUrl, alice);
    const clientId = `dup-${unique()}`;
    const first = (await a.command({ type: "message.send", roomId, body: "once", clientId })) as AckFrame;
    const second = (await a.command({ type: "message.send", roomId, body: "once", clientId })) as AckFrame;
    const viaHttp = await alice.post<{ message: Message }>(`/rooms/${roomId}/messages`, { body: "once", clientId });
    expect(second.message).toEqual(first.message);
    expect(viaHttp.body.message).toEqual(first.message);
    // Concurrent retries in one batch are also stored once.
    const c2 = `dup2-${unique()}`;
    const acks = (await Promise.all([1, 2, 3].map(() => a.command({ type: "message.send", roomId, body: "burst", clientId: c2 })))) as AckFrame[];
    expect(new Set(acks.map((x) => x.message!.id)).size).toBe(1);

    const history = await alice.get<HistoryResponse>(`/rooms/${roomId}/messages?limit=100`);
    expect(history.body.messages.filter((m) => m.clientId === clientId)).toHaveLength(1);
    expect(history.body.messages.filter((m) => m.clientId === c2)).toHaveLength(1);
    const events = await a.collect((f) => f.type === "message.created" && f.message.clientId === clientId, 100);
    expect(a.messages(roomId).filter((f) => f.message.clientId === clientId)).toHaveLength(1);
    expect(events.length).toBeLessThanOrEqual(1);
    await a.close();
  });

  it("seqs are per room, start at 1 and have no gaps", async () => {
    const room2 = await createRoom(alice, "public");
    const a = await SocketClient.connect(t.wsUrl, alice);
    const acks = (await Promise.all(
      Array.from({ length: 20 }, (_, i) => a.command({ type: "message.send", roomId: room2, body: `n${i}`, clientId: `s${i}` })),
    )) as AckFrame[];
    const seqs = acks.map((x) => x.message!.seq).sort((x, y) => x - y);
    // seq 1 is the owner's member.joined; messages follow without gaps.
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const live = a.messages(room2).map((f) => f.seq);
    await a.waitFor((f) => f.type === "message.created" && f.seq === 21);
    expect(a.messages(room2).map((f) => f.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(live.every((s, i) => i === 0 || s > live[i - 1]!)).toBe(true);
    await a.close();
  });

  it("a non-member cannot read, send to, or see a private room", async () => {
    const secret = await createRoom(alice, "private", "secret");
    await alice.post(`/rooms/${secret}/messages`, { body: "classified" });
    const eve = await signup(t.baseUrl, "eve");
    expect((await eve.get(`/rooms/${secret}`)).status).toBe(404);
    expect((await eve.get(`/rooms/${secret}/messages`)).status).toBe(404);
    expect((await eve.post(`/rooms/${secret}/messages`, { body: "let me in" })).status).toBe(404);
    expect((await eve.post(`/rooms/${secret}/join`)).status).toBe(404);
    const publicList = await eve.get<{ rooms: { id: string }[] }>("/rooms/public");
    expect(publicList.body.rooms.map((r) => r.id)).not.toContain(secret);

    const e = await SocketClient.connect(t.wsUrl, eve);
    const err = (await e.command({ type: "message.send", roomId: secret, body: "x", clientId: "e1" })) as ErrorFrame;
    expect(err).toMatchObject({ type: "error", code: "not_found" });
    // Nor does it receive the room's events.
    await alice.post(`/rooms/${secret}/messages`, { body: "still secret" });
    expect(await e.collect((f) => f.type === "message.created", 150)).toHaveLength(0);
    const resume = (await e.command({ type: "resume", rooms: { [secret]: 0 } })) as AckFrame;
    expect(resume.gone).toEqual([secret]);
    expect(e.messages(secret)).toHaveLength(0);

    const history = await alice.get<HistoryResponse>(`/rooms/${secret}/messages`);
    expect(history.body.messages.map((m) => m.body)).toEqual(["classified", "still secret"]);
    await e.close();
  });

  it("a non-member of a public room is refused reading and sending until they join", async () => {
    const carol = await signup(t.baseUrl, "carol");
    expect((await carol.get(`/rooms/${roomId}`)).status).toBe(200);
    const read = await carol.get<{ error: { code: string } }>(`/rooms/${roomId}/messages`);
    expect(read.status).toBe(403);
    expect(read.body.error.code).toBe("forbidden");
    const c = await SocketClient.connect(t.wsUrl, carol);
    expect(await c.command({ type: "message.send", roomId, body: "x", clientId: "c0" })).toMatchObject({ code: "forbidden" });

    // Joining takes effect on the open socket at once.
    expect((await carol.post(`/rooms/${roomId}/join`)).status).toBe(200);
    await c.waitFor((f) => f.type === "member.joined" && f.roomId === roomId && f.member.user.id === carol.user.id);
    const sent = await alice.post<{ message: Message }>(`/rooms/${roomId}/messages`, { body: "welcome carol" });
    await c.waitFor((f) => f.type === "message.created" && f.message.id === sent.body.message.id);

    // Leaving stops delivery at once.
    expect((await carol.post(`/rooms/${roomId}/leave`)).status).toBe(204);
    await c.waitFor((f) => f.type === "member.left" && f.userId === carol.user.id);
    await alice.post(`/rooms/${roomId}/messages`, { body: "carol is gone" });
    expect(await c.collect((f) => f.type === "message.created", 150)).toHaveLength(0);
    await c.close();
  });

  it("an owner adds a member to a private room, who then receives its messages live", async () => {
    const priv = await createRoom(alice, "private");
    const dave = await signup(t.baseUrl, "dave");
    const d = await SocketClient.connect(t.wsUrl, dave);
    const outsider = await signup(t.baseUrl, "mallory");
    expect((await outsider.post(`/rooms/${priv}/members`, { userId: outsider.user.id })).status).toBe(404);
    const added = await alice.post(`/rooms/${priv}/members`, { userId: dave.user.id });
    expect(added.status).toBe(201);
    expect((await alice.post(`/rooms/${priv}/members`, { userId: dave.user.id })).status).toBe(200);
    // A plain member may not add others.
    expect((await dave.post(`/rooms/${priv}/members`, { userId: outsider.user.id })).status).toBe(403);
    expect((await alice.post(`/rooms/${priv}/members`, { userId: "no-such-user" })).status).toBe(404);
    await d.waitFor((f) => f.type === "member.joined" && f.roomId === priv);
    const msg = await alice.post<{ message: Message }>(`/rooms/${priv}/messages`, { body: "for dave" });
    await d.waitFor((f) => f.type === "message.created" && f.message.id === msg.body.message.id);
    const mine = await dave.get<{ rooms: { id: string }[] }>("/rooms");
    expect(mine.body.rooms.map((r) => r.id)).toContain(priv);
    await d.close();
  });

  it("history pages by seq cursors, ascending, with hasMore", async () => {
    const room = await createRoom(alice, "public");
    for (let i = 1; i <= 7; i++) await alice.post(`/rooms/${room}/messages`, { body: `m${i}` });
    const newest = await alice.get<HistoryResponse>(`/rooms/${room}/messages?limit=3`);
    expect(newest.body.messages.map((m) => m.body)).toEqual(["m5", "m6", "m7"]);
    expect(newest.body.hasMore).toBe(true);
    const older = await alice.get<HistoryResponse>(`/rooms/${room}/messages?limit=3&before=${newest.body.messages[0]!.seq}`);
    expect(older.body.messages.map((m) => m.body)).toEqual(["m2", "m3", "m4"]);
    expect(older.body.hasMore).toBe(true);
    const oldest = await alice.get<HistoryResponse>(`/rooms/${room}/messages?limit=3&before=${older.body.messages[0]!.seq}`);
    expect(oldest.body.messages.map((m) => m.body)).toEqual(["m1"]);
    expect(oldest.body.hasMore).toBe(false);
    const after = await alice.get<HistoryResponse>(`/rooms/${room}/messages?limit=2&after=${oldest.body.messages[0]!.seq}`);
    expect(after.body.messages.map((m) => m.body)).toEqual(["m2", "m3"]);
    expect(after.body.hasMore).toBe(true);
    expect((await alice.get(`/rooms/${room}/messages?limit=101`)).status).toBe(400);
    expect((await alice.get(`/rooms/${room}/messages?before=x`)).status).toBe(400);
  });
});
