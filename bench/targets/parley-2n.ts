import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import type { ClientSpec } from "../lib/types.js";
import { freePort, pidsByName } from "../lib/proc.js";
import { startServerProcess, type BenchContext, type MessagingSpec, type Prepared, type ServerHandle, type Target } from "./types.js";
import { PARLEY_BENCH_ENV, parleyNodeArgs } from "./parley.js";
import { accountsFixture } from "./parley-accounts.js";
import { clusterHandle, createDatabase, dropDatabase, nginxPids, postgresBackendPids, startNginx, stopAll } from "./cluster.js";

/**
 * Issue 11: two Parley nodes on one fresh PostgreSQL database, live events
 * between them over Redis pub/sub, nginx in front (deploy/nginx/parley.conf,
 * least_conn), started from the same built entry point as `parley`. The
 * clients connect to nginx, so least_conn spreads their sockets over both
 * nodes, and most deliveries cross from one node to the other via Redis.
 *
 * Accounts: the same cached SQLite fixture as `parley` (signed up over the
 * API once), copied into the new database with Parley's own
 * `copy-database` (docs/moving-data.md): same users, tokens and rooms, no
 * second round of 1,000 argon2 signups. The database is created per run and
 * dropped when the target stops (and on Ctrl-C or exit).
 *
 * Both nodes and nginx are pinned to the server core, like the single
 * node: the comparison is the cost of the same work split over two
 * processes, nginx, Redis and PostgreSQL, on the same core budget. Redis
 * and PostgreSQL are the machine's own services and are not pinned.
 */

const NODES = 2;
let seq = 0;

async function startCluster(ctx: BenchContext, sqliteFile: string): Promise<{ server: ServerHandle; setup: Record<string, number> }> {
  const t0 = Date.now();
  const dbName = `parley_bench_${ctx.runId.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${++seq}`;
  const databaseUrl = createDatabase(dbName);
  const prefix = `parley-bench-${ctx.runId}-${seq}:`;
  const parts: (() => Promise<void> | void)[] = [];
  const stop = () => stopAll([...parts.reverse(), () => dropDatabase(dbName)]);
  try {
    // copy-database sits beside main.js in every build (tsup.config.ts's second entry).
    const copier = path.join(path.dirname(ctx.parleyMain), "copy-database.js");
    execFileSync(process.execPath, [copier, "--from", `sqlite:${sqliteFile}`, "--to", databaseUrl], { stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 });
    const copyMs = Date.now() - t0;
    const t1 = Date.now();
    // The public URL must be nginx's, known only once its port is: take the port first, start nginx after the nodes.
    const nodes: ServerHandle[] = [];
    const lbPort = await freePort();
    for (let i = 0; i < NODES; i++) {
      const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, `parley-2n-node${i + 1}-`));
      const node = await startServerProcess(ctx, {
        name: `parley-2n-node${i + 1}`,
        args: (port) => [
          ...parleyNodeArgs(),
          ctx.parleyMain,
          ...["--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir],
          ...["--database-url", databaseUrl, "--redis-url", ctx.redisUrl, "--redis-key-prefix", prefix],
          ...["--public-url", `http://127.0.0.1:${lbPort}`, "--trust-proxy", "127.0.0.1"],
        ],
        // One machine, one files directory for both nodes (by environment: a --parley-main build from before files ignores it).
        env: { ...PARLEY_BENCH_ENV, PARLEY_STORAGE_URL: `file:${path.join(ctx.tmpDir, `parley-2n-files-${prefix.replace(/[^A-Za-z0-9-]/g, "")}`)}`, PARLEY_STORAGE_SHARED: "true", ...ctx.parleyEnv },
        // /readyz: the node answers only once PostgreSQL and Redis do.
        healthPath: "/readyz",
        timeoutMs: 60_000,
      });
      nodes.push(node);
      parts.push(() => node.stop());
    }
    const lb = await startNginx(ctx, "parley-2n", lbPort, nodes.map((n) => n.port), "/readyz");
    // nginx is stopped first (parts run reversed).
    parts.push(() => lb.stop());
    const side = () => ({ nginx: nginxPids(lb.pid), redis: pidsByName("redis-server"), postgres: postgresBackendPids(dbName) });
    return { server: clusterHandle(nodes, lb, side, stop), setup: { copyToPostgresMs: copyMs, startMs: Date.now() - t1 } };
  } catch (err) {
    await stop();
    throw err;
  }
}

function specsFor(server: ServerHandle, tokens: string[], groups: { id: string; members: number[] }[]): ClientSpec[] {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const clients: ClientSpec[] = [];
  for (const g of groups) {
    g.members.forEach((index, slot) => {
      clients.push({ index, url, headers: { authorization: `Bearer ${tokens[index]!}` }, roomId: g.id, roomSize: g.members.length, slot });
    });
  }
  return clients.sort((a, b) => a.index - b.index);
}

export const parley2n: Target = {
  name: "parley-2n",
  protocol: "parley",
  description: "Parley, 2 nodes on PostgreSQL 15 (fresh database) + Redis pub/sub, behind nginx least_conn (deploy/nginx/parley.conf); nodes and nginx on the server core",
  async messaging(ctx: BenchContext, spec: MessagingSpec): Promise<Prepared> {
    const fixture = await accountsFixture(ctx, spec.clients, spec.roomSize);
    const { server, setup } = await startCluster(ctx, path.join(fixture.dataDir, "parley.db"));
    const groups = spec.use === "direct" ? fixture.meta.directs : fixture.meta.rooms;
    const tokens = fixture.meta.users.map((u) => u.token);
    return { server, clients: specsFor(server, tokens, groups), setup: { ...fixture.setup, ...setup } };
  },
  connections(): Promise<Prepared> {
    // RSS per socket of a cluster is not one process's: the connections scenario measures one.
    return Promise.reject(new Error("parley-2n runs the messaging scenarios only (room-fanout, dm)"));
  },
};
