import { afterEach, describe, expect, it, vi } from "vitest";
import pino from "pino";
import { Writable } from "node:stream";
import type { Bus, BusEnvelope } from "@server/bus/bus.js";
import { ClusterMembership } from "@server/bus/nodes.js";
import { ClusterPresenceStore } from "@server/presence/cluster.js";
import { RemoteTypists } from "@server/presence/typing-cluster.js";

/**
 * Presence and typing across nodes, without Redis: a fake network of buses
 * that behaves like RedisBus (local delivery at once; the others get each
 * envelope tagged with its node, after the current turn), and a clock the
 * test moves.
 */
class Network {
  readonly buses = new Map<string, NodeBus>();
  /** A partitioned node sends and receives nothing (its Redis is unreachable, or it died). */
  readonly cut = new Set<string>();
  bus(nodeId: string): NodeBus {
    const b = new NodeBus(nodeId, this);
    this.buses.set(nodeId, b);
    return b;
  }
}

class NodeBus implements Bus {
  readonly handlers = new Set<(e: BusEnvelope) => void>();
  constructor(
    readonly nodeId: string,
    private readonly net: Network,
  ) {}
  publish(e: BusEnvelope): void {
    this.deliverLocally(e);
    if (this.net.cut.has(this.nodeId)) return;
    for (const [id, other] of this.net.buses) {
      if (id !== this.nodeId && !this.net.cut.has(id)) queueMicrotask(() => other.deliverLocally({ ...e, from: this.nodeId }));
    }
  }
  deliverLocally(e: BusEnvelope): void {
    for (const h of this.handlers) h(e);
  }
  subscribe(h: (e: BusEnvelope) => void): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }
  async close(): Promise<void> {}
}

