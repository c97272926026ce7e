import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createTestPostgresDatabase, startTestServer, type TestServer } from "./server.js";
import { Caller } from "./client.js";

/**
 * Many nodes for tests: nodes in this process or as child processes, all on
 * one PostgreSQL database and one Redis key prefix of their own, and, for
 * the failure tests, a private Redis and a private PostgreSQL server that a
 * test may stop and restart without touching the machine's.
 */

const redisUrl = process.env.PARLEY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const mainJs = path.resolve(import.meta.dirname, "../../dist/server/main.js");

/** Settings every test node gets: a short node timeout and offline grace, so failures show within seconds. */
export const clusterSettings = { nodeTimeoutMs: 3_000, presenceOfflineGraceMs: 300 } as const;

/** A free TCP port on 127.0.0.1 (free when asked; good enough for a test's own servers). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One installation's shared parts: a database and a Redis prefix of its own; `drop` removes both. */
export interface Installation {
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  /** `file:` storage every node of the installation shares (one machine). */
  storageUrl: string;
  drop(): Promise<void>;
}

export async function installation(opts: { redisUrl?: string; postgresUrl?: string } = {}): Promise<Installation> {
  const db = await createTestPostgresDatabase(opts.postgresUrl);
  const url = opts.redisUrl ?? redisUrl;
  const prefix = `parley-test-${randomBytes(5).toString("hex")}:`;
  const files = fs.mkdtempSync(path.join(os.tmpdir(), "parley-test-files-"));
  return {
    databaseUrl: db.url,
    redisUrl: url,
    redisKeyPrefix: prefix,
    storageUrl: `file:${files}`,
    drop: async () => {
      await db.drop();
      await deleteKeys(url, prefix);
      fs.rmSync(files, { recursive: true, force: true });
    },
  };
}

/** Deletes every key under `prefix` (rate-limit counters, socket counts); a Redis that is gone (a stopped private one) has none left. */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
  } catch {
    // Not reachable: nothing of ours is kept there.
  } finally {
    redis.disconnect();
  }
}

/** A node in this process on the installation (test/support/server.ts), with `clusterSettings`; `opts` as startTestServer's. */
export function startNode(inst: Installation, overrides: Parameters<typeof startTestServer>[0] = {}, opts: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  return startTestServer({ databaseUrl: inst.databaseUrl, redisUrl: inst.redisUrl, redisKeyPrefix: inst.redisKeyPrefix, storageUrl: inst.storageUrl, storageShared: "true", ...clusterSettings, ...overrides }, opts);
}

/** The same identity (cookie and CSRF token, or Bearer token) calling another node. */
export function callerOn(caller: Caller, baseUrl: string): Caller {
  const other = new Caller(baseUrl);
  other.cookie = caller.cookie;
  other.csrfToken = caller.csrfToken;
  other.bearer = caller.bearer;
  other.user = caller.user;
  return other;
}

/** A node as a child process (`node dist/server/main.js`): killable with SIGKILL like a crashed machine. */
export interface ChildNode {
  baseUrl: string;
  wsUrl: string;
  process: ChildProcess;
  /** Everything it printed (pino JSON lines). */
  output: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `dist/server/main.js` on a free port and waits for its "Parley is up" log line. @throws if it exits or takes over 20 s. */
export async function spawnNode(inst: Installation, extra: string[] = []): Promise<ChildNode> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const args = [
    mainJs,
    "--port", String(port),
    "--host", "127.0.0.1",
    "--public-url", baseUrl,
    "--database-url", inst.databaseUrl,
    "--redis-url", inst.redisUrl,
    "--redis-key-prefix", inst.redisKeyPrefix,
    "--storage-url", inst.storageUrl,
    "--storage-shared", "true",
    "--node-timeout-ms", String(clusterSettings.nodeTimeoutMs),
    "--presence-offline-grace-ms", String(clusterSettings.presenceOfflineGraceMs),
    "--data-dir", fs.mkdtempSync(path.join(os.tmpdir(), "parley-node-")),
    "--ws-sockets-per-address", "10000",
    "--signups-per-hour-per-address", "100000",
    "--login-attempts-per-minute-per-address", "100000",
    "--http-messages-per-minute", "100000",
    // SIGTERM stops at once, as a test's cleanup wants; a test of the drain passes its own grace in `extra`.
    "--shutdown-grace-ms", "0",
    ...extra,
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const up = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node on ${port} did not start in 20 s:\n${output.join("")}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (chunk.toString().includes("Parley is up")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node on ${port} exited (${code}):\n${output.join("")}`));
    });
  });
  await up;
  return {
    baseUrl,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    process: child,
    output,
    async kill(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill(signal);
      await exited;
    },
  };
}

/** A Redis server of the test's own on a free port, which it may stop and start again (same port, nothing kept). */
export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const self: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
      for (let i = 0; i < 100; i++) {
        const probe = new Redis(self.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        probe.on("error", () => undefined);
        const ok = await probe.connect().then(() => probe.ping()).then(() => true, () => false);
        probe.disconnect();
        if (ok) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error("private redis did not start");
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGKILL");
      await exited;
    },
  };
  await self.start();
  return self;
}

/** A PostgreSQL server of the test's own (initdb in a temp dir, a free port), which it may restart. */
export interface PrivatePostgres {
  /** The maintenance database's URL (for createTestPostgresDatabase). */
  url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

/** PostgreSQL's server programs: `pg_config --bindir`, else the newest /usr/lib/postgresql/<v>/bin. */
function postgresBin(): string {
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    if (fs.existsSync(path.join(dir, "initdb"))) return dir;
  } catch {
    // pg_config is in libpq-dev, often absent: look where Debian puts the server.
  }
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, "bin", "initdb"))) return path.join(root, v, "bin");
  throw new Error("PostgreSQL's server programs (initdb, pg_ctl) were not found");
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-pg-"));
  // initdb refuses to run as root: as root, run the server programs as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync("chown", ["postgres", dir]);
  const run = (program: string, args: string[]): void => {
    const [cmd, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, program), ...args]] : [path.join(bin, program), args];
    execFileSync(cmd as string, argv as string[], { stdio: "ignore" });
  };
  run("initdb", ["-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const self: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => run("pg_ctl", ["-D", `${dir}/data`, "-o", options, "-l", `${dir}/log`, "-w", "start"]),
    // Immediate: like a crash, connections are cut without a goodbye.
    stop: () => run("pg_ctl", ["-D", `${dir}/data`, "-m", "immediate", "-w", "stop"]),
    destroy() {
      try {
        self.stop();
      } catch {
        // Already stopped.
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  self.start();
  return self;
}

/** Polls `check` every 50 ms until it returns true; @throws with `what` after `ms`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms: ${what}`);
}
