import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Store } from "./store/store.js";
import type { Bus } from "./bus/bus.js";
import type { Metrics } from "./metrics/registry.js";
import type { ClusterMembership } from "./bus/nodes.js";
import type { FileStorage } from "./files/storage.js";

/** What every service is built from: configuration, database, bus, log, metrics. */
export interface Deps {
  config: Config;
  store: Store;
  bus: Bus;
  log: Logger;
  /**
   * The node's metrics: `metrics.sendPath` takes the send path's stage
   * timings (ms); `metrics.registry` is null when metrics are off, and
   * `sendPath` is then a no-op.
   */
  metrics: Metrics;
  /** Many nodes (--redis-url): which other nodes are alive; null on a node alone. */
  cluster: ClusterMembership | null;
  /** Where uploaded files' bytes live (files/storage.ts): the local disk or an S3 store. */
  files: FileStorage;
}

/**
 * Who is acting: always derived from a session cookie or a Bearer token
 * (DESIGN.md invariant 1), never from a payload.
 */
export interface Actor {
  userId: string;
  via: "session" | "token";
  /** SHA-256 of the session or token secret: names the credential on the bus. */
  credentialHash: string;
  /** The session's CSRF token; null for Bearer tokens, which need none. */
  csrfToken: string | null;
  /** When the session ends (epoch ms); null for API tokens, which last until revoked. */
  expiresAt: number | null;
}
