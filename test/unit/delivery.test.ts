import { afterEach, beforeEach, describe, expect, it } from "vitest";
import pino from "pino";
import type { WebSocket } from "ws";
import type { Socket } from "node:net";
import { EventEmitter } from "node:events";
import { frameText, frameTexts } from "@server/realtime/wire.js";
import { openStore, type Store } from "@server/store/store.js";
import { appendRoomEvent, durableRoomEvents, readRoomEvents } from "@server/events/log.js";
import { rows, runSteps } from "@server/store/steps.js";
import { historyPage } from "@server/messages/queries.js";
import { RoomWriter } from "@server/events/writer.js";
import { MemoryBus } from "@server/bus/memory.js";
import type { BusEnvelope } from "@server/bus/bus.js";
import { Connection, type ConnectionOptions } from "@server/realtime/connection.js";
import { runCommand } from "@server/realtime/commands.js";
import type { Services } from "@server/services.js";
import type { AckFrame } from "@shared/protocol/frames.js";
import { AppError } from "@server/errors.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { nowIso } from "@server/store/ids.js";
import { MAX_SEQ } from "@shared/protocol/limits.js";

const log = pino({ level: "silent" });

/** Decodes unmasked text frames (RFC 6455 §5.2) written by the server. */
function decodeFrames(bytes: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    expect(bytes[i]).toBe(0x81); // FIN + text
    let len = bytes[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at);
      at += 2;
    }
    out.push(bytes.subarray(at, at + len).toString());
    i = at + len;
  }
  return out;
}

/**
 * A stand-in WebSocket and TCP socket that record what was written. With
 * `stuck`, the peer reads nothing: written bytes stay in `writableLength`
 * until `drainAll()` (the peer reads them all).
 */
function fakeSocket(opts: { stuck?: boolean } = {}) {
  const writes: Buffer[] = [];
  let corked = 0;
  const events = new EventEmitter();
  const socket = {
    destroyed: false,
    writableLength: 0,
    writableNeedDrain: false,
    bytesWritten: 0,
    cork: () => corked++,
    uncork: () => corked--,
    write(b: Buffer) {
      writes.push(b);
      socket.bytesWritten += b.length;
      if (opts.stuck) {
        socket.writableLength += b.length;
        socket.writableNeedDrain = socket.writableLength > 16 * 1024;
      }
      return !socket.writableNeedDrain;
    },
    on: (name: string, f: () => void) => events.on(name, f),
    off: (name: string, f: () => void) => events.off(name, f),
  };
  const ws = {
    OPEN: 1,
    readyState: 1,
    closeCode: 0,
    on: () => undefined,
    close(code: number) {
      ws.closeCode = code;
      ws.readyState = 3;
    },
    terminate() {
      ws.readyState = 3;
    },
  };
  const drainAll = () => {
    socket.writableLength = 0;
    socket.writableNeedDrain = false;
    events.emit("drain");
  };
  const sent = () => decodeFrames(Buffer.concat(writes));
  return { ws, socket, writes, sent, drainAll, seqs: () => sent().map((f) => (JSON.parse(f) as { seq: number }).seq), corked: () => corked };
}

let store: Store;
beforeEach(async () => {
  store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
  const at = nowIso();
  await store.db.insertInto("users").values({ id: "u", username: "u", username_key: "u", email: "u@x", email_key: "u@x", display_name: "u", password_hash: "x", created_at: at }).execute();
  await store.db.insertInto("rooms").values({ id: "r", kind: "public", name: "r", topic: "", direct_key: null, created_by: "u", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
});
afterEach(() => store.close());

/** Counts the transactions opened on the store from now on. */
function countTransactions(): { count: number } {
  const counter = { count: 0 };
  const open = store.db.transaction.bind(store.db);
  store.db.transaction = () => {
    counter.count++;
    return open();
  };
  return counter;
}

/** Appends `n` events to room r; returns their frames by seq. */
async function append(n: number): Promise<Map<number, string>> {
  const frames = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const e = await runSteps(store.db, appendRoomEvent(store.db, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: `x${seq}` })));
    frames.set(e.seq, e.frame);
  }
  return frames;
}

