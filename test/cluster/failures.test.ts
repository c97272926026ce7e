import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SocketClient, createRoom, signupBot, unique, type Caller } from "../support/client.js";
import { callerOn, clusterSettings, eventually, installation, privatePostgres, privateRedis, spawnNode, startNode, type ChildNode, type Installation } from "../support/cluster.js";
import type { TestServer } from "../support/server.js";
import type { AckFrame, ErrorFrame } from "@shared/protocol/frames.js";
import type { Message } from "@shared/protocol/entities.js";
import type { HistoryResponse } from "@shared/protocol/http.js";

/**
 * Failures of a many-node installation (issue 11): a node killed without a
 * word, Redis restarted, PostgreSQL restarted, each under traffic. What must
 * hold: every acknowledged message reaches every member exactly once and in
 * seq order (live or by `resume`), nothing unacknowledged is claimed, and
 * the service recovers by itself.
 */

/**
 * A member as a well-behaved client: one socket at a time, the highest seq
 * it holds per room, `resume` after a reconnect, and every message it got
 * on any of its sockets, in arrival order.
 */
class Member {
  socket!: SocketClient;
  readonly got: Message[] = [];
  private lastSeq = 0;
  private seen = 0;

  constructor(
    readonly caller: Caller,
    readonly roomId: string,
  ) {}

  async connect(wsUrl: string, baseUrl: string): Promise<void> {
    this.socket = await SocketClient.connect(wsUrl, callerOn(this.caller, baseUrl));
    this.seen = 0;
    const s = this.socket;
    s.ws.on("message", () => this.take(s));
    const ack = await s.command({ type: "resume", rooms: { [this.roomId]: this.lastSeq } });
    if (ack.type !== "ack") throw new Error(`resume failed: ${JSON.stringify(ack)}`);
    this.take(s);
  }

  /** Moves the socket's new message.created frames into `got`. */
  private take(s: SocketClient): void {
    if (s !== this.socket) return;
    const frames = s.frames;
    for (; this.seen < frames.length; this.seen++) {
      const f = frames[this.seen]!;
      if (f.type === "message.created" && f.message.roomId === this.roomId) {
        this.got.push(f.message);
        this.lastSeq = Math.max(this.lastSeq, f.message.seq);
      } else if ("roomId" in f && f.roomId === this.roomId && "seq" in f && typeof f.seq === "number") {
        this.lastSeq = Math.max(this.lastSeq, f.seq);
      }
    }
  }

  /** Sends until acked or `unavailable`-refused; returns the stored message, or null when refused. */
  async send(body: string, clientId = `m-${unique()}`): Promise<{ clientId: string; message: Message | null; frame: AckFrame | ErrorFrame }> {
    const frame = await this.socket.command({ type: "message.send", roomId: this.roomId, body, clientId });
    return { clientId, message: frame.type === "ack" ? (frame as AckFrame & { message: Message }).message : null, frame };
  }
}

/**
 * Every id of `acked` is in `got` exactly once, no seq came twice, and what
 * the member holds, kept by seq as a client keeps it, has no gap. (Across a
 * reconnect, live events that reach the new socket before its `resume` is
 * answered come before the older ones the resume sends: a client files
 * each by its seq.)
 */
function expectExactlyOnceInOrder(member: Member, acked: Message[]): void {
  const seqs = member.got.map((m) => m.seq);
  expect(seqs.length).toBe(new Set(seqs).size);
  const held = [...seqs].sort((a, b) => a - b);
  expect(held).toEqual(held.map((_, i) => held[0]! + i));
  const ids = new Map<string, number>();
  for (const m of member.got) ids.set(m.id, (ids.get(m.id) ?? 0) + 1);
  const missing = acked.filter((m) => ids.get(m.id) !== 1);
  expect(missing.map((m) => `${m.seq}:${ids.get(m.id) ?? 0}`)).toEqual([]);
}

