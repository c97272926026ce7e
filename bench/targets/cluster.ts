import fs from "node:fs";
import { nginxConfig } from "../../scripts/nginx-config.mjs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { onInterrupt, track } from "../lib/cleanup.js";
import { REPO_ROOT, spawnPinned, stopChild, waitForHttp } from "../lib/proc.js";
import { serverCoreOf, type BenchContext, type ServerHandle } from "./types.js";

/**
 * What the two-node targets (parley-2n, socketio-2n) share: nginx in front
 * of the nodes, built from deploy/nginx/parley.conf the way
 * scripts/cluster.mjs does it (its own copy here: scripts/ is not the
 * harness's), a throwaway PostgreSQL database, and the CPU of the processes
 * beside the nodes (nginx, redis-server, PostgreSQL backends).
 */

const NGINX = "/usr/sbin/nginx";
export const PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

// ---- PostgreSQL -------------------------------------------------------------

/** Databases this process created and has not dropped yet: dropped on Ctrl-C and at exit too. */
const liveDatabases = new Set<string>();
let dropHooksInstalled = false;

function psql(sql: string, db = "postgres"): string {
  // psql, synchronous: the drop must also work from a signal handler and from process.on("exit").
  return execFileSync("psql", ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
}

function dropNow(name: string): void {
  try {
    // WITH (FORCE) (PostgreSQL 13+): ends the nodes' connections if one is still there (a SIGKILLed node's socket).
    psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    liveDatabases.delete(name);
  } catch (err) {
    process.stderr.write(`bench: could not drop database ${name}: ${(err as Error).message}\n`);
  }
}

/** Creates an empty database `name` (only [a-z0-9_], made by the harness) and registers it to be dropped. */
export function createDatabase(name: string): string {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  if (!dropHooksInstalled) {
    dropHooksInstalled = true;
    const dropAll = () => {
      for (const db of [...liveDatabases]) dropNow(db);
    };
    onInterrupt(dropAll);
    process.once("exit", dropAll);
  }
  liveDatabases.add(name);
  psql(`CREATE DATABASE "${name}"`);
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

export function dropDatabase(name: string): void {
  if (liveDatabases.has(name)) dropNow(name);
}

/**
 * Pids of the PostgreSQL backends serving `db` right now (the nodes' pools).
 * Shared processes (WAL writer, checkpointer, background writer) are not
 * included: they also serve anyone else's databases on this server.
 */
export function postgresBackendPids(db: string): number[] {
  try {
    return psql(`SELECT pid FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`)
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

// ---- processes ---------------------------------------------------------------

/** Direct children of `pid` (nginx's workers under its master), from /proc/<n>/stat's ppid. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the parenthesised name: state ppid ...
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

// ---- nginx -------------------------------------------------------------------

/** nginx on loopback `port` in front of `nodePorts`, pinned to the server core like the nodes; waits until `healthPath` answers through it. */
export async function startNginx(ctx: BenchContext, name: string, port: number, nodePorts: number[], healthPath: string): Promise<{ pid: number; port: number; stop(): Promise<void>; errorLog: string }> {
  const dir = fs.mkdtempSync(path.join(ctx.tmpDir, `${name}-nginx-`));
  const conf = path.join(dir, "nginx.conf");
  const template = fs.readFileSync(path.join(REPO_ROOT, "deploy", "nginx", "parley.conf"), "utf8");
  if (!/^\s*least_conn;/m.test(template)) throw new Error("deploy/nginx/parley.conf's upstream is no longer least_conn: the benchmark assumes it");
  fs.writeFileSync(
    conf,
    nginxConfig({
      template,
      dir,
      nodePorts,
      lbPort: port,
      generatedBy: "bench/targets/cluster.ts",
      // 1,000 client sockets + 1,000 upstream sockets, with room.
      workerConnections: 8192,
      mainLines: ["worker_rlimit_nofile 20000;"],
    }),
  );
  const errorLog = path.join(dir, "error.log");
  const fd = fs.openSync(path.join(dir, "stderr.log"), "a");
  // -e: the error log used before the configuration is read (else /var/log/nginx); -p: prefix for relative paths.
  const child = spawnPinned(NGINX, ["-c", conf, "-p", dir, "-e", errorLog], { core: serverCoreOf(ctx), stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  track(child);
  try {
    await waitForHttp(`http://127.0.0.1:${port}${healthPath}`, 10_000, child);
  } catch (err) {
    await stopChild(child, 2_000);
    const tail = fs.existsSync(errorLog) ? fs.readFileSync(errorLog, "utf8").slice(-1500) : "";
    throw new Error(`nginx did not start: ${(err as Error).message}\n${tail}`);
  }
  // Killing the master (the harness SIGKILLs its children on Ctrl-C or a crash) would orphan its worker,
  // which keeps the port open: remember the workers and kill them too. The master starts them before it
  // answers, and starts no others unless one dies.
  const workers = childPids(child.pid!);
  const killWorkers = () => {
    for (const pid of workers) {
      try {
        // Only if that pid is still an nginx (never a process that reused the number).
        if (fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "nginx") continue;
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone (the master stopped it)
      }
    }
  };
  const unregister = onInterrupt(killWorkers);
  process.once("exit", killWorkers);
  return {
    pid: child.pid!,
    port,
    errorLog,
    stop: async () => {
      await stopChild(child, 5_000);
      // A graceful stop ends the workers; after a forced one (SIGKILL past the grace) they would be left.
      killWorkers();
      unregister();
      process.off("exit", killWorkers);
    },
  };
}

/** nginx's master and its workers. */
export const nginxPids = (master: number): number[] => [master, ...childPids(master)];

/** Stops everything of a cluster, nginx first (it stops handing sockets to nodes about to close), never throwing. */
export async function stopAll(parts: (() => Promise<void> | void)[]): Promise<void> {
  for (const p of parts) {
    try {
      await p();
    } catch (err) {
      process.stderr.write(`bench: stopping a cluster part failed: ${(err as Error).message}\n`);
    }
  }
}

/** A ServerHandle for the whole cluster: `pid` is the first node's (RSS), `nodePids` all nodes (CPU), `port` nginx's. */
export function clusterHandle(nodes: ServerHandle[], lb: { pid: number; port: number }, side: () => Record<string, number[]>, stop: () => Promise<void>): ServerHandle {
  const first = nodes[0]!;
  return {
    pid: first.pid,
    nodePids: nodes.map((n) => n.pid),
    sidePids: side,
    httpUrl: `http://127.0.0.1:${lb.port}`,
    port: lb.port,
    child: first.child,
    logFile: first.logFile,
    stop,
  };
}
