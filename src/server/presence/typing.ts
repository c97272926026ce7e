import type { Deps, Actor } from "../deps.js";
import type { TypingUpdatedEvent } from "@shared/protocol/frames.js";
import { requireMember } from "../rooms/access.js";
import { systemClock, type Clock } from "./clock.js";

/** At most one `start` fan-out per user per room per this many ms; extra starts are dropped silently. */
export const TYPING_FANOUT_INTERVAL_MS = 1_000;
/** A typing frame is small; a larger frame claiming to be one goes through the ordinary command limit. */
export const TYPING_FRAME_MAX_BYTES = 512;

/** The socket that signals: its id (so that its close ends its typing) and its user. */
export interface TypingSocket {
  readonly id: string;
  readonly actor: Actor;
}

/**
 * The membership check of a typing signal: resolves when `userId` is a
 * member of `roomId` now, else throws the AppError a command gets
 * (rooms/access.ts requireMember, the default; unit tests stand in for it).
 */
export type TypingMembership = (userId: string, roomId: string) => Promise<unknown>;

interface Typist {
  roomId: string;
  userId: string;
  /** The socket that signalled last: its close stops the typing. */
  connId: string;
  typing: boolean;
  /** While typing: when the server stops it unless refreshed (epoch ms). */
  expiresAt: number;
  /** The last `start` fanned out (epoch ms); kept after a stop, for the throttle. */
  startedAt: number;
  timer: unknown;
}

/**
 * Typing indicators: ephemeral (never stored, never replayed, no seq),
 * fanned out through the bus as a `room.ephemeral` envelope to the room's
 * sockets except the typist's own. A `start` lasts `typingTtlMs` unless
 * refreshed; then, on an explicit stop, or when the signalling socket closes,
 * the others get a `stop`. Per user and room: at most one `start` fan-out a
 * second, and a stop only after a start, so a flood fans out ≤ 2 frames/s.
 * Memory: one entry per (user, room) signalled in the last second or typing now.
 */
export class TypingService {
  private readonly typists = new Map<string, Typist>();
  private readonly byConn = new Map<string, Set<string>>();
  /** Per (room, user) with signals being checked: the last one's turn; the next applies after it, in arrival order. */
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly bus: Deps["bus"];
  private readonly ttlMs: number;
  private readonly requireMembership: TypingMembership;

  constructor(
    deps: Pick<Deps, "store" | "bus" | "config">,
    private readonly clock: Clock = systemClock,
    requireMembership?: TypingMembership,
  ) {
    this.bus = deps.bus;
    this.ttlMs = deps.config.typingTtlMs;
    this.requireMembership = requireMembership ?? ((userId, roomId) => requireMember(deps.store.db, userId, roomId));
  }

  /**
   * A `typing` command. Membership is read from the database on every
   * signal, as every command's is (invariant 2), never from the socket's
   * subscriptions: those can lag a leave (one made on another node while the
   * bus between nodes is down, or one not yet published). The checks run at
   * once; signals of one user in one room apply in arrival order, whichever
   * check answers first.
   * @throws AppError not_found (no room, or a private one the caller is not in), forbidden (public, not joined)
   */
  async signal(conn: TypingSocket, roomId: string, state: "start" | "stop"): Promise<void> {
    const userId = conn.actor.userId;
    const key = keyOf(roomId, userId);
    const before = this.pending.get(key);
    const check = this.requireMembership(userId, roomId);
    // Its failure is answered through `turn`; marked handled now, since an earlier turn may still be running.
    check.catch(() => undefined);
    const turn = (before ? before.then(() => check) : check).then(() => this.apply(conn, key, roomId, userId, state));
    const settled = turn.catch(() => undefined);
    this.pending.set(key, settled);
    void settled.then(() => {
      if (this.pending.get(key) === settled) this.pending.delete(key);
    });
    await turn;
  }

