import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import os from "node:os";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import pino from "pino";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, signupBot, type Caller } from "../support/client.js";
import { loadConfig } from "@server/config.js";
import { createServer, type ParleyServer } from "@server/app.js";
import type { Actor } from "@server/deps.js";
import type { HistoryResponse } from "@shared/protocol/http.js";

/**
 * Attacks on the WebSocket layer (issue 8, items 1, 2, 3, 5 and 10), each
 * made against a real node over real HTTP and TCP: a raw client that reads
 * slowly or not at all, floods, sends oversized or malformed frames, or
 * keeps talking after its session ended. No test depends on machine speed:
 * the timeouts are safety nets, never budgets.
 */

/** 4,000-character bodies: ~4.3 KB a frame, so a few thousand outrun the kernel's socket buffers (~4 MB on loopback). */
const BIG = "x".repeat(3990);

/** Stores `n` large messages in `roomId` through the message service (what HTTP and WS sends call). */
async function seed(server: ParleyServer, authorId: string, roomId: string, n: number): Promise<void> {
  const actor: Actor = { userId: authorId, via: "token", credentialHash: "seed", csrfToken: null, expiresAt: null };
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, (_, j) => server.services.messages.send(actor, roomId, `${i + j} ${BIG}`, `seed-${i + j}`));
    await Promise.all(batch);
  }
}

/** Polls `test` every 10 ms until it holds; fails after `timeoutMs` (a safety net, not a budget). */
async function until(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A masked client frame (RFC 6455 §5.2, §5.3): what a browser would send. */
function clientFrame(opcode: number, payload: Buffer | string): Buffer {
  const data = Buffer.from(payload);
  const len = data.length;
  let head: Buffer;
  if (len < 126) head = Buffer.from([0x80 | opcode, 0x80 | len]);
  else if (len < 65_536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  for (let i = 0; i < len; i++) data[i]! ^= mask[i % 4]!;
  return Buffer.concat([head, mask, data]);
}
const textFrame = (frame: unknown) => clientFrame(0x1, JSON.stringify(frame));

/**
 * A WebSocket client on a bare TCP socket, for what a well-behaved library
 * will not do: stop reading, pong unasked, write frames with the upgrade
 * request, keep sending after the server's close frame.
 */
class RawClient {
  readonly frames: { opcode: number; payload: Buffer }[] = [];
  status = 0;
  closed = false;
  private buf = Buffer.alloc(0);
  private upgraded = false;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => undefined);
  }

  /** Connects, sends the upgrade request (and `extra` bytes in the same write), waits for the response head. */
  static async open(server: TestServer, headers: Record<string, string>, extra: Buffer = Buffer.alloc(0)): Promise<RawClient> {
    const url = new URL(server.baseUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    const raw = new RawClient(socket);
    const lines = [
      "GET /ws HTTP/1.1",
      `Host: ${url.host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`), extra]));
    await until(() => raw.upgraded || raw.closed, "the upgrade response", 10_000);
    return raw;
  }

  static headersOf(caller: Caller): Record<string, string> {
    return caller.bearer ? { Authorization: `Bearer ${caller.bearer}` } : { Cookie: caller.cookie!, Origin: caller.baseUrl };
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.upgraded) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.status = Number(this.buf.subarray(0, end).toString().split(" ")[1]);
      this.buf = this.buf.subarray(end + 4);
      this.upgraded = true;
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0]! & 0x0f;
      let len = this.buf[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) return;
      this.frames.push({ opcode, payload: Buffer.from(this.buf.subarray(at, at + len)) });
      this.buf = this.buf.subarray(at + len);
    }
  }

  /** Text frames received, parsed. */
  json(): { type: string; [k: string]: unknown }[] {
    return this.frames.filter((f) => f.opcode === 0x1).map((f) => JSON.parse(f.payload.toString()) as { type: string });
  }

  /** The close code the server sent, if it sent a close frame. */
  closeCode(): number | null {
    const close = this.frames.find((f) => f.opcode === 0x8);
    return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
  }

  send(frame: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(frame);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens a `ws` client; resolves with it once open, or with the HTTP status the upgrade was refused with. */
function upgrade(server: TestServer, caller: Caller): Promise<WebSocket | number> {
  const ws = new WebSocket(server.wsUrl, { headers: RawClient.headersOf(caller) });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.once("error", reject);
  });
}