const log = pino({ level: "silent" });
const settle = async () => {
  // Gossip is flushed in a setImmediate; deliveries are microtasks.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

describe("ClusterPresenceStore and ClusterMembership", () => {
  let now = 1_000_000;
  const clock = () => now;
  afterEach(() => vi.useRealTimers());

  const beat = (n: { membership: ClusterMembership }) => (n.membership as unknown as { beat(): void }).beat();

  function node(net: Network, id: string) {
    const bus = net.bus(id);
    const membership = new ClusterMembership(id, bus, 3_000, log, clock);
    const store = new ClusterPresenceStore(bus, membership, clock);
    const lost: string[][] = [];
    store.attach({ lostWithNode: (ids) => lost.push(ids), announcedElsewhere: () => undefined });
    return { bus, membership, store, lost };
  }

  it("a user's status is the most present over every node's sockets", async () => {
    const net = new Network();
    const a = node(net, "a");
    const b = node(net, "b");
    a.store.connect("u", "c1");
    await settle();
    expect(b.store.status("u")).toBe("online");
    b.store.connect("u", "c2");
    a.store.setActivity("u", "c1", "idle");
    await settle();
    expect(a.store.status("u")).toBe("online"); // c2 on b is active
    b.store.setActivity("u", "c2", "idle");
    await settle();
    expect(a.store.status("u")).toBe("away");
    a.store.disconnect("u", "c1", now);
    b.store.disconnect("u", "c2", now);
    await settle();
    expect([a.store.status("u"), b.store.status("u")]).toEqual(["offline", "offline"]);
    a.membership.close();
    b.membership.close();
  });

  it("a node that starts later learns the others' users when it says hello", async () => {
    const net = new Network();
    const a = node(net, "a");
    a.store.connect("u", "c1");
    await settle();
    const c = node(net, "c");
    expect(c.store.status("u")).toBe("offline");
    c.membership.hello();
    await settle();
    expect(c.store.status("u")).toBe("online");
  });

  it("a node silent past the timeout is dropped: its users go offline, the leader (lowest id) is told, others are not", async () => {
    const net = new Network();
    const a = node(net, "a");
    const b = node(net, "b");
    const z = node(net, "z");
    for (const n of [a, b, z]) n.membership.hello();
    await settle();
    z.store.connect("u", "c1");
    await settle();
    expect(a.store.status("u")).toBe("online");
    expect(a.membership.isLeader()).toBe(true);
    expect(b.membership.isLeader()).toBe(false);
    // z dies without a word; a and b keep beating, once a second (timeout 3 s).
    net.cut.add("z");
    for (let i = 0; i < 4; i++) {
      now += 900;
      beat(a);
      await settle(); // b hears a's beat before it checks who fell silent
      beat(b);
      await settle();
    }
    expect(a.store.status("u")).toBe("offline");
    expect(a.store.lastSeen("u")).toBe(now);
    expect(a.lost).toEqual([["u"]]);
    expect(b.lost).toEqual([]);
  });

  it("while its own bus is down a node declares no one dead, and counts everyone as just heard when it is back", async () => {
    const net = new Network();
    const a = node(net, "a");
    const b = node(net, "b");
    a.membership.hello();
    b.membership.hello();
    await settle();
    b.store.connect("u", "c1");
    await settle();
    a.membership.setBusUp(false);
    for (let i = 0; i < 10; i++) {
      now += 900;
      beat(a);
    }
    expect(a.store.status("u")).toBe("online");
    a.membership.setBusUp(true);
    beat(a);
    expect(a.membership.peers()).toEqual(["b"]);
  });

  it("a node whose own event loop stalled declares no one dead; one taken for dead that speaks again is asked for its presence", async () => {
    const net = new Network();
    const a = node(net, "a");
    const b = node(net, "b");
    a.membership.hello();
    b.membership.hello();
    await settle();
    b.store.connect("u", "c1");
    await settle();
    // a stalls for 10 s: its next beat comes late, and b's beats are still unread.
    now += 10_000;
    beat(a);
    expect(a.membership.peers()).toEqual(["b"]);
    expect(a.store.status("u")).toBe("online");
    // b stalls instead: a, beating on time, takes it for dead and forgets its users...
    for (let i = 0; i < 4; i++) {
      now += 900;
      beat(a);
    }
    expect(a.store.status("u")).toBe("offline");
    // ...until b speaks again: a says hello, b tells its presence again.
    now += 900;
    beat(b);
    await settle();
    expect(a.membership.peers()).toEqual(["b"]);
    expect(a.store.status("u")).toBe("online");
  });

  it("a goodbye drops the node at once; its remote typists are stopped on this node's sockets", async () => {
    const net = new Network();
    const a = node(net, "a");
    const b = node(net, "b");
    const typists = new RemoteTypists(a.bus, a.membership);
    const local: BusEnvelope[] = [];
    a.bus.subscribe((e) => local.push(e));
    b.bus.publish({ kind: "room.ephemeral", roomId: "r", frame: "{}", exceptUserId: "u", typing: { userId: "u", state: "start" } });
    b.bus.publish({ kind: "room.ephemeral", roomId: "r2", frame: "{}", exceptUserId: "v", typing: { userId: "v", state: "start" } });
    b.bus.publish({ kind: "room.ephemeral", roomId: "r2", frame: "{}", exceptUserId: "v", typing: { userId: "v", state: "stop" } });
    await settle();
    expect(typists.size).toBe(1);
    local.length = 0;
    b.membership.close();
    await settle();
    const stops = local.filter((e) => e.kind === "room.ephemeral" && e.from === undefined);
    expect(stops).toEqual([{ kind: "room.ephemeral", roomId: "r", exceptUserId: "u", frame: JSON.stringify({ type: "typing.updated", roomId: "r", userId: "u", state: "stop" }) }]);
    expect(typists.size).toBe(0);
    expect(a.membership.peers()).toEqual([]);
  });
});

describe("ClusterMembership's log lines", () => {
  it("name the node that wrote them once (its `node` key) and the other node as `peer`", async () => {
    let text = "";
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    // As app.ts makes it: every line of a node carries its own id as `node`.
    const nodeLog = pino({ level: "info" }, stream).child({ node: "a" });
    const net = new Network();
    const a = new ClusterMembership("a", net.bus("a"), 3_000, nodeLog);
    const b = new ClusterMembership("b", net.bus("b"), 3_000, pino({ level: "silent" }));
    b.hello();
    await settle();
    b.close();
    await settle();
    const lines = text.split("\n").filter(Boolean);
    const joined = lines.find((l) => l.includes("node joined the cluster"));
    const left = lines.find((l) => l.includes("node left the cluster"));
    for (const line of [joined, left]) {
      expect(line).toBeDefined();
      // JSON.parse keeps the last of two equal keys: a second "node" would hide who wrote the line.
      expect(line!.match(/"node":/g)).toHaveLength(1);
      expect(JSON.parse(line!)).toMatchObject({ node: "a", peer: "b" });
    }
    a.close();
  });
});
