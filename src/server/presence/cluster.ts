import type { PresenceStatus } from "@shared/protocol/frames.js";
import type { Bus, BusEnvelope, PresenceGossipEnvelope } from "../bus/bus.js";
import type { ClusterMembership } from "../bus/nodes.js";
import { MemoryPresenceStore, type Activity, type PresenceStore, type PresenceStoreListener } from "./store.js";

/** Gossip entries per envelope: a node answering a hello with 100,000 users sends 100 envelopes, not one huge one. */
const GOSSIP_CHUNK = 1_000;

/** A user's sockets on one node, folded into one word: any active → active; all idle → idle; none → null. */
function fold(status: PresenceStatus): Activity | null {
  return status === "online" ? "active" : status === "away" ? "idle" : null;
}

/**
 * Presence across nodes. Each node knows its own sockets (a
 * MemoryPresenceStore) and, from gossip on the bus, how present each user
 * is on every other node (one word per user and node); a user's status is
 * the most present of all. Changes are gossiped once per user per event-loop
 * turn, only when the node's word for the user changed. Nothing lives in
 * Redis: a node that starts (or whose bus comes back) says hello and the
 * others answer with their words; a node that dies is forgotten when the
 * membership says so (bus/nodes.ts), and its users then count as gone
 * from it, with their last-seen time set to that moment.
 */
export class ClusterPresenceStore implements PresenceStore {
  private readonly local = new MemoryPresenceStore();
  /** userId → nodeId → that node's word for the user. */
  private readonly remote = new Map<string, Map<string, Activity>>();
  /** Last seen (epoch ms) of users who went offline because another node lost them. */
  private readonly remoteSeen = new Map<string, number>();
  /** The word last gossiped per user with sockets here (absent: null). */
  private readonly told = new Map<string, Activity>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private readonly unsubscribe: () => void;
  private listener: PresenceStoreListener | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly membership: ClusterMembership,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = bus.subscribe((e) => this.onEnvelope(e));
    membership.listen({
      onHello: () => this.tellAll(),
      onDown: (nodeId) => this.forgetNode(nodeId),
    });
  }

  connect(userId: string, connId: string): PresenceStatus {
    this.local.connect(userId, connId);
    this.touch(userId);
    return this.status(userId);
  }

  setActivity(userId: string, connId: string, activity: Activity): PresenceStatus {
    this.local.setActivity(userId, connId, activity);
    this.touch(userId);
    return this.status(userId);
  }

  disconnect(userId: string, connId: string, nowMs: number): PresenceStatus {
    this.local.disconnect(userId, connId, nowMs);
    this.touch(userId);
    return this.status(userId);
  }

  status(userId: string): PresenceStatus {
    const here = this.local.status(userId);
    if (here === "online") return here;
    let best: PresenceStatus = here;
    for (const word of this.remote.get(userId)?.values() ?? []) {
      if (word === "active") return "online";
      best = "away";
    }
    return best;
  }

  lastSeen(userId: string): number | null {
    const here = this.local.lastSeen(userId);
    const there = this.remoteSeen.get(userId);
    if (there === undefined) return here;
    return here === null ? there : Math.max(here, there);
  }

  attach(listener: PresenceStoreListener): void {
    this.listener = listener;
  }

  announced(userId: string, status: PresenceStatus, at: number): void {
    this.bus.publish({ kind: "presence.gossip", node: this.membership.nodeId, announced: [{ userId, status, at }] });
  }

  close(): void {
    this.unsubscribe();
  }

  private touch(userId: string): void {
    this.dirty.add(userId);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const changed: NonNullable<PresenceGossipEnvelope["activity"]> = [];
    for (const userId of this.dirty) {
      const word = fold(this.local.status(userId));
      if ((this.told.get(userId) ?? null) === word) continue;
      if (word === null) this.told.delete(userId);
      else this.told.set(userId, word);
      changed.push({ userId, activity: word });
    }
    this.dirty.clear();
    this.send(changed);
  }

  /** A node said hello: it knows nothing of this node's users yet. */
  private tellAll(): void {
    this.send([...this.told].map(([userId, activity]) => ({ userId, activity })));
  }

  private send(entries: NonNullable<PresenceGossipEnvelope["activity"]>): void {
    for (let i = 0; i < entries.length; i += GOSSIP_CHUNK) {
      this.bus.publish({ kind: "presence.gossip", node: this.membership.nodeId, activity: entries.slice(i, i + GOSSIP_CHUNK) });
    }
  }

  private onEnvelope(e: BusEnvelope): void {
    if (e.kind !== "presence.gossip" || e.from === undefined) return;
    for (const a of e.announced ?? []) this.listener?.announcedElsewhere(a.userId, a.status, a.at);
    // A change gossiped by the node where it happened is announced by that node, not here.
    for (const { userId, activity } of e.activity ?? []) {
      const before = this.status(userId);
      let nodes = this.remote.get(userId);
      if (activity === null) {
        nodes?.delete(e.node);
        if (nodes?.size === 0) this.remote.delete(userId);
      } else {
        if (!nodes) this.remote.set(userId, (nodes = new Map()));
        nodes.set(e.node, activity);
      }
      if (before !== "offline" && this.status(userId) === "offline") this.remoteSeen.set(userId, this.now());
    }
  }

  private forgetNode(nodeId: string): void {
    const changed: string[] = [];
    const now = this.now();
    for (const [userId, nodes] of this.remote) {
      if (!nodes.has(nodeId)) continue;
      const before = this.status(userId);
      nodes.delete(nodeId);
      if (nodes.size === 0) this.remote.delete(userId);
      const after = this.status(userId);
      if (after === "offline") this.remoteSeen.set(userId, now);
      if (after !== before) changed.push(userId);
    }
    if (changed.length > 0 && this.membership.isLeader()) this.listener?.lostWithNode(changed);
  }
}