describe("item 1: leaving stops a catch-up", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.destroy());

  it("a member who leaves a private room during a slow resume receives nothing after their member.left, on any socket", async () => {
    const alice = await signup(t.baseUrl, "alice");
    const bob = await signupBot(t.baseUrl, "bob");
    const room = await createRoom(alice, "private");
    expect((await alice.post(`/rooms/${room}/members`, { userId: bob.user.id })).status).toBe(201);
    await seed(t.server, alice.user.id, room, 2000); // seqs 3..2002, ~8.6 MB

    const live = await SocketClient.connect(t.wsUrl, bob);
    const slow = new WebSocket(t.wsUrl, { headers: RawClient.headersOf(bob) });
    const got: { type: string; id?: string; roomId?: string; seq?: number; userId?: string; message?: { body: string } }[] = [];
    slow.on("message", (data) => got.push(JSON.parse(data.toString()) as (typeof got)[number]));
    await until(() => got.some((f) => f.type === "ready"), "ready");
    slow.send(JSON.stringify({ type: "resume", id: "slow-resume", rooms: { [room]: 2 } }));
    // Reads nothing from now on: the server's catch-up waits for it, partway through the gap.
    slow.pause();
    const conns = () => t.server.gateway.connectionsOf(bob.user.id);
    await until(() => conns().some((c) => c.bufferedBytes > 0), "the catch-up waits for the slow reader");

    expect((await bob.post(`/rooms/${room}/leave`)).status).toBe(204);
    const left = await live.waitFor((f) => f.type === "member.left" && f.roomId === room);
    const leftSeq = left.type === "member.left" ? left.seq : 0;
    for (let i = 0; i < 3; i++) expect((await alice.post(`/rooms/${room}/messages`, { body: `after leave ${i}` })).status).toBe(201);
    await live.command({ type: "ping" });

    slow.resume();
    await until(() => got.some((f) => f.id === "slow-resume"), "the resume's ack", 60_000);
    const events = got.filter((f) => f.roomId === room && f.seq !== undefined);
    expect(events.map((f) => f.seq)).toEqual(Array.from({ length: leftSeq - 2 }, (_, i) => i + 3));
    expect(events.at(-1)).toMatchObject({ type: "member.left", userId: bob.user.id, seq: leftSeq });
    expect(got.some((f) => f.message?.body.startsWith("after leave"))).toBe(false);
    expect(live.messages(room).some((f) => f.message.body.startsWith("after leave"))).toBe(false);
    // Nothing arrives later either: one more round trip on each socket.
    slow.send(JSON.stringify({ type: "ping", id: "slow-ping" }));
    await until(() => got.some((f) => f.id === "slow-ping"), "the ping's ack");
    expect(got.filter((f) => f.roomId === room && (f.seq ?? 0) > leftSeq)).toEqual([]);
    slow.close();
    await live.close();
  });
});