/** Two in-process nodes; alice (sender) on A and bob (receiver) on B, members of one public room. */
async function senderAndReceiver(inst: Installation, servers: TestServer[]) {
  const [a, b] = [await startNode(inst), await startNode(inst)];
  servers.push(a, b);
  const [alice, bob] = [await signupBot(a.baseUrl, "alice"), await signupBot(a.baseUrl, "bob")];
  const roomId = await createRoom(alice, "public");
  expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
  const sender = new Member(alice, roomId);
  const receiver = new Member(bob, roomId);
  await sender.connect(a.wsUrl, a.baseUrl);
  await receiver.connect(b.wsUrl, b.baseUrl);
  return { a, b, alice, bob, roomId, sender, receiver };
}

describe("a node killed with SIGKILL under steady traffic", () => {
  let inst: Installation;
  const nodes: ChildNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.kill("SIGKILL");
    await inst?.drop();
  });

  it("its clients reconnect to the other node; after resume each holds every acknowledged message exactly once, in order; its presence and typing end", async () => {
    inst = await installation();
    const [n1, n2] = [await spawnNode(inst), await spawnNode(inst)];
    nodes.push(n1, n2);
    const [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map((n) => signupBot(n2.baseUrl, n)));
    const roomId = await createRoom(alice!, "public");
    for (const u of [bob, carol, dave]) expect((await u!.post(`/rooms/${roomId}/join`)).status).toBe(200);
    const members = { alice: new Member(alice!, roomId), bob: new Member(bob!, roomId), carol: new Member(carol!, roomId) };
    await members.alice.connect(n1.wsUrl, n1.baseUrl);
    await members.carol.connect(n1.wsUrl, n1.baseUrl);
    await members.bob.connect(n2.wsUrl, n2.baseUrl);
    // Dave stays on the node that dies and never comes back: he must not stay online on node 2.
    const daveSocket = await SocketClient.connect(n1.wsUrl, callerOn(dave!, n1.baseUrl));
    await members.bob.socket.waitFor((f) => f.type === "presence.updated" && f.userId === dave!.user.id && f.status === "online");
    members.alice.socket.ws.send(JSON.stringify({ type: "typing", roomId, state: "start" }));
    await members.bob.socket.waitFor((f) => f.type === "typing.updated" && f.userId === alice!.user.id && f.state === "start");

    const acked: Message[] = [];
    const pending = new Map<string, string>(); // clientId → body, sent by alice and not answered
    let killed = false;
    let stop = false;
    const aliceLoop = (async () => {
      for (let i = 0; !stop; i++) {
        const body = `alice ${i}`;
        const clientId = `a-${i}-${unique()}`;
        pending.set(clientId, body);
        const sent = await members.alice.send(body, clientId).catch(() => null);
        if (sent?.message) {
          acked.push(sent.message);
          pending.delete(clientId);
        }
        if (!sent && killed) return; // her socket died with node 1; she resends below after reconnecting
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const bobLoop = (async () => {
      for (let i = 0; !stop; i++) {
        const sent = await members.bob.send(`bob ${i}`);
        if (sent.message) acked.push(sent.message);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // Killed in the middle of traffic: once both have had sends acknowledged, however fast the machine is.
    await eventually("traffic flows through both nodes", () => acked.length >= 20 && acked.some((m) => m.body.startsWith("alice")), 20_000);
    killed = true;
    await n1.kill("SIGKILL");
    // Alice's and carol's sockets were cut (no close frame: 1006); they reconnect to node 2 and resume.
    expect((await members.alice.socket.whenClosed()).code).toBe(1006);
    await members.alice.connect(n2.wsUrl, n2.baseUrl);
    await members.carol.connect(n2.wsUrl, n2.baseUrl);
    // What alice sent and never heard about: retried with the same clientId, stored once whatever happened.
    for (const [clientId, body] of pending) {
      const sent = await members.alice.send(body, clientId);
      expect(sent.frame.type).toBe("ack");
      if (sent.message && !acked.some((m) => m.id === sent.message!.id)) acked.push(sent.message);
    }
    const aliceAfter = (async () => {
      for (let i = 0; i < 20; i++) {
        const sent = await members.alice.send(`alice after ${i}`);
        if (sent.message) acked.push(sent.message);
      }
    })();
    await aliceAfter;
    stop = true;
    await Promise.all([aliceLoop, bobLoop]);
    expect(acked.length).toBeGreaterThanOrEqual(40); // 20 before the kill, 20 of alice's after it

    // Node 1's typist and its user who never came back are let go within the node timeout (+ the offline grace).
    await members.bob.socket.waitFor((f) => f.type === "typing.updated" && f.userId === alice!.user.id && f.state === "stop", clusterSettings.nodeTimeoutMs * 3);
    await members.bob.socket.waitFor((f) => f.type === "presence.updated" && f.userId === dave!.user.id && f.status === "offline", clusterSettings.nodeTimeoutMs * 3 + clusterSettings.presenceOfflineGraceMs);

    const history = await bob!.get<HistoryResponse>(`/rooms/${roomId}/messages?limit=100`);
    const head = history.body.messages.at(-1)!.seq;
    for (const m of Object.values(members)) {
      await eventually("every message delivered", () => (m.got.at(-1)?.seq ?? 0) >= head);
      expectExactlyOnceInOrder(m, acked);
    }
    daveSocket.ws.terminate();
  });
});

describe("Redis restarted under traffic", () => {
  let inst: Installation;
  let redis: Awaited<ReturnType<typeof privateRedis>>;
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.destroy();
    await redis?.stop();
    await inst?.drop();
  });

  it("nodes reconnect by themselves, live fan-out resumes, what was published meanwhile arrives, and /readyz says so", async () => {
    redis = await privateRedis();
    inst = await installation({ redisUrl: redis.url });
    const { a, b, sender, receiver } = await senderAndReceiver(inst, servers);
    const acked: Message[] = [];
    const send = async (body: string) => {
      const sent = await sender.send(body);
      expect(sent.frame.type).toBe("ack");
      acked.push(sent.message!);
    };
    await send("before");
    await receiver.socket.waitFor((f) => f.type === "message.created" && f.message.body === "before");

    await redis.stop();
    await eventually("node A is not ready without Redis", async () => (await fetch(`${a.baseUrl}/readyz`)).status === 503);
    // Sends still work on one node (the database is fine); their fan-out to node B is lost for now.
    for (let i = 0; i < 5; i++) await send(`during ${i}`);
    await redis.start();
    await eventually("both nodes ready again", async () => (await fetch(`${a.baseUrl}/readyz`)).status === 200 && (await fetch(`${b.baseUrl}/readyz`)).status === 200);
    // Without the client doing anything, node B caught its socket up on what it missed.
    await receiver.socket.waitFor((f) => f.type === "message.created" && f.message.body === "during 4", 10_000);
    // And live fan-out between the nodes works again.
    await eventually("live fan-out resumed", async () => {
      await send(`after ${unique()}`);
      await new Promise((r) => setTimeout(r, 200));
      return receiver.got.at(-1)?.id === acked.at(-1)!.id;
    });
    // A reconnect and resume on top adds nothing twice.
    await receiver.socket.close();
    await receiver.connect(b.wsUrl, b.baseUrl);
    expectExactlyOnceInOrder(receiver, acked);
  });
});

describe("a leave through one node while Redis is down", () => {
  const redises: Awaited<ReturnType<typeof privateRedis>>[] = [];
  const insts: Installation[] = [];
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.destroy();
    for (const r of redises) await r.stop();
    for (const i of insts) await i.drop();
  });
  /** Two in-process nodes on a private Redis of their own. */
  const twoNodes = async () => {
    const redis = await privateRedis();
    redises.push(redis);
    const inst = await installation({ redisUrl: redis.url });
    insts.push(inst);
    const [a, b] = [await startNode(inst), await startNode(inst)];
    servers.push(a, b);
    return { redis, a, b };
  };

  it("the leaver's socket on the other node gets nothing of the room after their member.left, and their typing there is refused as a send is", async () => {
    const { redis, a, b } = await twoNodes();
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map((n) => signupBot(a.baseUrl, n)));
    const roomId = await createRoom(alice!, "private");
    for (const u of [bob!, carol!]) expect((await alice!.post(`/rooms/${roomId}/members`, { userId: u.user.id })).status).toBe(201);
    // All three sockets on node B; bob leaves through node A.
    const [aliceSocket, bobSocket, carolSocket] = await Promise.all([alice!, bob!, carol!].map((u) => SocketClient.connect(b.wsUrl, callerOn(u, b.baseUrl))));
    const inRoom = (f: { type: string }) => "roomId" in f && f.roomId === roomId;
    const send = async (body: string) => {
      const ack = await aliceSocket!.command({ type: "message.send", roomId, body, clientId: `c-${unique()}` });
      expect(ack.type).toBe("ack");
      return (ack as AckFrame & { message: Message }).message;
    };
    const first = await send("before");
    await bobSocket!.waitFor((f) => f.type === "message.created" && f.message.id === first.id);

    await redis.stop();
    await eventually("both nodes have lost Redis", async () => (await fetch(`${a.baseUrl}/readyz`)).status === 503 && (await fetch(`${b.baseUrl}/readyz`)).status === 503);
    const atLeave = bobSocket!.frames.length;
    expect((await bob!.post(`/rooms/${roomId}/leave`)).status).toBe(204);
    /** Bob's frames of the room since he left through node A: his own member.left must be the only one. */
    const bobSinceLeave = () => bobSocket!.frames.slice(atLeave).filter(inRoom).map((f) => (f.type === "member.left" ? `member.left ${f.userId === bob!.user.id ? "bob" : f.userId}` : f.type));

    // Node B cannot hear the leave. Its own room traffic after it: typing and a read receipt (no seq)…
    expect((await aliceSocket!.command({ type: "typing", roomId, state: "start" })).type).toBe("ack");
    await carolSocket!.waitFor((f) => f.type === "typing.updated" && f.roomId === roomId && f.userId === alice!.user.id);
    expect((await carolSocket!.command({ type: "room.read", roomId, seq: first.seq })).type).toBe("ack");
    await aliceSocket!.waitFor((f) => f.type === "receipts.updated" && f.roomId === roomId && f.reads[carol!.user.id] === first.seq);
    // … and bob's own typing into the room, refused with the code his send gets.
    const refusedSend = await bobSocket!.command({ type: "message.send", roomId, body: "still here?", clientId: `c-${unique()}` });
    expect(refusedSend).toMatchObject({ type: "error", code: "not_found" });
    expect(await bobSocket!.command({ type: "typing", roomId, state: "start" })).toMatchObject({ type: "error", code: (refusedSend as ErrorFrame).code });

    // A message and an edit (seqs past bob's member.left): his socket fills the gap from the log, and stops at his own leave.
    const after = await send("after the leave");
    await carolSocket!.waitFor((f) => f.type === "message.created" && f.message.id === after.id);
    await bobSocket!.waitFor((f) => f.type === "member.left" && f.userId === bob!.user.id && f.roomId === roomId);
    expect((await aliceSocket!.command({ type: "message.edit", roomId, messageId: after.id, body: "edited after the leave" })).type).toBe("ack");
    await carolSocket!.waitFor((f) => f.type === "message.edited" && f.message.id === after.id);
    // Barrier: whatever node B queued for bob before this answer (it queued carol's frames in the same turns) came before it.
    expect((await bobSocket!.command({ type: "ping" })).type).toBe("ack");
    expect(bobSinceLeave()).toEqual(["member.left bob"]);

    // Redis is back: the resync finds bob's socket already agrees with the database (it stays open), and still nothing of the room reaches it.
    await redis.start();
    await eventually("both nodes ready again", async () => (await fetch(`${a.baseUrl}/readyz`)).status === 200 && (await fetch(`${b.baseUrl}/readyz`)).status === 200);
    const last = await send("after Redis is back");
    await carolSocket!.waitFor((f) => f.type === "message.created" && f.message.id === last.id);
    expect((await aliceSocket!.command({ type: "typing", roomId, state: "stop" })).type).toBe("ack");
    await carolSocket!.waitFor((f) => f.type === "typing.updated" && f.userId === alice!.user.id && f.state === "stop");
    expect((await bobSocket!.command({ type: "ping" })).type).toBe("ack");
    expect(bobSocket!.closeInfo).toBeNull();
    expect(bobSinceLeave()).toEqual(["member.left bob"]);
    // His refused typing reached nobody.
    expect(carolSocket!.frames.filter((f) => f.type === "typing.updated" && f.userId === bob!.user.id)).toEqual([]);
    for (const s of [aliceSocket!, bobSocket!, carolSocket!]) await s.close();
  });

  it("a member who left and rejoined through the other node meanwhile: their socket stops at the member.left, then is closed (1012) to resume", async () => {
    const { redis, a, b } = await twoNodes();
    const [alice, bob] = await Promise.all(["alice", "bob"].map((n) => signupBot(a.baseUrl, n)));
    const roomId = await createRoom(alice!, "public");
    expect((await bob!.post(`/rooms/${roomId}/join`)).status).toBe(200);
    const bobSocket = await SocketClient.connect(b.wsUrl, callerOn(bob!, b.baseUrl));
    await redis.stop();
    await eventually("both nodes have lost Redis", async () => (await fetch(`${a.baseUrl}/readyz`)).status === 503 && (await fetch(`${b.baseUrl}/readyz`)).status === 503);
    expect((await bob!.post(`/rooms/${roomId}/leave`)).status).toBe(204);
    expect((await bob!.post(`/rooms/${roomId}/join`)).status).toBe(200);
    await redis.start();
    // The resync finds the same rooms, catches the socket up, meets bob's member.left: the stream ends there,
    // and since he is a member again the socket is closed so that his client resumes (nothing silently lost).
    await bobSocket.waitFor((f) => f.type === "member.left" && f.userId === bob!.user.id, 15_000);
    expect((await bobSocket.whenClosed()).code).toBe(1012);
  });
});

