import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Metrics } from "../metrics/registry.js";
import type { Bus } from "./bus.js";
import { MemoryBus } from "./memory.js";
import { RedisBus } from "./redis.js";
import { ClusterMembership } from "./nodes.js";

/** A node's bus and, with many nodes, its Redis connection and its view of the other nodes. */
export interface OpenedBus {
  bus: Bus;
  /** The Redis bus (many nodes), for readiness and the shared rate-limit store; null on a node alone. */
  redis: RedisBus | null;
  cluster: ClusterMembership | null;
  /**
   * What to do when the bus between nodes is back after an outage (the
   * gateway catches its sockets up from the database); set once the gateway
   * exists. The membership is told of the outage and its end here.
   */
  onBusBack(back: () => void): void;
  /**
   * What to do when the bus between nodes is lost (the gateway stops
   * trusting its per-room index); called at once if it is down already.
   * Never called with the in-process bus.
   */
  onBusLost(lost: () => void): void;
}

/**
 * The in-process bus on a node alone; with `config.redisUrl`, the Redis bus
 * (connected and subscribed before this resolves) and the cluster
 * membership. `given` (tests) replaces the bus and leaves the rest as the
 * configuration says.
 * @throws Error naming the Redis URL (password masked) when Redis does not answer
 */
export async function openBus(config: Config, nodeId: string, log: Logger, metrics: Metrics, given?: Bus): Promise<OpenedBus> {
  let back = (): void => undefined;
  let lost = (): void => undefined;
  let down = false;
  let redis: RedisBus | null = null;
  // Made after the bus, which calls back into it only once connected.
  let cluster: ClusterMembership | null = null;
  let bus: Bus;
  if (given) bus = given;
  else if (config.redisUrl) {
    redis = new RedisBus({
      url: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      nodeId,
      log,
      onLag: (ms) => metrics.busLag(ms),
      onLost: () => {
        down = true;
        cluster?.setBusUp(false);
        lost();
      },
      onResync: () => {
        down = false;
        cluster?.setBusUp(true);
        // The others answer a hello with their presence, which this node may have missed.
        cluster?.hello();
        back();
      },
    });
    try {
      await redis.start();
    } catch (err) {
      await redis.close();
      throw new Error(`Redis at ${config.redisUrl.replace(/\/\/[^@]*@/, "//***@")} did not answer: ${(err as Error).message}`);
    }
    bus = redis;
  } else bus = new MemoryBus();
  cluster = config.redisUrl ? new ClusterMembership(nodeId, bus, config.nodeTimeoutMs, log) : null;
  return {
    bus,
    redis,
    cluster,
    onBusBack(fn) {
      back = fn;
    },
    onBusLost(fn) {
      lost = fn;
      if (down) fn();
    },
  };
}