describe("item 2: sockets that do not read", () => {
  let t: TestServer;
  const bound = 128 * 1024;
  beforeAll(async () => {
    t = await startTestServer({ wsStallTimeoutMs: 1500, wsSendBufferBytes: bound });
  });
  afterAll(() => t.destroy());

  it("a socket that pongs but reads nothing is cut at the stall deadline; its catch-up never holds more than the bound", async () => {
    const alice = await signup(t.baseUrl, "alice");
    const bot = await signupBot(t.baseUrl, "reader");
    const room = await createRoom(alice, "public");
    expect((await bot.post(`/rooms/${room}/join`)).status).toBe(200);
    await seed(t.server, alice.user.id, room, 2000);

    const raw = await RawClient.open(t, RawClient.headersOf(bot));
    expect(raw.status).toBe(101);
    raw.socket.pause(); // reads nothing more, ever
    raw.send(textFrame({ type: "resume", id: "r", rooms: { [room]: 0 } }));
    // Heartbeat answers, unasked (RFC 6455 §5.5.3): alive, by the ping's measure.
    const pongs = setInterval(() => raw.send(clientFrame(0xa, "")), 200);
    let peak = 0;
    const sample = setInterval(() => {
      for (const c of t.server.gateway.connectionsOf(bot.user.id)) peak = Math.max(peak, c.bufferedBytes);
    }, 5);
    try {
      await until(() => t.server.gateway.connectionsOf(bot.user.id).some((c) => c.bufferedBytes > 0), "data waits for the reader");
      await until(() => t.server.gateway.connectionsOf(bot.user.id).length === 0, "the stalled socket is cut");
    } finally {
      clearInterval(pongs);
      clearInterval(sample);
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(bound);
    raw.destroy();
    // The node is fine: another socket works.
    const s = await SocketClient.connect(t.wsUrl, alice);
    expect(await s.command({ type: "ping" })).toMatchObject({ type: "ack" });
    await s.close();
  });

  it("the N+1-th socket of a user, and of an address, is refused with 429 before it is accepted", async () => {
    const capped = await startTestServer({ wsSocketsPerUser: 2, wsSocketsPerAddress: 3 });
    try {
      const a = await signupBot(capped.baseUrl, "capa");
      const b = await signupBot(capped.baseUrl, "capb");
      const a1 = await upgrade(capped, a);
      const a2 = await upgrade(capped, a);
      expect(a1).toBeInstanceOf(WebSocket);
      expect(a2).toBeInstanceOf(WebSocket);
      expect(await upgrade(capped, a)).toBe(429); // per user
      const b1 = await upgrade(capped, b);
      expect(b1).toBeInstanceOf(WebSocket);
      expect(await upgrade(capped, b)).toBe(429); // per address: 3 from 127.0.0.1
      expect(capped.server.gateway.connectionsOf(a.user.id)).toHaveLength(2);
      expect(capped.server.gateway.connectionsOf(b.user.id)).toHaveLength(1);
      // A socket that closes frees its place.
      (a1 as WebSocket).close();
      await until(() => capped.server.gateway.connectionsOf(a.user.id).length === 1, "a1 is gone");
      let again: WebSocket | number = 0;
      // Retried until the address's place is freed too, however slow the machine (the deadline is only a safety net).
      for (const deadline = Date.now() + 10_000; !(again instanceof WebSocket) && Date.now() < deadline; ) {
        again = await upgrade(capped, b);
        if (!(again instanceof WebSocket)) await sleep(20);
      }
      expect(again).toBeInstanceOf(WebSocket);
      for (const ws of [a2, b1, again]) if (ws instanceof WebSocket) ws.close();
    } finally {
      await capped.destroy();
    }
  });
});

describe("item 2: sockets per address behind a trusted proxy", () => {
  it("counts the address X-Forwarded-For names when the peer is a trusted proxy", async () => {
    const t = await startTestServer({ trustProxy: "127.0.0.1", wsSocketsPerAddress: 1 });
    try {
      const bot = await signupBot(t.baseUrl, "proxied");
      const via = (client: string) => {
        const ws = new WebSocket(t.wsUrl, { headers: { ...RawClient.headersOf(bot), "X-Forwarded-For": `${client}, 127.0.0.1` } });
        return new Promise<WebSocket | number>((resolve, reject) => {
          ws.once("open", () => resolve(ws));
          ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
          ws.once("error", reject);
        });
      };
      const first = await via("203.0.113.7");
      const other = await via("198.51.100.9");
      expect(first).toBeInstanceOf(WebSocket);
      expect(other).toBeInstanceOf(WebSocket);
      expect(await via("203.0.113.7")).toBe(429);
      for (const ws of [first, other]) if (ws instanceof WebSocket) ws.close();
    } finally {
      await t.destroy();
    }
  });
});

describe("item 3: frames refused by size and rate before parsing", () => {
  let t: TestServer;
  let alice: Caller;
  beforeAll(async () => {
    t = await startTestServer({ wsBytesPerSecond: 64 * 1024, wsInvalidFramesPerMinute: 5 });
    alice = await signup(t.baseUrl, "alice");
  });
  afterAll(() => t.destroy());

  it("a frame over 64 KiB closes the socket with 1009", async () => {
    const s = await SocketClient.connect(t.wsUrl, alice);
    s.ws.send(JSON.stringify({ type: "ping", id: "big", pad: "x".repeat(70_000) }));
    expect((await s.whenClosed()).code).toBe(1009);
    expect(s.frames.some((f) => f.type === "ack" || f.type === "error")).toBe(false);
  });

  it("a flood of bytes in frames under the limit is refused rate_limited, unparsed (id read from the frame's head only)", async () => {
    const s = await SocketClient.connect(t.wsUrl, alice);
    // 8 × 60 KB against 64 KiB/s with bursts of 256 KiB: 4 pass, the rest are refused.
    for (let i = 0; i < 8; i++) s.ws.send(JSON.stringify({ type: "ping", id: `p${i}`, pad: "y".repeat(60_000) }));
    // An id after 60 KB of padding is not looked for: refusing never reads the whole frame.
    s.ws.send(JSON.stringify({ type: "ping", pad: "y".repeat(60_000), id: "late" }));
    await s.waitFor((f) => f.type === "error" && f.code === "rate_limited" && f.id === null);
    const refused = s.frames.filter((f) => f.type === "error" && f.code === "rate_limited");
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const f of refused.slice(0, -1)) expect(f).toMatchObject({ id: expect.stringMatching(/^p\d$/) });
    expect(refused.at(-1)).toMatchObject({ id: null });
    expect(await s.command({ type: "ping" })).toMatchObject({ type: "ack" });
    expect(s.closeInfo).toBeNull();
    await s.close();
  });

  it("a socket that keeps sending malformed frames is closed with 1008; the node and other sockets are fine", async () => {
    const other = await SocketClient.connect(t.wsUrl, alice);
    const s = await SocketClient.connect(t.wsUrl, alice);
    for (let i = 0; i < 10; i++) s.ws.send("{not json");
    expect((await s.whenClosed()).code).toBe(1008);
    expect(s.frames.filter((f) => f.type === "error" && f.code === "validation_failed").length).toBeGreaterThanOrEqual(5);
    expect(await other.command({ type: "ping" })).toMatchObject({ type: "ack" });
    expect((await fetch(`${t.baseUrl}/healthz`)).status).toBe(200);
    await other.close();
  });
});

