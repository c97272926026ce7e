import { describe, expect, it } from "vitest";
import { MemoryPresenceStore } from "@server/presence/store.js";
import { PresenceService } from "@server/presence/service.js";
import { TYPING_FANOUT_INTERVAL_MS, TypingService, isTypingFrame, type TypingSocket } from "@server/presence/typing.js";
import { TypingBudget } from "@server/realtime/rate-limit.js";
import type { Clock } from "@server/presence/clock.js";
import type { Bus, BusEnvelope } from "@server/bus/bus.js";
import type { Deps } from "@server/deps.js";
import type { Config } from "@server/config.js";
import { AppError } from "@server/errors.js";
import { ErrorCode } from "@shared/protocol/errors.js";

/** A clock that moves only when told: timers fire in due order inside `advance`. */
class ManualClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { due: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { due: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers.entries()].filter(([, x]) => x.due <= end).sort((a, b) => a[1].due - b[1].due)[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].due;
      next[1].fn();
    }
    this.t = end;
  }
}

class RecordingBus implements Bus {
  readonly published: BusEnvelope[] = [];
  publish(e: BusEnvelope): void {
    this.published.push(e);
  }
  deliverLocally(e: BusEnvelope): void {
    this.published.push(e);
  }
  subscribe(): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

describe("MemoryPresenceStore (most present wins)", () => {
  it("aggregates a user's sockets: any active → online, all idle → away, none → offline", () => {
    const s = new MemoryPresenceStore();
    expect(s.status("u")).toBe("offline");
    expect(s.connect("u", "c1")).toBe("online");
    expect(s.connect("u", "c2")).toBe("online");
    expect(s.setActivity("u", "c1", "idle")).toBe("online"); // c2 still active
    expect(s.setActivity("u", "c2", "idle")).toBe("away");
    expect(s.setActivity("u", "c1", "active")).toBe("online");
    expect(s.disconnect("u", "c1", 5)).toBe("away"); // c2 idle remains
    expect(s.lastSeen("u")).toBeNull();
    expect(s.disconnect("u", "c2", 7)).toBe("offline");
    expect(s.lastSeen("u")).toBe(7);
  });

  it("ignores unknown sockets and repeated disconnects", () => {
    const s = new MemoryPresenceStore();
    expect(s.setActivity("u", "nope", "idle")).toBe("offline");
    s.connect("u", "c1");
    expect(s.disconnect("u", "other", 1)).toBe("online");
    expect(s.disconnect("u", "c1", 2)).toBe("offline");
    expect(s.disconnect("u", "c1", 3)).toBe("offline");
    expect(s.lastSeen("u")).toBe(2); // the repeat did not move it
  });
});

/** A stand-in database: co-members of anyone are "peer". */
function fakeDeps(bus: Bus, config: Partial<Config>): Pick<Deps, "store" | "bus" | "log" | "config"> {
  const chain = {
    innerJoin: () => chain,
    select: () => chain,
    distinct: () => chain,
    where: () => chain,
    execute: async () => [{ user_id: "peer" }],
  };
  const db = { selectFrom: () => chain };
  const log = { warn: () => {} };
  return { store: { db } as unknown as Deps["store"], bus, log: log as unknown as Deps["log"], config: config as Config };
}

describe("PresenceService debounce", () => {
  it("does not announce offline for a reconnect within the grace, and announces it after", async () => {
    const bus = new RecordingBus();
    const clock = new ManualClock();
    const svc = new PresenceService(fakeDeps(bus, { presenceOfflineGraceMs: 5_000 }), new MemoryPresenceStore(), clock);
    const statuses = () => bus.published.map((e) => (e.kind === "users" ? (JSON.parse(e.frame) as { status: string }).status : e.kind));
    svc.connected("u", "c1");
    clock.advance(0);
    await Promise.resolve();
    await Promise.resolve();
    expect(statuses()).toEqual(["online"]);
    svc.disconnected("u", "c1");
    clock.advance(1_000);
    svc.connected("u", "c2"); // a reload
    clock.advance(10_000);
    await new Promise((r) => setImmediate(r));
    expect(statuses()).toEqual(["online"]);
    svc.disconnected("u", "c2");
    clock.advance(4_999);
    await new Promise((r) => setImmediate(r));
    expect(statuses()).toEqual(["online"]);
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    expect(statuses()).toEqual(["online", "offline"]);
  });
});

/** Turns the event loop until `test` holds (the test's timeout is the safety net). */
const until = async (test: () => boolean) => {
  while (!test()) await new Promise((r) => setTimeout(r, 1));
};

/** A stand-in membership check: who is a member of which room, changed by the test; a non-member gets not_found as commands do. */
class Memberships {
  readonly of = new Map<string, Set<string>>();
  constructor(entries: [string, string][]) {
    for (const [roomId, userId] of entries) this.add(roomId, userId);
  }
  add(roomId: string, userId: string): void {
    if (!this.of.has(roomId)) this.of.set(roomId, new Set());
    this.of.get(roomId)!.add(userId);
  }
  /** The check as TypingService calls it. */
  readonly check = async (userId: string, roomId: string): Promise<void> => {
    if (!this.of.get(roomId)?.has(userId)) throw new AppError(ErrorCode.NotFound, "No such room.");
  };
}

describe("TypingService expiry and throttle", () => {
  /** A socket; `rooms` is the socket's own (cached) subscriptions, which the service must not trust. */
  const socket = (id: string, userId: string, rooms: string[]): TypingSocket => {
    const conn = { id, actor: { userId, via: "token" as const, credentialHash: "h", csrfToken: null, expiresAt: null }, rooms: new Map(rooms.map((r) => [r, null])) };
    return conn;
  };
  const members = () => new Memberships([["r", "alice"]]);
  const states = (bus: RecordingBus) => bus.published.map((e) => (e.kind === "room.ephemeral" ? (JSON.parse(e.frame) as { state: string }).state : e.kind));

  it("stops a start after the TTL unless refreshed", async () => {
    const bus = new RecordingBus();
    const clock = new ManualClock();
    const typing = new TypingService(fakeDeps(bus, { typingTtlMs: 6_000 }), clock, members().check);
    const a = socket("c1", "alice", ["r"]);
    await typing.signal(a, "r", "start");
    expect(states(bus)).toEqual(["start"]);
    expect(bus.published[0]).toMatchObject({ kind: "room.ephemeral", roomId: "r", exceptUserId: "alice" });
    clock.advance(3_000);
    await typing.signal(a, "r", "start"); // refresh: no new fan-out
    clock.advance(5_999);
    expect(states(bus)).toEqual(["start"]);
    clock.advance(1);
    expect(states(bus)).toEqual(["start", "stop"]);
    clock.advance(TYPING_FANOUT_INTERVAL_MS);
    expect(typing.size).toBe(0); // forgotten once its throttle window is over
  });

  it("fans out at most one start per user and room per interval; a disconnect stops it", async () => {
    const bus = new RecordingBus();
    const clock = new ManualClock();
    const typing = new TypingService(fakeDeps(bus, { typingTtlMs: 6_000 }), clock, members().check);
    const a = socket("c1", "alice", ["r"]);
    for (let i = 0; i < 50; i++) await typing.signal(a, "r", i % 2 === 0 ? "start" : "stop");
    expect(states(bus)).toEqual(["start", "stop"]);
    clock.advance(TYPING_FANOUT_INTERVAL_MS);
    await typing.signal(a, "r", "start");
    expect(states(bus)).toEqual(["start", "stop", "start"]);
    typing.disconnected("c1");
    typing.disconnected("c1");
    expect(states(bus)).toEqual(["start", "stop", "start", "stop"]);
  });

  it("checks membership on every signal, not the socket's rooms: a member who left is refused with the commands' code, and nothing fans out", async () => {
    const bus = new RecordingBus();
    const clock = new ManualClock();
    const m = members();
    const typing = new TypingService(fakeDeps(bus, { typingTtlMs: 6_000 }), clock, m.check);
    // The socket still lists the room: its leave is not heard yet (another node's, or not yet published).
    const a = socket("c1", "alice", ["r"]);
    await typing.signal(a, "r", "start");
    expect(states(bus)).toEqual(["start"]);
    m.of.get("r")!.delete("alice");
    typing.left("r", "alice");
    expect(states(bus)).toEqual(["start", "stop"]);
    clock.advance(TYPING_FANOUT_INTERVAL_MS);
    await expect(typing.signal(a, "r", "start")).rejects.toMatchObject({ code: "not_found" });
    await expect(typing.signal(a, "r", "stop")).rejects.toMatchObject({ code: "not_found" });
    expect(states(bus)).toEqual(["start", "stop"]);
  });

  it("applies one user's signals in a room in arrival order, whichever membership check answers first", async () => {
    const bus = new RecordingBus();
    const clock = new ManualClock();
    const releases: (() => void)[] = [];
    // Each check waits until the test releases it, in any order.
    const check = async (userId: string, roomId: string) => {
      await new Promise<void>((r) => releases.push(r));
      if (roomId !== "r" || userId !== "alice") throw new AppError(ErrorCode.NotFound, "No such room.");
    };
    const typing = new TypingService(fakeDeps(bus, { typingTtlMs: 6_000 }), clock, check);
    const a = socket("c1", "alice", []);
    const start = typing.signal(a, "r", "start");
    const stop = typing.signal(a, "r", "stop");
    await until(() => releases.length === 2);
    releases[1]!(); // the stop's check answers first
    await new Promise((r) => setImmediate(r));
    expect(states(bus)).toEqual([]); // the stop waits for the start
    releases[0]!();
    await Promise.all([start, stop]);
    // The start applies before the stop, though its check answered later: alice is not left shown typing.
    expect(states(bus)).toEqual(["start", "stop"]);
  });
});

describe("typing intake", () => {
  it("recognizes a small typing frame by its head only", () => {
    expect(isTypingFrame(Buffer.from('{"type":"typing","roomId":"r","state":"start"}'), 48)).toBe(true);
    expect(isTypingFrame(Buffer.from('{"type":"typing.x"}'), 20)).toBe(false);
    expect(isTypingFrame(Buffer.from('{"type":"typing"}'), 17)).toBe(false);
    expect(isTypingFrame(Buffer.from('{"type":"message.send"}'), 20)).toBe(false);
    expect(isTypingFrame(Buffer.from('{"type":"typing","roomId":"r"}'), 10_000)).toBe(false);
  });

  it("gives typing its own budget: bursts of 2× per second, then drops", () => {
    let now = 0;
    const budget = new TypingBudget(5, () => now);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (budget.take()) ok++;
    expect(ok).toBe(10);
    now += 1_000;
    ok = 0;
    for (let i = 0; i < 100; i++) if (budget.take()) ok++;
    expect(ok).toBe(5);
  });
});
