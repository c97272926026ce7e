import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { Bus, BusEnvelope } from "./bus.js";

/** How a node reaches Redis and tells its traffic apart from another installation's. */
export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]` (ioredis syntax). */
  url: string;
  /** Prefix of every channel and key: several installations (or test runs) can share one Redis. */
  keyPrefix: string;
  /** This node's id: its own envelopes come back from Redis and are skipped (they were delivered locally). */
  nodeId: string;
  log: Logger;
  /** Called with each remote envelope's publish-to-receipt lag (ms, wall clocks of two nodes). */
  onLag?: (ms: number) => void;
  /** Called when the subscription was lost (Redis down or unreachable). */
  onLost?: () => void;
  /**
   * Called when the subscription is back after Redis was unreachable:
   * envelopes published meanwhile were lost, and whoever holds state from
   * them (sockets' room streams) must catch up from the database.
   */
  onResync?: () => void;
}

/** What travels on the channel: the envelope, who published it, and when (epoch ms). */
interface Wire {
  n: string;
  t: number;
  e: BusEnvelope;
}

/** ioredis options shared by every connection a node opens to Redis. */
export function redisConnectionOptions(): RedisOptions {
  return {
    // Reconnect forever, backing off to 2 s: Redis coming back must need no operator.
    retryStrategy: (times) => Math.min(50 * times, 2_000),
    // A command while Redis is down fails at once instead of queueing without bound:
    // fan-out lost meanwhile is recovered from the database (onResync), not from memory.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
  };
}

/**
 * The many-node bus: every envelope is delivered to this node's subscribers
 * at once (same turn, as MemoryBus does) and published once on a Redis
 * channel, from which every other node delivers it to theirs. Room events
 * carry their seq, so a node that sees one out of order, or misses one,
 * fills the gap from the event log (realtime/connection.ts), and after an
 * outage `onResync` makes every socket catch up: Redis pub/sub is at most
 * once, the database is the record.
 *
 * One channel for the whole installation: each node filters by the rooms
 * and users its sockets hold (the gateway's indexes), like Socket.IO's Redis
 * adapter. Order: per publisher, as published (one connection).
 */
export class RedisBus implements Bus {
  private readonly handlers = new Set<(envelope: BusEnvelope) => void>();
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  /** The subscription was lost since it was last ready: the next `ready` is a resync. */
  private lost = false;
  private closed = false;

  constructor(private readonly opts: RedisBusOptions) {
    this.channel = `${opts.keyPrefix}bus`;
    this.pub = new Redis(opts.url, { ...redisConnectionOptions(), lazyConnect: true, connectionName: `parley-pub-${opts.nodeId}` });
    this.sub = new Redis(opts.url, { ...redisConnectionOptions(), lazyConnect: true, connectionName: `parley-sub-${opts.nodeId}` });
    for (const [name, conn] of [["publisher", this.pub], ["subscriber", this.sub]] as const) {
      // ioredis emits "error" on every failed reconnect; without a listener Node would throw.
      conn.on("error", (err: Error) => opts.log.warn({ err: err.message, conn: name }, "redis connection error"));
    }
    this.sub.on("close", () => {
      if (this.closed || this.lost) return;
      this.lost = true;
      opts.log.warn("redis subscription lost; live fan-out between nodes waits for it");
      opts.onLost?.();
    });
    this.sub.on("ready", () => {
      if (!this.lost) return;
      this.lost = false;
      opts.log.warn("redis subscription is back: catching up what was published while it was down");
      opts.onResync?.();
    });
    this.sub.on("message", (_channel: string, text: string) => this.receive(text));
  }

  /** Connects both connections and subscribes. @throws the connection error when Redis cannot be reached. */
  async start(): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
    await this.sub.subscribe(this.channel);
  }

  /** True while both connections are ready (for /readyz). */
  get ready(): boolean {
    return this.pub.status === "ready" && this.sub.status === "ready";
  }

  /** The command connection, for node liveness and shared state (bus/nodes.ts, presence/cluster.ts). */
  get commands(): Redis {
    return this.pub;
  }

  publish(envelope: BusEnvelope): void {
    for (const handler of this.handlers) handler(envelope);
    // committedAt is this process's clock: meaningless elsewhere, so not sent.
    const e = envelope.kind === "room" && envelope.committedAt !== undefined ? { ...envelope, committedAt: undefined } : envelope;
    const wire: Wire = { n: this.opts.nodeId, t: Date.now(), e };
    this.pub.publish(this.channel, JSON.stringify(wire)).catch((err: unknown) => {
      // Redis is down: the other nodes' sockets catch up from the database when it is back (onResync).
      if (!this.closed) this.opts.log.warn({ err: (err as Error).message, kind: envelope.kind }, "redis publish failed");
    });
  }

  deliverLocally(envelope: BusEnvelope): void {
    for (const handler of this.handlers) handler(envelope);
  }

  subscribe(handler: (envelope: BusEnvelope) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private receive(text: string): void {
    let wire: Wire;
    try {
      wire = JSON.parse(text) as Wire;
    } catch (err) {
      this.opts.log.error({ err }, "unreadable envelope on the redis bus");
      return;
    }
    if (wire.n === this.opts.nodeId) return;
    this.opts.onLag?.(Date.now() - wire.t);
    const envelope = { ...wire.e, from: wire.n } as BusEnvelope;
    for (const handler of this.handlers) {
      try {
        handler(envelope);
      } catch (err) {
        this.opts.log.error({ err, kind: envelope.kind }, "bus handler failed");
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