describe("item 5: an ended session's socket does nothing", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ wsHeartbeatMs: 1000 });
  });
  afterAll(() => t.destroy());

  it("after logout, frames sent on that session's socket store nothing", async () => {
    const alice = await signup(t.baseUrl, "alice");
    const bob = await signup(t.baseUrl, "bob");
    const room = await createRoom(alice, "public");
    expect((await bob.post(`/rooms/${room}/join`)).status).toBe(200);
    const raw = await RawClient.open(t, RawClient.headersOf(alice));
    expect(raw.status).toBe(101);
    await until(() => raw.json().some((f) => f.type === "ready"), "ready");
    raw.send(textFrame({ type: "message.send", id: "m0", roomId: room, body: "before logout", clientId: "c0" }));
    await until(() => raw.json().some((f) => f.type === "ack" && f.id === "m0"), "the first send's ack");

    expect((await alice.post("/auth/logout")).status).toBe(204);
    await until(() => raw.closeCode() !== null, "the server's close frame");
    expect(raw.closeCode()).toBe(4401);
    // The client ignores the close and keeps sending during the close handshake's grace period.
    for (let i = 1; i <= 5; i++) raw.send(textFrame({ type: "message.send", id: `m${i}`, roomId: room, body: `after logout ${i}`, clientId: `c${i}` }));
    await until(() => raw.closed, "the server cuts the socket");
    const history = await bob.get<HistoryResponse>(`/rooms/${room}/messages`);
    expect(history.body.messages.map((m) => m.body)).toEqual(["before logout"]);
    expect(raw.json().filter((f) => f.type === "ack" && f.id !== "m0")).toEqual([]);
  });

  it("a session deleted in the database (as by another node) closes its socket at the heartbeat (4401)", async () => {
    const carol = await signup(t.baseUrl, "carol");
    const s = await SocketClient.connect(t.wsUrl, carol);
    await t.server.store.db.deleteFrom("sessions").where("user_id", "=", carol.user.id).execute();
    const closed = await Promise.race([s.whenClosed(), sleep(20_000).then(() => null)]);
    expect(closed?.code).toBe(4401);
  });

  it("an API token deleted in the database closes its socket at the heartbeat (4401)", async () => {
    const bot = await signupBot(t.baseUrl, "gone");
    const s = await SocketClient.connect(t.wsUrl, bot);
    await t.server.store.db.deleteFrom("api_tokens").where("user_id", "=", bot.user.id).execute();
    const closed = await Promise.race([s.whenClosed(), sleep(20_000).then(() => null)]);
    expect(closed?.code).toBe(4401);
  });
});