const connect = (fake: ReturnType<typeof fakeSocket>, bufferBytes = 1 << 20, more: Partial<ConnectionOptions> = {}) =>
  new Connection(
    "c",
    { userId: "u", via: "token", credentialHash: "h", csrfToken: null, expiresAt: null },
    fake.ws as unknown as WebSocket,
    fake.socket as unknown as Socket,
    (roomId, after, upTo, limit) => readRoomEvents(store.db, roomId, after, upTo, limit),
    log,
    {
      sendBufferBytes: bufferBytes,
      scheduleFlush: (c) => queueMicrotask(() => c.flush()),
      index: { add: () => undefined, remove: () => undefined },
      onBacklog: () => undefined,
      ...more,
    },
  );

/** A started connection (ready sent and discarded from the record). */
const started = (fake: ReturnType<typeof fakeSocket>, bufferBytes?: number, more?: Partial<ConnectionOptions>) => {
  const conn = connect(fake, bufferBytes, more);
  conn.start(JSON.stringify({ type: "ready" }));
  conn.flush();
  fake.writes.length = 0;
  return conn;
};

/** The frames of room r keyed by seq, framed as the gateway does. */
const wired = (frames: Map<number, string>) => new Map([...frames].map(([seq, f]) => [seq, frameText(f)]));

const settle = () => new Promise((r) => setTimeout(r, 20));

/** Turns the event loop until `test` holds, however slow the machine (the test's timeout is the safety net). */
const until = async (test: () => boolean) => {
  while (!test()) await new Promise((r) => setTimeout(r, 1));
};

