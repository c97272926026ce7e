import type { Kysely } from "kysely";
import type { Deps } from "../deps.js";
import type { Database } from "../store/schema.js";
import type { Presence, PresenceStatus, PresenceUpdatedEvent } from "@shared/protocol/frames.js";
import { MemoryPresenceStore, type Activity, type PresenceStore } from "./store.js";
import { systemClock, type Clock } from "./clock.js";

/** At most one online/away announcement per user per this many ms: a client flapping active/idle costs one query a second. */
const MIN_ANNOUNCE_INTERVAL_MS = 1_000;

/**
 * Presence: online / away / offline per user, from its live sockets
 * (PresenceStore), announced as `presence.updated` to the users who share a
 * room with that user, and only to them.
 *
 * Cost: an announcement runs one query (the distinct co-members, however
 * many rooms) and publishes one `users` envelope, framed once by the gateway.
 * Flapping is debounced: an offline is announced only after
 * `presenceOfflineGraceMs` without a socket (a reload or a reconnect says
 * nothing), and online↔away at most once a second per user. Each user has
 * at most one pending announcement, which reads the state when it runs.
 */
export class PresenceService {
  /** What the co-members were last told, and when (epoch ms); absent = offline. */
  private readonly announced = new Map<string, { status: PresenceStatus; at: number }>();
  private readonly pending = new Map<string, unknown>();
  private readonly db: Kysely<Database>;
  private readonly graceMs: number;
  private readonly bus: Deps["bus"];
  private readonly log: Deps["log"];

  constructor(
    deps: Pick<Deps, "store" | "bus" | "log" | "config">,
    private readonly store: PresenceStore = new MemoryPresenceStore(),
    private readonly clock: Clock = systemClock,
  ) {
    this.db = deps.store.db;
    this.bus = deps.bus;
    this.log = deps.log;
    this.graceMs = deps.config.presenceOfflineGraceMs;
  }

  /** A socket of `userId` is open (after its `ready`): it counts as active. */
  connected(userId: string, connId: string): void {
    this.store.connect(userId, connId);
    this.changed(userId);
  }

  /** A socket reports its user active or idle (`presence.set`). */
  setActivity(userId: string, connId: string, activity: Activity): void {
    this.store.setActivity(userId, connId, activity);
    this.changed(userId);
  }

  /** A socket closed (idempotent). */
  disconnected(userId: string, connId: string): void {
    this.store.disconnect(userId, connId, this.clock.now());
    this.changed(userId);
  }

  /**
   * The presence of everyone who shares a room with `userId` and is online,
   * away, or known offline with a last-seen time (one query). For `ready`.
   */
  async snapshotFor(userId: string): Promise<Record<string, Presence>> {
    const out: Record<string, Presence> = {};
    for (const id of await this.coMembers(userId)) {
      const p = this.current(id);
      if (p.status !== "offline" || p.lastSeenAt !== null) out[id] = p;
    }
    return out;
  }

  /**
   * The presence of those of `userIds` who share a room with `callerId`
   * (one query); the others are left out, whatever their status.
   */
  async presenceOf(callerId: string, userIds: readonly string[]): Promise<Record<string, Presence>> {
    const wanted = [...new Set(userIds)].filter((id) => id !== callerId);
    const out: Record<string, Presence> = {};
    if (wanted.length === 0) return out;
    const rows = await this.db
      .selectFrom("room_members as m")
      .select("m.user_id")
      .distinct()
      .where("m.user_id", "in", wanted)
      .where("m.room_id", "in", (eb) => eb.selectFrom("room_members as mine").select("mine.room_id").where("mine.user_id", "=", callerId))
      .execute();
    for (const r of rows) out[r.user_id] = this.current(r.user_id);
    return out;
  }

  /** Cancels pending announcements (shutdown). */
  close(): void {
    for (const t of this.pending.values()) this.clock.clearTimeout(t);
    this.pending.clear();
  }

  private current(userId: string): Presence {
    const status = this.store.status(userId);
    const seen = status === "offline" ? this.store.lastSeen(userId) : null;
    return { status, lastSeenAt: seen === null ? null : new Date(seen).toISOString() };
  }

  private changed(userId: string): void {
    if (this.pending.has(userId)) return; // the pending run reads the state when it fires
    const status = this.store.status(userId);
    const last = this.announced.get(userId);
    if (status === (last?.status ?? "offline")) return;
    const delay = status === "offline" ? this.graceMs : Math.max(0, (last?.at ?? -Infinity) + MIN_ANNOUNCE_INTERVAL_MS - this.clock.now());
    this.schedule(userId, delay);
  }

  private schedule(userId: string, delayMs: number): void {
    this.pending.set(userId, this.clock.setTimeout(() => this.fire(userId), delayMs));
  }

  private fire(userId: string): void {
    this.pending.delete(userId);
    const now = this.clock.now();
    const p = this.current(userId);
    if (p.status === (this.announced.get(userId)?.status ?? "offline")) return;
    if (p.status === "offline") {
      // Became offline after an online/away announcement was scheduled: still owe it the grace.
      const since = this.store.lastSeen(userId) ?? now;
      if (now - since < this.graceMs) return this.schedule(userId, since + this.graceMs - now);
      this.announced.delete(userId);
    } else {
      this.announced.set(userId, { status: p.status, at: now });
    }
    const event: PresenceUpdatedEvent = { type: "presence.updated", userId, ...p };
    const frame = JSON.stringify(event);
    this.coMembers(userId).then(
      (userIds) => {
        if (userIds.length > 0) this.bus.publish({ kind: "users", userIds, frame });
      },
      (err: unknown) => this.log.warn({ err, userId }, "presence announcement failed"),
    );
  }

  /** Users who share at least one room with `userId` (not `userId`): one query however many rooms. */
  private async coMembers(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom("room_members as m")
      .select("m.user_id")
      .distinct()
      .where("m.room_id", "in", (eb) => eb.selectFrom("room_members as mine").select("mine.room_id").where("mine.user_id", "=", userId))
      .where("m.user_id", "!=", userId)
      .execute();
    return rows.map((r) => r.user_id);
  }
}
