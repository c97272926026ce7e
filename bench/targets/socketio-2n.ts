import fs from "node:fs";
import path from "node:path";
import { freePort, pidsByName } from "../lib/proc.js";
import { groupsOf, startServerProcess, type BenchContext, type MessagingSpec, type Prepared, type ServerHandle, type Target } from "./types.js";
import { SOCKETIO_SERVER, seedSocketio, socketioClients } from "./socketio.js";
import { clusterHandle, nginxPids, startNginx, stopAll } from "./cluster.js";

/**
 * Issue 11's comparison: two of the same Socket.IO servers as `socketio`
 * (socketio-server.mjs), joined by @socket.io/redis-adapter under one key
 * unique to the run, behind the same nginx configuration as parley-2n. It
 * has no PostgreSQL: both processes write to one SQLite file (WAL lets two
 * processes share it; better-sqlite3 waits up to 5 s on a lock), which is
 * what this small app would do on one machine. Nodes and nginx are pinned
 * to the server core, like parley-2n.
 */

const NODES = 2;

async function prepare(ctx: BenchContext, groups: number[][], prefix: string): Promise<Prepared> {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(ctx.tmpDir, "socketio-2n-"));
  const file = path.join(dir, "chat.db");
  const tokens = seedSocketio(file, groups, prefix);
  const seedMs = Date.now() - t0;
  const parts: (() => Promise<void> | void)[] = [];
  const stop = () => stopAll([...parts].reverse());
  let server: ServerHandle;
  try {
    const nodes: ServerHandle[] = [];
    for (let i = 0; i < NODES; i++) {
      const node = await startServerProcess(ctx, {
        name: `socketio-2n-node${i + 1}`,
        args: (port) => [SOCKETIO_SERVER, String(port)],
        // The same adapter key on both nodes (that is what joins them), unique to this run.
        env: { BENCH_DB: file, BENCH_REDIS_URL: ctx.redisUrl, BENCH_REDIS_KEY: `parley-bench-2n-${ctx.runId}` },
        healthPath: "/healthz",
      });
      nodes.push(node);
      parts.push(() => node.stop());
    }
    const lb = await startNginx(ctx, "socketio-2n", await freePort(), nodes.map((n) => n.port), "/healthz");
    parts.push(() => lb.stop());
    server = clusterHandle(nodes, lb, () => ({ nginx: nginxPids(lb.pid), redis: pidsByName("redis-server") }), stop);
  } catch (err) {
    await stop();
    throw err;
  }
  const clients = socketioClients(groups, prefix, server.port, tokens);
  return { server, clients, setup: { seedMs, startMs: Date.now() - t0 - seedMs } };
}

export const socketio2n: Target = {
  name: "socketio-2n",
  protocol: "socketio",
  description: "Socket.IO 4, 2 nodes joined by @socket.io/redis-adapter, one shared SQLite file (WAL, synchronous=FULL), behind nginx least_conn; nodes and nginx on the server core",
  messaging: (ctx: BenchContext, spec: MessagingSpec) => prepare(ctx, groupsOf(spec), spec.use === "direct" ? "d" : "r"),
  connections(): Promise<Prepared> {
    // RSS per socket of a cluster is not one process's: the connections scenario measures one.
    return Promise.reject(new Error("socketio-2n runs the messaging scenarios only (room-fanout, dm)"));
  },
};