describe("Connection delivery", () => {
  it("sends live events in order once, dropping repeats, in one corked write per turn", async () => {
    const frames = wired(await append(3));
    const s = fakeSocket();
    const conn = started(s);
    conn.subscribe("r", 0);
    for (const seq of [1, 2, 2, 1, 3]) conn.deliver("r", seq, frames.get(seq)!);
    expect(s.writes).toHaveLength(0); // nothing before the turn ends
    await settle();
    expect(s.seqs()).toEqual([1, 2, 3]);
    // The shared frame buffers are written as they are, not copied.
    expect(s.writes[0]).toBe(frames.get(1));
    expect(s.corked()).toBe(0);
  });

  it("fills a gap from the event log before a live event that skips seqs", async () => {
    const frames = wired(await append(5));
    const s = fakeSocket();
    const conn = started(s);
    conn.subscribe("r", 1);
    conn.deliver("r", 4, frames.get(4)!);
    conn.deliver("r", 5, frames.get(5)!);
    await settle();
    expect(s.seqs()).toEqual([2, 3, 4, 5]);
  });

  it("resume sends what came before this socket's stream, without repeating what went live", async () => {
    const frames = wired(await append(6));
    const s = fakeSocket();
    const conn = started(s);
    conn.subscribe("r", 4); // the socket began after seq 4
    conn.deliver("r", 5, frames.get(5)!); // live before the resume command
    const last = await conn.resume("r", 2);
    await settle();
    expect(s.seqs()).toEqual([5, 3, 4, 6]);
    expect(last.sent).toBe(6);
    expect(new Set(s.seqs()).size).toBe(s.seqs().length);
  });

  it("a long catch-up gives the event loop back between batches (issue 16 item 15b)", async () => {
    await append(2_000);
    const s = fakeSocket();
    const conn = started(s);
    conn.subscribe("r", 2_000);
    // SQLite's reads resolve in microtasks and this peer never needs a drain: only a yield lets a macrotask in.
    let sentAtFirstTurn = -1;
    setImmediate(() => (sentAtFirstTurn = s.seqs().length));
    const last = await conn.resume("r", 0);
    await settle();
    expect(last.sent).toBe(2_000);
    expect(s.seqs()).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    expect(sentAtFirstTurn).toBeGreaterThanOrEqual(0);
    expect(sentAtFirstTurn).toBeLessThan(2_000);
  });

  it("resume from a seq ahead of the socket skips what the client already has", async () => {
    await append(4);
    const s = fakeSocket();
    const conn = started(s);
    conn.subscribe("r", 1);
    expect((await conn.resume("r", 3)).sent).toBe(4);
    await settle();
    expect(s.seqs()).toEqual([4]);
  });

  it("sends nothing before ready, then ready first", async () => {
    const frames = wired(await append(1));
    const s = fakeSocket();
    const conn = connect(s);
    conn.subscribe("r", 0);
    conn.deliver("r", 1, frames.get(1)!);
    await settle();
    expect(s.writes).toHaveLength(0);
    conn.start(JSON.stringify({ type: "ready" }));
    await settle();
    expect(s.sent().map((f) => (JSON.parse(f) as { type: string }).type)).toEqual(["ready", "member.left"]);
  });

  it("closes a consumer whose send buffer is past the bound", async () => {
    const frames = wired(await append(1));
    const s = fakeSocket();
    const conn = started(s, 1024);
    conn.subscribe("r", 0);
    s.socket.writableLength = 2048;
    conn.deliver("r", 1, frames.get(1)!);
    await settle();
    expect(s.writes).toEqual([]);
    expect(conn.isOpen).toBe(false);
  });

  /** Lets a stuck socket read everything, turn after turn, until `done` settles. */
  const readUntil = async <T,>(s: ReturnType<typeof fakeSocket>, done: Promise<T>): Promise<T> => {
    let finished = false;
    void done.finally(() => (finished = true));
    for (let i = 0; i < 10_000 && !finished; i++) {
      s.drainAll();
      await new Promise((r) => setImmediate(r));
    }
    return done;
  };

  it("a member who leaves during a catch-up gets nothing after their member.left, by the catch-up or held", async () => {
    await append(1000);
    const s = fakeSocket({ stuck: true });
    const conn = started(s, 64 * 1024);
    conn.subscribe("r", 0);
    const resumed = conn.resume("r", 0);
    await until(() => s.socket.writableNeedDrain);
    // The catch-up waits for the reader, partway through.
    const before = s.seqs().length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(1000);
    // They leave: their member.left (seq 1001) arrives live, held behind the catch-up.
    const left = wired(await append(1));
    conn.deliver("r", 1001, left.get(1001)!);
    conn.unsubscribe("r", 1001);
    // Events after they left: committed to the log, and published (no longer delivered to them).
    const after = wired(await append(2));
    conn.deliver("r", 1002, after.get(1002)!);
    expect((await readUntil(s, resumed)).sent).toBe(1001);
    await settle();
    expect(s.seqs()).toEqual(Array.from({ length: 1001 }, (_, i) => i + 1));
    s.drainAll();
    // Nothing is held for the room any more.
    expect(conn.bufferedBytes).toBe(0);
  });

  it("a catch-up to a socket that reads nothing holds no more than the socket's bound", async () => {
    // ~4 KB frames, as 4,000-character messages are.
    const big = "x".repeat(4000);
    for (let i = 0; i < 300; i++) await runSteps(store.db, appendRoomEvent(store.db, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: `${big}${seq}` })));
    const bound = 64 * 1024;
    const s = fakeSocket({ stuck: true });
    const conn = started(s, bound);
    conn.subscribe("r", 0);
    const resumed = conn.resume("r", 0);
    let peak = 0;
    // At least 20 turns, and on until the catch-up waits for the reader, however slow the machine.
    for (let i = 0; i < 20 || !s.socket.writableNeedDrain; i++) {
      await new Promise((r) => setImmediate(r));
      peak = Math.max(peak, conn.bufferedBytes);
    }
    expect(s.seqs().length).toBeLessThan(300); // still waiting for the reader
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(bound);
    expect(conn.isOpen).toBe(true);
    expect((await readUntil(s, resumed)).sent).toBe(300);
    expect(s.seqs()).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it("live events held behind a stuck catch-up count toward the bound: past it the socket is closed (4408)", async () => {
    await append(400);
    const s = fakeSocket({ stuck: true });
    const conn = started(s, 64 * 1024);
    conn.subscribe("r", 0);
    void conn.resume("r", 0);
    await until(() => s.socket.writableNeedDrain);
    const live = frameText(JSON.stringify({ type: "member.left", roomId: "r", seq: 401, userId: "y".repeat(8000) }));
    for (let seq = 401; seq < 420 && conn.isOpen; seq++) conn.deliver("r", seq, live);
    expect(conn.isOpen).toBe(false);
    expect(s.ws.closeCode).toBe(4408);
  });

  it("runs one catch-up at a time per socket: many rooms resumed at once hold one batch", async () => {
    const at = nowIso();
    await store.db.insertInto("rooms").values({ id: "r2", kind: "public", name: "r2", topic: "", direct_key: null, created_by: "u", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
    await append(1000);
    for (let i = 0; i < 200; i++) await runSteps(store.db, appendRoomEvent(store.db, "r2", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r2", seq, userId: `z${seq}` })));
    const s = fakeSocket({ stuck: true });
    const conn = started(s, 64 * 1024);
    conn.subscribe("r", 0);
    conn.subscribe("r2", 0);
    const both = Promise.all([conn.resume("r", 0), conn.resume("r2", 0)]);
    await until(() => s.socket.writableNeedDrain);
    const rooms = () => s.sent().map((f) => (JSON.parse(f) as { roomId: string }).roomId);
    // r2 waits while r's catch-up waits for the reader.
    expect(rooms().length).toBeGreaterThan(0);
    expect(rooms().every((r) => r === "r")).toBe(true);
    expect((await readUntil(s, both)).map((r) => r.sent)).toEqual([1000, 200]);
    expect(rooms().filter((r) => r === "r2")).toHaveLength(200);
  });

  /** Appends one event to `roomId`: a member.left of `userId`, or (without one) a joined of u; returns its seq and frame. */
  const appendTo = async (roomId: string, event: "left" | "joined", userId = "u") => {
    const e = await runSteps(
      store.db,
      appendRoomEvent(store.db, roomId, nowIso(), (seq) =>
        event === "left"
          ? { type: "member.left" as const, roomId, seq, userId }
          : { type: "member.joined" as const, roomId, seq, member: { user: { id: userId, username: userId, displayName: userId, createdAt: nowIso() }, role: "member" as const, joinedAt: nowIso() } },
      ),
    );
    return { seq: e.seq, wire: frameText(e.frame) };
  };

  it("a catch-up that meets the member's own member.left (a leave this node did not hear) sends it and ends the room there", async () => {
    await append(3); // others' events
    const own = await appendTo("r", "left");
    await append(3); // after the leave: never theirs
    const s = fakeSocket();
    const ended: string[] = [];
    const removed: string[] = [];
    const conn = started(s, undefined, {
      onLeftInLog: (roomId) => ended.push(roomId),
      index: { add: () => undefined, remove: (roomId) => removed.push(roomId) },
    });
    conn.subscribe("r", 1);
    // A live event after the leave: a gap, filled from the log.
    const later = wired(await append(1));
    conn.deliver("r", 8, later.get(8)!);
    await until(() => ended.length > 0);
    await settle();
    expect(s.seqs()).toEqual([2, 3, own.seq]);
    expect(ended).toEqual(["r"]);
    expect(removed).toEqual(["r"]);
    expect(conn.rooms.has("r")).toBe(false);
    // Nothing more of the room reaches the socket, live or held.
    conn.deliver("r", 9, frameText(JSON.stringify({ type: "member.left", roomId: "r", seq: 9, userId: "x" })));
    await settle();
    expect(s.seqs()).toEqual([2, 3, own.seq]);
    expect(conn.bufferedBytes).toBe(0);
  });

  it("a resync's catch-up and a resume stop at the member's own member.left too; the ack reports its seq", async () => {
    await append(2);
    const own = await appendTo("r", "left");
    await append(2);
    const s = fakeSocket();
    const conn = started(s);
    conn.subscribe("r", 0);
    conn.catchUpTo("r", MAX_SEQ);
    await until(() => !conn.rooms.has("r"));
    expect(s.seqs()).toEqual([1, 2, own.seq]);
    // A stale stream resumed before anything is heard: the same end.
    const s2 = fakeSocket();
    const conn2 = started(s2);
    conn2.subscribe("r", 1);
    expect((await conn2.resume("r", 1)).sent).toBe(own.seq);
    expect(s2.seqs()).toEqual([2, own.seq]);
    expect(conn2.rooms.has("r")).toBe(false);
  });

  it("a resume's replay of what came before the socket's stream passes an old own member.left (they rejoined since)", async () => {
    await append(1);
    const left = await appendTo("r", "left");
    await append(1);
    const joined = await appendTo("r", "joined");
    await append(1);
    const s = fakeSocket();
    const conn = started(s);
    // Subscribed at connect, after the rejoin (the database said member).
    conn.subscribe("r", joined.seq + 1);
    expect((await conn.resume("r", 0)).sent).toBe(joined.seq + 1);
    expect(s.seqs()).toEqual([1, left.seq, 3, joined.seq, joined.seq + 1]);
    expect(conn.rooms.has("r")).toBe(true);
  });

  it("a multi-room resume acks each room's last seq sent on the socket when the ack goes out, live events of an early room included", async () => {
    const at = nowIso();
    await store.db.insertInto("rooms").values({ id: "r2", kind: "public", name: "r2", topic: "", direct_key: null, created_by: "u", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
    await append(3);
    // r2's catch-up is long enough to wait for the reader.
    for (let i = 0; i < 1000; i++) await runSteps(store.db, appendRoomEvent(store.db, "r2", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r2", seq, userId: `z${seq}` })));
    const head = async (roomId: string) => Number((await store.db.selectFrom("rooms").select("last_seq").where("id", "=", roomId).executeTakeFirstOrThrow()).last_seq);
    const services = { rooms: { headForMember: (_actor: unknown, roomId: string) => head(roomId) } } as unknown as Services;
    const s = fakeSocket({ stuck: true });
    const conn = started(s, 64 * 1024);
    const answer = runCommand(services, conn, { type: "resume", id: "c1", rooms: { r: 0, r2: 0 } });
    // r is caught up (3 events); r2's catch-up waits for the reader.
    await until(() => s.socket.writableNeedDrain && conn.rooms.has("r2"));
    expect(s.seqs().slice(0, 3)).toEqual([1, 2, 3]);
    // Meanwhile r is live: 4 and 5 go out on the socket before the ack.
    const live = wired(await append(2));
    conn.deliver("r", 4, live.get(4)!);
    conn.deliver("r", 5, live.get(5)!);
    const ack = await readUntil(s, answer);
    const frame = (typeof ack === "function" ? ack() : ack) as AckFrame;
    conn.send(JSON.stringify(frame));
    s.drainAll();
    await settle();
    const rFrames = s.sent().map((f) => JSON.parse(f) as { type: string; roomId?: string; seq?: number });
    const rSeqs = rFrames.filter((f) => f.roomId === "r").map((f) => f.seq);
    expect(rSeqs).toEqual([1, 2, 3, 4, 5]);
    // What the ack says is the last seq of r now sent, not the 3 its own catch-up ended at.
    expect(frame.rooms).toEqual({ r: 5, r2: 1000 });
    expect(rFrames.at(-1)).toMatchObject({ type: "ack", id: "c1" });
  });

  it("stall(): bytes pending and none taken for the deadline is a stall; a pong changes nothing", () => {
    const s = fakeSocket();
    const conn = started(s);
    expect(conn.stall(0, 1000)).toBe("idle");
    s.socket.writableLength = 5000;
    s.socket.bytesWritten = 10_000;
    expect(conn.stall(0, 1000)).toBe("moving");
    expect(conn.stall(999, 1000)).toBe("moving");
    expect(conn.stall(1000, 1000)).toBe("stalled");
    // The peer takes some bytes: progress, the clock starts again.
    s.socket.writableLength = 4000;
    expect(conn.stall(1500, 1000)).toBe("moving");
    expect(conn.stall(2499, 1000)).toBe("moving");
    // A ping written by ws adds to both counters: no progress.
    s.socket.writableLength += 6;
    s.socket.bytesWritten += 6;
    expect(conn.stall(2500, 1000)).toBe("stalled");
    s.socket.writableLength = 0;
    expect(conn.stall(3000, 1000)).toBe("idle");
  });
});

describe("RoomWriter group commit", () => {
  it("commits the works of one turn together and publishes in order after the commit", async () => {
    const bus = new MemoryBus();
    const published: BusEnvelope[] = [];
    bus.subscribe((e) => published.push(e));
    const writer = new RoomWriter(store.db, bus, log, async () => undefined);
    const work = (i: number) =>
      writer.submit(async (trx) => {
        const e = await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: `w${i}` })));
        // Nothing is published before the batch commits.
        expect(published).toHaveLength(0);
        return { result: e.seq, publish: [{ kind: "room", roomId: "r", seq: e.seq, frame: e.frame }] };
      });
    const seqs = await Promise.all([1, 2, 3, 4].map(work));
    expect(seqs).toEqual([1, 2, 3, 4]);
    expect(published.map((e) => (e.kind === "room" ? e.seq : 0))).toEqual([1, 2, 3, 4]);
  });

  it("locks the rooms its works named first, once each and in id order, before any work runs (two nodes' batches cannot deadlock)", async () => {
    const locked: string[][] = [];
    const order: string[] = [];
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined, {
      lockRooms: (db, roomIds) => {
        locked.push(roomIds);
        order.push("lock");
        return db.selectFrom("rooms").select("id").where("id", "in", roomIds).compile();
      },
    });
    const work = (roomId: string | undefined) =>
      writer.submitRoomSteps(roomId, function* (db) {
        order.push(`work ${roomId ?? "new"}`);
        yield* rows(db.selectFrom("rooms").select("id").where("id", "=", roomId ?? "").compile());
        return { result: null, publish: [] };
      });
    await Promise.all([work("r3"), work("r1"), work(undefined), work("r3"), work("r2")]);
    expect(locked).toEqual([["r1", "r2", "r3"]]);
    // The works keep their order: only the locks are sorted.
    expect(order).toEqual(["lock", "work r3", "work r1", "work new", "work r3", "work r2"]);
  });

  it("answers and publishes only once the batch is durable", async () => {
    const bus = new MemoryBus();
    const published: BusEnvelope[] = [];
    bus.subscribe((e) => published.push(e));
    let makeDurable!: () => void;
    const writer = new RoomWriter(store.db, bus, log, () => new Promise<void>((r) => (makeDurable = r)));
    let answered = false;
    const done = writer
      .submit(async (trx) => {
        const e = await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "d" })));
        return { result: e.seq, publish: [{ kind: "room", roomId: "r", seq: e.seq, frame: e.frame }] };
      })
      .then((seq) => {
        answered = true;
        return seq;
      });
    await settle();
    // Committed (the seq is taken) but not yet durable: no answer, no event.
    expect((await store.db.selectFrom("rooms").select("last_seq").where("id", "=", "r").executeTakeFirstOrThrow()).last_seq).toBe(1);
    expect(answered).toBe(false);
    expect(published).toHaveLength(0);
    makeDurable();
    expect(await done).toBe(1);
    expect(published).toHaveLength(1);
  });

  it("keeps readers of the log before a batch that waits for its fsync", async () => {
    let makeDurable!: () => void;
    const writer = new RoomWriter(store.db, new MemoryBus(), log, () => new Promise<void>((r) => (makeDurable = r)));
    const append = (userId: string) =>
      writer.submit(async (trx) => {
        const e = await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId })));
        return { result: e.seq, publish: [{ kind: "room", roomId: "r", seq: e.seq, frame: e.frame }] };
      });
    const first = append("a");
    await settle();
    makeDurable();
    expect(await first).toBe(1);
    expect(writer.readableSeq("r")).toBe(MAX_SEQ);

    const second = append("b");
    await settle();
    // Seq 2 is committed (a plain read sees it) but not durable: the durable reader stops at 1.
    expect((await readRoomEvents(store.db, "r", 0, MAX_SEQ, 10)).map((e) => e.seq)).toEqual([1, 2]);
    expect(writer.readableSeq("r")).toBe(1);
    expect(writer.readableSeq("other")).toBe(MAX_SEQ);
    const durableReader = durableRoomEvents(store.db, (roomId) => writer.readableSeq(roomId));
    expect((await durableReader("r", 0, Number.MAX_SAFE_INTEGER, 10)).map((e) => e.seq)).toEqual([1]);
    makeDurable();
    expect(await second).toBe(2);
    expect((await durableReader("r", 0, Number.MAX_SAFE_INTEGER, 10)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("queues what arrives while a batch awaits its fsync and commits it as the next batch", async () => {
    const releases: (() => void)[] = [];
    const writer = new RoomWriter(store.db, new MemoryBus(), log, () => new Promise<void>((r) => releases.push(r)));
    const transactions = countTransactions();
    const work = () =>
      writer.submit(async (trx) => {
        const e = await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "q" })));
        return { result: e.seq, publish: [] };
      });
    const first = work();
    await settle();
    const later = [work(), work()];
    await settle();
    const seq = async () => (await store.db.selectFrom("rooms").select("last_seq").where("id", "=", "r").executeTakeFirstOrThrow()).last_seq;
    expect(await seq()).toBe(1); // the later two wait for the first batch's fsync
    releases.shift()!();
    expect(await first).toBe(1);
    await settle();
    expect(await seq()).toBe(3);
    releases.shift()!();
    expect(await Promise.all(later)).toEqual([2, 3]);
    expect(transactions.count).toBe(2);
  });

  it("with a commit window, sends a few ms apart commit in one transaction", async () => {
    // A window far longer than the gap, so that a slow or busy machine still lands both in it.
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined, { commitWindowMs: 1_000 });
    const transactions = countTransactions();
    const work = () =>
      writer.submit(async (trx) => ({ result: (await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "w" })))).seq, publish: [] }));
    const first = work();
    await new Promise((r) => setTimeout(r, 5));
    const second = work();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(transactions.count).toBe(1);
  });

  it("with a commit window, a batch stops waiting as soon as a second write comes", async () => {
    // A window longer than the test's timeout: waiting it out would fail the test.
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined, { commitWindowMs: 60_000 });
    const transactions = countTransactions();
    const work = () =>
      writer.submit(async (trx) => ({ result: (await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "q" })))).seq, publish: [] }));
    expect(await Promise.all([work(), work()])).toEqual([1, 2]);
    expect(transactions.count).toBe(1);
  });

  it("with a commit window, works that queued during an fsync commit right after it, without waiting the window", async () => {
    let release!: () => void;
    let fsyncs = 0;
    // The first batch's fsync is held; the next ones are instant.
    const durable = () => (++fsyncs === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve());
    // A window longer than the test's timeout: waiting it out would fail the test.
    const writer = new RoomWriter(store.db, new MemoryBus(), log, durable, { commitWindowMs: 60_000 });
    const work = () =>
      writer.submit(async (trx) => ({ result: (await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "f" })))).seq, publish: [] }));
    const first = Promise.all([work(), work()]);
    while (fsyncs === 0) await new Promise((r) => setTimeout(r, 1));
    // These two queue while the first batch awaits its fsync.
    const later = Promise.all([work(), work()]);
    await new Promise((r) => setTimeout(r, 5));
    release();
    expect(await first).toEqual([1, 2]);
    expect(await later).toEqual([3, 4]);
  });

  it("holds a batch while the store asks it to wait, and what arrives meanwhile joins it", async () => {
    let release!: () => void;
    let asks = 0;
    const beforeCommit = () => (++asks === 1 ? new Promise<void>((r) => (release = r)) : null);
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined, { beforeCommit });
    const transactions = countTransactions();
    const work = () =>
      writer.submit(async (trx) => ({ result: (await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "h" })))).seq, publish: [] }));
    const first = work();
    await settle();
    const second = work();
    await settle();
    expect(transactions.count).toBe(0); // held: nothing committed yet
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(transactions.count).toBe(1);
  });

  it("fails only the work that threw an AppError; the others commit", async () => {
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined);
    const ok = () => writer.submit(async (trx) => ({ result: (await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "x" })))).seq, publish: [] }));
    const bad = () => writer.submit<number>(async () => {
      throw new AppError(ErrorCode.Forbidden, "no");
    });
    const results = await Promise.allSettled([ok(), bad(), ok()]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const room = await store.db.selectFrom("rooms").select("last_seq").where("id", "=", "r").executeTakeFirstOrThrow();
    expect(room.last_seq).toBe(2);
  });

  it("rolls back a batch hit by an unexpected error and retries its works one by one", async () => {
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined);
    const ok = () => writer.submit(async (trx) => ({ result: (await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "x" })))).seq, publish: [] }));
    const broken = () => writer.submit<number>(async (trx) => {
      await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "y" })));
      throw new Error("disk on fire");
    });
    const results = await Promise.allSettled([ok(), broken(), ok()]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    // The broken work's seq was rolled back: no gap.
    const seqs = (await store.db.selectFrom("room_events").select("seq").where("room_id", "=", "r").orderBy("seq").execute()).map((r) => r.seq);
    expect(seqs).toEqual([1, 2]);
  });
});

