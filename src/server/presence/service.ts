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
 *
 * Last seen: the in-memory store knows when a user's last socket closed on
 * this node since it started; each announced offline also writes it to
 * `users.last_seen_at` (one UPDATE per offline transition, never per
 * message or heartbeat), and the answers for offline users (`ready`,
 * `presence.get`) fall back to that column, read in the same query as the
 * co-members, so a restart does not forget it.
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
    store.attach?.({
      lostWithNode: (userIds) => userIds.forEach((userId) => this.changed(userId)),
      announcedElsewhere: (userId, status, at) => {
        if (status === "offline") this.announced.delete(userId);
        else this.announced.set(userId, { status, at });
      },
    });
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
   * Whether `userId` has a socket open now, on this node or (many nodes)
   * any other: the store's raw state, not what was announced (no offline
   * grace). The notification dispatcher's `connected` (no Web Push then;
   * `@here` counts).
   */
  isConnected(userId: string): boolean {
    return this.store.status(userId) !== "offline";
  }

  /**
   * The presence of everyone who shares a room with `userId` and is online,
   * away, or known offline with a last-seen time (one query). For `ready`.
   */
  async snapshotFor(userId: string): Promise<Record<string, Presence>> {
    const rows = await this.coMembers(userId).execute();
    const out: Record<string, Presence> = {};
    for (const r of rows) {
      const p = this.current(r.user_id, r.last_seen_at);
      if (p.status !== "offline" || p.lastSeenAt !== null) out[r.user_id] = p;
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
    const rows = await this.coMembers(callerId).where("m.user_id", "in", wanted).execute();
    for (const r of rows) out[r.user_id] = this.current(r.user_id, r.last_seen_at);
    return out;
  }

  /** Cancels pending announcements (shutdown). */
  close(): void {
    for (const t of this.pending.values()) this.clock.clearTimeout(t);
    this.pending.clear();
  }

  /**
   * The user's presence now. `storedLastSeen` is `users.last_seen_at` when the
   * caller read it: used only when this node's memory has no last-seen time
   * (a restart), since the memory is at least as recent as what it wrote.
   */
  private current(userId: string, storedLastSeen: string | null = null): Presence {
    const status = this.store.status(userId);
    if (status !== "offline") return { status, lastSeenAt: null };
    const seen = this.store.lastSeen(userId);
    return { status, lastSeenAt: seen === null ? storedLastSeen : new Date(seen).toISOString() };
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
    this.store.announced?.(userId, p.status, now);
    const event: PresenceUpdatedEvent = { type: "presence.updated", userId, ...p };
    const frame = JSON.stringify(event);
    const announce = (): void => {
      this.coMembers(userId).execute().then(
        (rows) => {
          if (rows.length > 0) this.bus.publish({ kind: "users", userIds: rows.map((r) => r.user_id), frame });
        },
        (err: unknown) => this.log.warn({ err, userId }, "presence announcement failed"),
      );
    };
    // An offline is persisted before it is announced: whoever is told "offline" can rely on a restart still knowing lastSeenAt.
    if (p.status === "offline" && p.lastSeenAt !== null) void this.persistLastSeen(userId, p.lastSeenAt).then(announce);
    else announce();
  }

  /**
   * Writes `users.last_seen_at` (one UPDATE). A failure is logged, not
   * thrown: the announcement still goes out, and this node's memory still
   * answers until it restarts.
   */
  private persistLastSeen(userId: string, lastSeenAt: string): Promise<void> {
    // Started inside a `then`: a synchronous throw while building the query is logged like a failed write.
    return Promise.resolve()
      .then(() => this.db.updateTable("users").set({ last_seen_at: lastSeenAt }).where("id", "=", userId).execute())
      .then(
        () => undefined,
        (err: unknown) => this.log.warn({ err, userId }, "presence last-seen write failed"),
      );
  }

  /**
   * Users who share at least one room with `userId` (not `userId`), each once
   * with their stored last-seen time: one query however many rooms. The one
   * co-member query behind `ready`, `presence.get` and announcements.
   */
  private coMembers(userId: string) {
    return this.db
      .selectFrom("room_members as m")
      .innerJoin("users as u", "u.id", "m.user_id")
      .select(["m.user_id", "u.last_seen_at"])
      .distinct()
      .where("m.room_id", "in", (eb) => eb.selectFrom("room_members as mine").select("mine.room_id").where("mine.user_id", "=", userId))
      .where("m.user_id", "!=", userId);
  }
}