describe("PostgreSQL restarted under traffic", () => {
  let pg: Awaited<ReturnType<typeof privatePostgres>> | null = null;
  let inst: Installation;
  const servers: TestServer[] = [];
  afterEach(async () => {
    for (const s of servers) await s.destroy().catch(() => undefined);
    await inst?.drop().catch(() => undefined);
    pg?.destroy();
  });

  it("sends in the window fail with a retryable unavailable, none is acknowledged unstored, and the nodes recover without a restart", async () => {
    pg = await privatePostgres();
    inst = await installation({ postgresUrl: pg.url });
    const { a, alice, bob, roomId, sender, receiver } = await senderAndReceiver(inst, servers);
    const acked: Message[] = [];
    const refused: { clientId: string; body: string }[] = [];
    const attempt = async (body: string) => {
      const sent = await sender.send(body);
      if (sent.message) acked.push(sent.message);
      else {
        expect(sent.frame).toMatchObject({ type: "error", code: "unavailable" });
        expect((sent.frame as ErrorFrame).retryAfter).toBeGreaterThan(0);
        refused.push({ clientId: sent.clientId, body });
      }
    };
    await attempt("before");

    pg.stop();
    for (let i = 0; i < 5; i++) await attempt(`during ${i}`);
    expect(refused.length).toBe(5);
    const http = await alice.post<{ error: { code: string } }>(`/rooms/${roomId}/messages`, { body: "over http", clientId: `h-${unique()}` });
    expect(http.status).toBe(503);
    expect(http.body.error.code).toBe("unavailable");
    expect(http.headers.get("retry-after")).toBe("1");
    expect((await fetch(`${a.baseUrl}/readyz`)).status).toBe(503);
    // The sockets stay open through the outage.
    expect(sender.socket.closeInfo).toBeNull();

    pg.start();
    await eventually("node A ready again", async () => (await fetch(`${a.baseUrl}/readyz`)).status === 200, 15_000);
    // Recovered without a restart: the refused sends, retried with their clientIds, are stored once each.
    for (const r of refused) {
      await eventually("a retried send is stored", async () => {
        const sent = await sender.send(r.body, r.clientId);
        if (sent.message) acked.push(sent.message);
        return sent.message !== null;
      });
    }
    const history = await bob.get<HistoryResponse>(`/rooms/${roomId}/messages?limit=100`);
    expect(history.status).toBe(200);
    const bodies = history.body.messages.map((m) => m.body);
    expect(bodies).toEqual(["before", "during 0", "during 1", "during 2", "during 3", "during 4"]);
    await eventually("node B delivered everything", () => receiver.got.length >= acked.length);
    expectExactlyOnceInOrder(receiver, acked);
  });
});