describe("historyPage", () => {
  it("reads nothing past the durable head it is given", async () => {
    for (let seq = 1; seq <= 3; seq++) {
      await store.db.insertInto("messages").values({ id: `m${seq}`, room_id: "r", seq, author_id: "u", body: `b${seq}`, client_id: null, created_at: nowIso() }).execute();
    }
    const all = await historyPage(store.db, "r", { limit: 10 });
    expect(all.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    const capped = await historyPage(store.db, "r", { limit: 10, upTo: 2 });
    expect(capped.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect((await historyPage(store.db, "r", { limit: 10, after: 1, upTo: 2 })).messages.map((m) => m.seq)).toEqual([2]);
    expect((await historyPage(store.db, "r", { limit: 10, upTo: MAX_SEQ })).messages).toHaveLength(3);
  });
});

describe("frameTexts", () => {
  it("frames several texts back to back, byte for byte as framed one at a time", () => {
    // Lengths on each side of RFC 6455's 7-bit, 16-bit and 64-bit length forms.
    const texts = ["a", "é".repeat(70), "x".repeat(125), "y".repeat(126), "z".repeat(65_535), "w".repeat(65_536)];
    const one = frameTexts(texts);
    expect(one.equals(Buffer.concat(texts.map(frameText)))).toBe(true);
    expect(frameTexts([]).length).toBe(0);
  });
});
