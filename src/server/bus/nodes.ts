import type { Logger } from "pino";
import type { Bus, BusEnvelope } from "./bus.js";

/** What the cluster's other parts hear about nodes coming and going. */
export interface MembershipListener {
  /** A node said hello (it started, or its bus came back): it knows nothing of ours yet. */
  onHello?(nodeId: string): void;
  /** A node left (goodbye) or fell silent for longer than the node timeout. */
  onDown?(nodeId: string): void;
}

/**
 * Which nodes are alive, from heartbeats on the bus (no state in Redis:
 * a Redis restart loses nothing of it). Every node publishes a beat every
 * `timeoutMs / 3`; any envelope from a node counts as one. A node not heard
 * for `timeoutMs` is down: what it held (presence, typing) is taken back by
 * the survivors, so a node killed without a word leaves no one shown online
 * or typing for longer than `timeoutMs` plus one beat (plus the presence
 * grace, for offline). While this node's own bus is down it hears no one
 * and declares no one down; when it is back every node counts as just heard.
 */
export class ClusterMembership {
  private readonly lastHeard = new Map<string, number>();
  private readonly listeners: MembershipListener[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private busUp = true;
  private readonly beatMs: number;
  /** When this node last beat (epoch ms): a long gap means this node, not the others, was away. */
  private lastBeatAt: number;
  /** When this node last said hello (epoch ms). */
  private helloAt = -Infinity;

  constructor(
    readonly nodeId: string,
    private readonly bus: Bus,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = bus.subscribe((e) => this.onEnvelope(e));
    this.beatMs = Math.max(50, Math.floor(timeoutMs / 3));
    this.lastBeatAt = now();
    this.timer = setInterval(() => this.beat(), this.beatMs);
    this.timer.unref();
  }

  listen(listener: MembershipListener): void {
    this.listeners.push(listener);
  }

  /** Tells the cluster this node is here (at start, and when its bus is back). */
  hello(): void {
    this.helloAt = this.now();
    this.bus.publish({ kind: "node.beat", node: this.nodeId, state: "hello" });
  }

  /** Whether this node should act for the cluster on a dead node's leftovers: the lowest live id. */
  isLeader(): boolean {
    for (const id of this.lastHeard.keys()) if (id < this.nodeId) return false;
    return true;
  }

  /** The other nodes heard within the timeout. */
  peers(): string[] {
    return [...this.lastHeard.keys()];
  }

  /** The bus went down (true) or came back (false): silence meanwhile proves nothing. */
  setBusUp(up: boolean): void {
    if (up && !this.busUp) {
      const now = this.now();
      for (const id of this.lastHeard.keys()) this.lastHeard.set(id, now);
    }
    this.busUp = up;
  }

  /** Says goodbye, so the others take back this node's users at once rather than after the timeout. */
  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    this.bus.publish({ kind: "node.beat", node: this.nodeId, state: "down" });
  }

  private onEnvelope(e: BusEnvelope): void {
    const from = e.from;
    if (from === undefined || from === this.nodeId) return;
    if (e.kind === "node.beat" && e.state === "down") {
      this.down(from, "goodbye");
      return;
    }
    const known = this.lastHeard.has(from);
    const now = this.now();
    this.lastHeard.set(from, now);
    const hello = e.kind === "node.beat" && e.state === "hello";
    if (!known) {
      this.log.info({ peer: from }, "node joined the cluster");
      // Heard again after being taken for dead (it stalled, or we did): what it holds was forgotten here.
      // A hello makes every node, it included, tell its presence again; not when ours is recent (a start).
      if (!hello && now - this.helloAt > this.timeoutMs) this.hello();
    }
    if (hello) for (const l of this.listeners) l.onHello?.(from);
  }

  private beat(): void {
    this.bus.publish({ kind: "node.beat", node: this.nodeId, state: "alive" });
    const now = this.now();
    const away = now - this.lastBeatAt > 2 * this.beatMs;
    this.lastBeatAt = now;
    // This node's own event loop stalled (or its bus is down): the others' beats may be waiting unread,
    // so their silence proves nothing this time.
    if (!this.busUp || away) {
      for (const id of this.lastHeard.keys()) this.lastHeard.set(id, now);
      return;
    }
    for (const [id, at] of this.lastHeard) if (now - at > this.timeoutMs) this.down(id, "silent");
  }

  private down(nodeId: string, why: "goodbye" | "silent"): void {
    if (!this.lastHeard.delete(nodeId)) return;
    this.log.warn({ peer: nodeId, why }, "node left the cluster");
    for (const l of this.listeners) l.onDown?.(nodeId);
  }
}
