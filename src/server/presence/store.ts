import type { PresenceStatus } from "@shared/protocol/frames.js";

/** What one socket says about its user: `active` (input, a visible tab) or `idle`. */
export type Activity = "active" | "idle";

/**
 * Who is connected and how present they are: ephemeral state (DESIGN.md),
 * behind an interface so that a Redis implementation can replace the
 * in-memory one when several nodes share users. Aggregation rule: a user's
 * sockets count once and the most present one wins (any active socket →
 * online; connected but every socket idle → away; no socket → offline).
 */
export interface PresenceStore {
  /** Registers a socket (active) and returns the user's status after it. */
  connect(userId: string, connId: string): PresenceStatus;
  /** Records a socket's activity; a socket not registered changes nothing. Returns the user's status. */
  setActivity(userId: string, connId: string, activity: Activity): PresenceStatus;
  /** Removes a socket (unknown: no change); the last one sets lastSeenAt to `nowMs`. Returns the status after. */
  disconnect(userId: string, connId: string, nowMs: number): PresenceStatus;
  /** The user's aggregated status. */
  status(userId: string): PresenceStatus;
  /** When the user's last socket closed (epoch ms), or null: never seen offline by this store. */
  lastSeen(userId: string): number | null;
  /**
   * Many nodes only (presence/cluster.ts): `announced` tells the other
   * nodes what this one announced; `attach` is how the store tells the
   * service of changes that came from other nodes.
   */
  announced?(userId: string, status: PresenceStatus, at: number): void;
  attach?(service: PresenceStoreListener): void;
}

/** What a shared PresenceStore tells the PresenceService. */
export interface PresenceStoreListener {
  /** Users whose status another node's death changed; only one node (the leader) announces them. */
  lostWithNode(userIds: string[]): void;
  /** Another node announced a user's status to their co-members. */
  announcedElsewhere(userId: string, status: PresenceStatus, at: number): void;
}

/** The one-node PresenceStore: a map of users to their sockets' activity. Memory: O(open sockets + users seen). */
export class MemoryPresenceStore implements PresenceStore {
  private readonly sockets = new Map<string, Map<string, Activity>>();
  /** Since this node started; PresenceService also writes it to users.last_seen_at on each announced offline, and reads that after a restart. */
  private readonly seen = new Map<string, number>();

  connect(userId: string, connId: string): PresenceStatus {
    let conns = this.sockets.get(userId);
    if (!conns) this.sockets.set(userId, (conns = new Map()));
    conns.set(connId, "active");
    return this.status(userId);
  }

  setActivity(userId: string, connId: string, activity: Activity): PresenceStatus {
    const conns = this.sockets.get(userId);
    if (conns?.has(connId)) conns.set(connId, activity);
    return this.status(userId);
  }

  disconnect(userId: string, connId: string, nowMs: number): PresenceStatus {
    const conns = this.sockets.get(userId);
    if (conns?.delete(connId) && conns.size === 0) {
      this.sockets.delete(userId);
      this.seen.set(userId, nowMs);
    }
    return this.status(userId);
  }

  status(userId: string): PresenceStatus {
    const conns = this.sockets.get(userId);
    if (!conns || conns.size === 0) return "offline";
    for (const a of conns.values()) if (a === "active") return "online";
    return "away";
  }

  lastSeen(userId: string): number | null {
    return this.seen.get(userId) ?? null;
  }
}
