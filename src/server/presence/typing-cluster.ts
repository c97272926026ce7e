import type { TypingUpdatedEvent } from "@shared/protocol/frames.js";
import type { Bus, BusEnvelope } from "../bus/bus.js";
import type { ClusterMembership } from "../bus/nodes.js";

/**
 * Typing across nodes. A typist's own node stops their indicator (TTL, stop,
 * socket closed: presence/typing.ts) and publishes the stop to every node;
 * but a node that dies publishes nothing. So each node remembers who is
 * typing through which other node, and when the membership says that node
 * is gone (bus/nodes.ts), tells its own sockets those typists stopped: no
 * one is shown typing for longer than the node timeout plus one beat after
 * their node died. Memory: one entry per remote typist typing now.
 */
export class RemoteTypists {
  /** nodeId → "roomId\0userId" → the typist. */
  private readonly byNode = new Map<string, Map<string, { roomId: string; userId: string }>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly bus: Bus,
    membership: ClusterMembership,
  ) {
    this.unsubscribe = bus.subscribe((e) => this.onEnvelope(e));
    membership.listen({ onDown: (nodeId) => this.stopAllOf(nodeId) });
  }

  /** Typists remembered (for tests). */
  get size(): number {
    let n = 0;
    for (const m of this.byNode.values()) n += m.size;
    return n;
  }

  close(): void {
    this.unsubscribe();
    this.byNode.clear();
  }

  private onEnvelope(e: BusEnvelope): void {
    if (e.kind !== "room.ephemeral" || !e.typing || e.from === undefined) return;
    const key = `${e.roomId}\u0000${e.typing.userId}`;
    let typists = this.byNode.get(e.from);
    if (e.typing.state === "start") {
      if (!typists) this.byNode.set(e.from, (typists = new Map()));
      typists.set(key, { roomId: e.roomId, userId: e.typing.userId });
    } else if (typists?.delete(key) && typists.size === 0) {
      this.byNode.delete(e.from);
    }
  }

  private stopAllOf(nodeId: string): void {
    const typists = this.byNode.get(nodeId);
    if (!typists) return;
    this.byNode.delete(nodeId);
    for (const { roomId, userId } of typists.values()) {
      const event: TypingUpdatedEvent = { type: "typing.updated", roomId, userId, state: "stop" };
      this.bus.deliverLocally({ kind: "room.ephemeral", roomId, frame: JSON.stringify(event), exceptUserId: userId });
    }
  }
}
