import fs from "node:fs";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import type { ClientSpec, Protocol, TargetName } from "../lib/types.js";
import { freePort, spawnPinned, stopChild, waitForHttp } from "../lib/proc.js";
import { track } from "../lib/cleanup.js";
import type { QuietPolicy } from "../lib/noise.js";

/** What every target and scenario gets from the run. */
export interface BenchContext {
  /** Pin servers to `serverCore` and the load generator to `loadCore` with taskset. */
  pin: boolean;
  serverCore: number;
  loadCore: number;
  /** Built Parley entry point (dist/server/main.js or the bench's own build). */
  parleyMain: string;
  /** Extra environment for Parley (e.g. PARLEY_SQLITE_SYNCHRONOUS=normal for an experiment). */
  parleyEnv: Record<string, string>;
  /** Where seeded databases and account fixtures are cached between runs; null: no cache. */
  cacheDir: string | null;
  /** Scratch directory of this run (data dirs, server logs); removed at the end. */
  tmpDir: string;
  redisUrl: string;
  /** Unique per run: Redis key prefix of the socket.io adapter, names. */
  runId: string;
  log: (line: string) => void;
  /** Waiting for a quiet machine and repeating noisy steps. */
  quiet: QuietPolicy;
  /**
   * Messaging scenarios on Parley: give every account a Web Push
   * subscription before the run (issue 19's measure: deciding who to notify
   * at the default levels, with everyone subscribed). A build without push
   * (no push_subscriptions table) runs as it is.
   */
  pushSubscribed?: boolean;
  /** The commit Parley was built from (taken when the build was made, not when a scenario starts). */
  git?: { commit: string | null; dirty: boolean | null };
}

/** The core a server runs on, or null when pinning is off. */
export const serverCoreOf = (ctx: BenchContext): number | null => (ctx.pin ? ctx.serverCore : null);
export const loadCoreOf = (ctx: BenchContext): number | null => (ctx.pin ? ctx.loadCore : null);

/** A running server process. */
export interface ServerHandle {
  pid: number;
  httpUrl: string;
  port: number;
  child: ChildProcess;
  logFile: string;
  /** Parley with its metrics listener on: where to scrape `GET /metrics` (the send path's stage histograms). */
  metricsUrl?: string;
  /**
   * A target of several nodes: the pids of all its nodes, whose CPU is
   * summed as the server's (default: just `pid`).
   */
  nodePids?: number[];
  /**
   * Processes that serve the target beside its nodes (nginx, redis-server,
   * PostgreSQL backends), by role, read at each step: their CPU is reported
   * apart, per delivery, not added to the server's.
   */
  sidePids?: () => Record<string, number[]>;
  stop(): Promise<void>;
}

/**
 * Messaging layout: `clients` clients; `rooms` puts them in rooms of
 * `roomSize` (room-fanout), `direct` in pairs, each pair its own direct room (dm).
 */
export interface MessagingSpec {
  clients: number;
  roomSize: number;
  use: "rooms" | "direct";
}

/** A started server with its clients, and how long the setup took. */
export interface Prepared {
  server: ServerHandle;
  clients: ClientSpec[];
  setup: Record<string, number | string | boolean>;
}

export interface Target {
  name: TargetName;
  protocol: Protocol;
  /** One line for the reports. */
  description: string;
  messaging(ctx: BenchContext, spec: MessagingSpec): Promise<Prepared>;
  /** `count` idle clients, in rooms of `roomSize`, authenticated as the target requires. */
  connections(ctx: BenchContext, count: number, roomSize: number): Promise<Prepared>;
}

let serverSeq = 0;

/** Starts a server process pinned to the server core, logs to a file, waits for `healthPath`. */
export async function startServerProcess(
  ctx: BenchContext,
  opts: { name: string; args: (port: number) => string[]; env?: Record<string, string>; healthPath: string; timeoutMs?: number },
): Promise<ServerHandle> {
  const port = await freePort();
  const logDir = path.join(ctx.tmpDir, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${opts.name}-${++serverSeq}.log`);
  const fd = fs.openSync(logFile, "a");
  const child = spawnPinned(process.execPath, opts.args(port), {
    core: serverCoreOf(ctx),
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", fd, fd],
  });
  fs.closeSync(fd);
  track(child);
  const httpUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${httpUrl}${opts.healthPath}`, opts.timeoutMs ?? 30_000, child);
  } catch (err) {
    await stopChild(child, 2_000);
    const tail = fs.readFileSync(logFile, "utf8").slice(-2000);
    throw new Error(`${opts.name} did not start: ${(err as Error).message}\n--- ${logFile} ---\n${tail}`);
  }
  return {
    pid: child.pid!,
    httpUrl,
    port,
    child,
    logFile,
    stop: () => stopChild(child),
  };
}

/** Runs `fn` over `items` with at most `concurrency` in flight; results in input order. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return out;
}

/** Groups for a messaging spec: each a list of client indexes that share one room. */
export function groupsOf(spec: MessagingSpec): number[][] {
  const size = spec.use === "direct" ? 2 : spec.roomSize;
  const groups: number[][] = [];
  for (let start = 0; start < spec.clients; start += size) {
    groups.push(Array.from({ length: Math.min(size, spec.clients - start) }, (_, k) => start + k));
  }
  return groups;
}