  private apply(conn: TypingSocket, key: string, roomId: string, userId: string, state: "start" | "stop"): void {
    const now = this.clock.now();
    let t = this.typists.get(key);
    if (state === "stop") {
      if (t?.typing) this.stop(t);
      return;
    }
    if (t?.typing) {
      t.expiresAt = now + this.ttlMs;
      this.moveTo(t, conn.id);
      return;
    }
    if (t && now - t.startedAt < TYPING_FANOUT_INTERVAL_MS) return; // throttled: dropped silently
    if (!t) {
      t = { roomId, userId, connId: conn.id, typing: false, expiresAt: 0, startedAt: 0, timer: null };
      this.typists.set(key, t);
      this.index(conn.id, key);
    }
    this.moveTo(t, conn.id);
    t.typing = true;
    t.startedAt = now;
    t.expiresAt = now + this.ttlMs;
    this.publish(t, "start");
    this.arm(t);
  }

  /** A socket closed: whatever it was typing stops now (idempotent). */
  disconnected(connId: string): void {
    const keys = this.byConn.get(connId);
    if (!keys) return;
    for (const key of [...keys]) {
      const t = this.typists.get(key);
      if (t?.typing) this.stop(t);
    }
  }

  /** `userId` left `roomId` (or was removed): a typing indicator of theirs there stops now, not at its TTL. */
  left(roomId: string, userId: string): void {
    const t = this.typists.get(keyOf(roomId, userId));
    if (t?.typing) this.stop(t);
  }

  /** Entries held (typing now or throttled): for tests and metrics. */
  get size(): number {
    return this.typists.size;
  }

  /** Cancels every timer (shutdown); nothing is announced. */
  close(): void {
    for (const t of this.typists.values()) if (t.timer !== null) this.clock.clearTimeout(t.timer);
    this.typists.clear();
    this.byConn.clear();
    this.pending.clear();
  }

  private stop(t: Typist): void {
    t.typing = false;
    this.publish(t, "stop");
    this.arm(t);
  }

  /** One timer per entry, at its next deadline: the expiry while typing, else the end of its throttle window (then it is forgotten). */
  private arm(t: Typist): void {
    if (t.timer !== null) this.clock.clearTimeout(t.timer);
    const due = t.typing ? t.expiresAt : t.startedAt + TYPING_FANOUT_INTERVAL_MS;
    t.timer = this.clock.setTimeout(() => this.wake(t), Math.max(0, due - this.clock.now()));
  }

  private wake(t: Typist): void {
    t.timer = null;
    const now = this.clock.now();
    if (t.typing) {
      if (now >= t.expiresAt) this.stop(t);
      else this.arm(t); // refreshed since the timer was set
      return;
    }
    if (now - t.startedAt < TYPING_FANOUT_INTERVAL_MS) return this.arm(t);
    const key = keyOf(t.roomId, t.userId);
    this.typists.delete(key);
    this.unindex(t.connId, key);
  }

  private moveTo(t: Typist, connId: string): void {
    if (t.connId === connId) return;
    const key = keyOf(t.roomId, t.userId);
    this.unindex(t.connId, key);
    t.connId = connId;
    this.index(connId, key);
  }

  private index(connId: string, key: string): void {
    let keys = this.byConn.get(connId);
    if (!keys) this.byConn.set(connId, (keys = new Set()));
    keys.add(key);
  }

  private unindex(connId: string, key: string): void {
    const keys = this.byConn.get(connId);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byConn.delete(connId);
  }

  private publish(t: Typist, state: "start" | "stop"): void {
    const event: TypingUpdatedEvent = { type: "typing.updated", roomId: t.roomId, userId: t.userId, state };
    this.bus.publish({ kind: "room.ephemeral", roomId: t.roomId, frame: JSON.stringify(event), exceptUserId: t.userId, typing: { userId: t.userId, state } });
  }
}

function keyOf(roomId: string, userId: string): string {
  return `${roomId}\u0000${userId}`;
}

/** How a typing command from our clients starts (JSON.stringify: `type` first, no spaces). */
const TYPING_PREFIX = Buffer.from('{"type":"typing",');

/**
 * True when a frame of `bytes` bytes whose head is `head` is a typing
 * command for the typing budget: small, and starting with TYPING_PREFIX.
 * A byte compare, no allocation: it runs on every frame, sends included.
 * Other spellings go through the ordinary command limit; the parsed type is
 * checked again by the gateway.
 */
export function isTypingFrame(head: Buffer, bytes: number): boolean {
  return bytes <= TYPING_FRAME_MAX_BYTES && head.length >= TYPING_PREFIX.length && head.compare(TYPING_PREFIX, 0, TYPING_PREFIX.length, 0, TYPING_PREFIX.length) === 0;
}
