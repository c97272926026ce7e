import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { ClusterMembership } from "../bus/nodes.js";

/** How long an upgrade waits for the other nodes' counts before going on without them (ms). */
const ELSEWHERE_TIMEOUT_MS = 500;

/**
 * Open sockets per user and per client address on the other nodes, so that
 * `wsSocketsPerUser` and `wsSocketsPerAddress` bound a client across the
 * whole installation, not per node. Keys are `u:<userId>` and
 * `a:<address key>`. On a node alone there is no elsewhere.
 */
export interface SocketCounts {
  /** Sockets of `key` open on the other nodes; 0 when they cannot be asked in time (the bound is then per node). */
  elsewhere(key: string): Promise<number>;
  /** This node now holds `count` sockets of `key` (0: none). */
  set(key: string, count: number): void;
  close(): Promise<void>;
}

export const noSocketCounts: SocketCounts = {
  elsewhere: async () => 0,
  set: () => undefined,
  close: async () => undefined,
};

/**
 * SocketCounts in Redis: each node keeps one hash, `<prefix>sockets:<nodeId>`
 * (key → count), written once per event-loop turn, expiring `ttlMs` after
 * the node's last beat, so a node that dies takes its counts with it; an
 * upgrade reads the key from the hash of every live peer (one pipeline).
 * Two upgrades on two nodes at the same moment can both pass: the bound
 * may be overshot by the number of nodes, never more.
 */
export class RedisSocketCounts implements SocketCounts {
  private readonly local = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private readonly timer: NodeJS.Timeout;
  private readonly hash: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly membership: ClusterMembership,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {
    this.hash = this.hashOf(membership.nodeId);
    this.timer = setInterval(() => void this.beat(), Math.max(50, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  async elsewhere(key: string): Promise<number> {
    const peers = this.membership.peers();
    if (peers.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const peer of peers) pipeline.hget(this.hashOf(peer), key);
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), ELSEWHERE_TIMEOUT_MS).unref());
    const results = await Promise.race([pipeline.exec().catch(() => null), timeout]);
    if (!results) return 0;
    let n = 0;
    for (const [err, value] of results) if (!err && typeof value === "string") n += Number(value) || 0;
    return n;
  }

  set(key: string, count: number): void {
    if (count > 0) this.local.set(key, count);
    else this.local.delete(key);
    this.dirty.add(key);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(this.hash).catch(() => undefined);
  }

  private hashOf(nodeId: string): string {
    return `${this.prefix}sockets:${nodeId}`;
  }

  private flush(): void {
    this.flushScheduled = false;
    const pipeline = this.redis.pipeline();
    for (const key of this.dirty) {
      const n = this.local.get(key);
      if (n === undefined) pipeline.hdel(this.hash, key);
      else pipeline.hset(this.hash, key, n);
    }
    this.dirty.clear();
    pipeline.pexpire(this.hash, this.ttlMs);
    // Redis down: the counts are written again whole at the first beat that finds the hash gone.
    pipeline.exec().catch(() => undefined);
  }

  /** Keeps the hash alive; one that is gone (Redis restarted, or it expired) is written again whole. */
  private async beat(): Promise<void> {
    try {
      const alive = await this.redis.pexpire(this.hash, this.ttlMs);
      if (alive === 1 || this.local.size === 0) return;
      const pipeline = this.redis.pipeline();
      pipeline.hset(this.hash, Object.fromEntries(this.local));
      pipeline.pexpire(this.hash, this.ttlMs);
      await pipeline.exec();
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, "socket counts not refreshed (redis unavailable)");
    }
  }
}