describe("item 10: frames before ready, and the error log", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.destroy());

  /** Holds every new socket between its upgrade and `ready` until the returned release is called. */
  const holdStarts = () => {
    const rooms = t.server.services.rooms;
    const original = rooms.subscriptions.bind(rooms);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    rooms.subscriptions = async (userId: string) => {
      await gate;
      return original(userId);
    };
    return () => {
      release();
      rooms.subscriptions = original;
    };
  };

  it("frames before ready are kept and run after it, in order", async () => {
    const bot = await signupBot(t.baseUrl, "early");
    const release = holdStarts();
    const pings = Buffer.concat(Array.from({ length: 5 }, (_, i) => textFrame({ type: "ping", id: `e${i}` })));
    const raw = await RawClient.open(t, RawClient.headersOf(bot), pings);
    await sleep(100);
    expect(raw.json()).toEqual([]);
    release();
    await until(() => raw.json().length === 6, "ready and five acks");
    expect(raw.json().map((f) => (f.type === "ack" ? f.id : f.type))).toEqual(["ready", "e0", "e1", "e2", "e3", "e4"]);
    raw.destroy();
  });

  it("too many frames before ready close the socket (1008) before any is run", async () => {
    const bot = await signupBot(t.baseUrl, "early");
    const release = holdStarts();
    try {
      const pings = Buffer.concat(Array.from({ length: 100 }, (_, i) => textFrame({ type: "ping", id: `e${i}` })));
      const raw = await RawClient.open(t, RawClient.headersOf(bot), pings);
      await until(() => raw.closeCode() !== null, "the close frame");
      expect(raw.closeCode()).toBe(1008);
      release();
      await sleep(100);
      expect(raw.json().filter((f) => f.type === "ack")).toEqual([]);
      raw.destroy();
    } finally {
      release();
    }
  });

  it("a client that disconnects during a catch-up logs nothing at error level", async () => {
    const lines: string[] = [];
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-test-"));
    const config = loadConfig({
      values: { port: 0, host: "127.0.0.1", dataDir, logLevel: "debug", webDir: path.join(dataDir, "none"), signupsPerHourPerAddress: 1000, httpMessagesPerMinute: 100_000 },
    });
    const logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
    const server = await createServer(config, { logger });
    const baseUrl = (await server.listen()).replace("localhost", "127.0.0.1");
    const node = { baseUrl, wsUrl: `${baseUrl.replace(/^http/, "ws")}/ws` } as TestServer;
    try {
      const alice = await signup(baseUrl, "alice");
      const room = await createRoom(alice, "public");
      await seed(server, alice.user.id, room, 2000);
      for (let round = 0; round < 3; round++) {
        const bot = await signupBot(baseUrl, "leaver");
        expect((await bot.post(`/rooms/${room}/join`)).status).toBe(200);
        const ws = new WebSocket(node.wsUrl, { headers: RawClient.headersOf(bot) });
        await new Promise((r) => ws.once("message", r)); // ready
        ws.send(JSON.stringify({ type: "resume", id: "r", rooms: { [room]: 0 } }));
        ws.pause();
        await until(() => server.gateway.connectionsOf(bot.user.id).some((c) => c.bufferedBytes > 0), "the catch-up waits");
        ws.terminate(); // gone mid catch-up, with unread data: the server sees a reset
        await until(() => server.gateway.connectionsOf(bot.user.id).length === 0, "the socket is dropped");
      }
      await sleep(200);
      const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
      expect(errors).toEqual([]);
    } finally {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
