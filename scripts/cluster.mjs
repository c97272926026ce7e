// `npm run cluster -- --nodes 3 [--port 8080] [--node-port 3001]
//   [--database-url postgres://…] [--redis-url redis://…] [--redis-key-prefix p]
//   [--shutdown-grace-ms ms] [--build]`
// `npm run cluster -- restart <n> [--port 8080]`: restarts node n of the
//   cluster running behind that port (a rolling restart, one node at a time).
//
// Runs N Parley nodes behind nginx on this machine, the way a multi-node
// install runs them (docs/scaling.md): PostgreSQL and Redis (started here if
// they are the local defaults and down), the database (created if missing),
// N nodes on 127.0.0.1 at consecutive ports, and nginx in front with a
// configuration generated from deploy/nginx/parley.conf in a temp dir (it
// never touches /etc/nginx). Every child's output is prefixed with its name.
//
// Stops on Ctrl-C or SIGTERM: every node gets SIGTERM and drains (its
// --shutdown-grace-ms), nginx is stopped once no node serves any more, a
// child still there 10 s after its drain gets SIGKILL; a second Ctrl-C
// kills at once. While it runs, a digit key (on a terminal) or
// `npm run cluster -- restart <n>` from another shell restarts node n:
// SIGTERM, wait for it to drain and exit, start it again, wait for /readyz.
// A node that stops (by a signal, or exiting) is reported as stopped and
// the others keep serving; nginx dying, or the last node, stops everything (exit 1).
//
// Debugging aid: CLUSTER_NO_REDIS=1 starts the nodes without --redis-url and
// --redis-key-prefix (each node then fans out to its own sockets only, so
// with several nodes users on different nodes do not see each other live).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { nginxConfig } from "./nginx-config.mjs";
import readline from "node:readline";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const USAGE =
  "usage: npm run cluster -- --nodes <1..16> [--port 8080] [--node-port 3001] [--database-url postgres://…] " +
  "[--redis-url redis://…] [--redis-key-prefix <prefix>] [--shutdown-grace-ms <ms>] [--build]\n" +
  "       npm run cluster -- restart <n> [--port 8080]   (restarts node n of the running cluster)";
const NGINX = "/usr/sbin/nginx";
/** How long a child may take to stop after its drain before it gets SIGKILL (ms). */
const STOP_GRACE_MS = 10_000;
/** A node's own default --shutdown-grace-ms (src/server/config.ts), when the script passes none. */
const NODE_DEFAULT_SHUTDOWN_GRACE_MS = 5_000;
const READY_TIMEOUT_MS = 60_000;

const log = (line) => process.stdout.write(`[cluster] ${line}\n`);
const fail = (line) => {
  process.stderr.write(`[cluster] ${line}\n`);
  process.exit(1);
};

// ---- arguments --------------------------------------------------------------

let args;
try {
  const parsed = parseArgs({
    strict: true,
    allowPositionals: true,
    options: {
      nodes: { type: "string", default: "3" },
      port: { type: "string", default: "8080" },
      "node-port": { type: "string", default: "3001" },
      "database-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/parley_cluster" },
      "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
      "redis-key-prefix": { type: "string" },
      "shutdown-grace-ms": { type: "string" },
      build: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  args = { ...parsed.values, positionals: parsed.positionals };
  if (args.positionals.length > 0 && !(args.positionals[0] === "restart" && args.positionals.length === 2)) {
    throw new Error(`unexpected argument ${JSON.stringify(args.positionals.join(" "))}`);
  }
} catch (err) {
  process.stderr.write(`${err.message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

/** An integer flag within bounds, or exit 2 with the usage line. */
function intFlag(name, min, max) {
  const text = args[name];
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    process.stderr.write(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(text)})\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}
const lbPort = intFlag("port", 1, 65535);
/** Where a running cluster listens for `restart <n>` (one per nginx port). */
const controlPath = path.join(os.tmpdir(), `parley-cluster-${lbPort}.sock`);

if (args.positionals[0] === "restart") {
  // Another shell: ask the cluster running behind --port to restart a node, and relay its report.
  const which = args.positionals[1];
  if (!/^\d+$/.test(which)) {
    process.stderr.write(`restart needs a node number (got ${JSON.stringify(which)})\n${USAGE}\n`);
    process.exit(2);
  }
  const socket = net.connect(controlPath);
  let reply = "";
  socket.on("error", (err) => {
    process.stderr.write(`[cluster] no cluster is running behind port ${lbPort} (${controlPath}: ${err.code ?? err.message})\n`);
    process.exit(1);
  });
  socket.on("connect", () => socket.write(`restart ${which}\n`));
  socket.on("data", (chunk) => {
    reply += chunk.toString();
    process.stdout.write(chunk);
  });
  socket.on("end", () => process.exit(/^ok\b/m.test(reply) ? 0 : 1));
  await new Promise(() => {});
}

const nodeCount = intFlag("nodes", 1, 16);
const firstNodePort = intFlag("node-port", 1, 65535 - nodeCount + 1);
const nodePorts = Array.from({ length: nodeCount }, (_, i) => firstNodePort + i);
if (nodePorts.includes(lbPort)) fail(`--port ${lbPort} is one of the nodes' ports (${nodePorts.join(", ")}): choose another --port or --node-port`);

/** A URL flag with one of the given protocols, or exit 2. */
function urlFlag(name, protocols) {
  try {
    const url = new URL(args[name]);
    if (protocols.includes(url.protocol)) return url;
  } catch {
    // reported below
  }
  process.stderr.write(`--${name} must be a ${protocols.join(" or ")}// URL (got ${JSON.stringify(args[name])})\n${USAGE}\n`);
  process.exit(2);
}
const databaseUrl = urlFlag("database-url", ["postgres:", "postgresql:"]);
const redisUrl = urlFlag("redis-url", ["redis:", "rediss:"]);
const databaseName = decodeURIComponent(databaseUrl.pathname.slice(1));
if (!databaseName) fail("--database-url names no database (postgres://host:port/<name>)");
const noRedis = process.env.CLUSTER_NO_REDIS === "1";
const shutdownGraceMs = args["shutdown-grace-ms"] === undefined ? NODE_DEFAULT_SHUTDOWN_GRACE_MS : intFlag("shutdown-grace-ms", 0, 120_000);
const publicUrl = `http://localhost:${lbPort}`;

// ---- prerequisites ----------------------------------------------------------

const mainJs = path.join(root, "dist/server/main.js");
if (args.build) {
  log("npm run build");
  const built = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) fail("npm run build failed");
} else if (!fs.existsSync(mainJs)) {
  fail("dist/server/main.js is missing: run `npm run build` first (or pass --build)");
}
if (!fs.existsSync(NGINX)) fail(`nginx is not installed (${NGINX}): install it with \`apt-get install nginx\``);

/** True when nothing listens on 127.0.0.1:port (a node would fail with EADDRINUSE; say so first). */
const portFree = (port) =>
  new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
for (const port of [lbPort, ...nodePorts]) {
  if (!(await portFree(port))) fail(`port ${port} on 127.0.0.1 is in use: choose other ports (--port, --node-port)`);
}

/** Only the machine's own default servers are ours to start; anything else is the operator's. */
const isLocalDefault = (url, port) =>
  ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname) && (url.port === "" || Number(url.port) === port);
const succeeds = (cmd, argv) => spawnSync(cmd, argv, { stdio: "ignore" }).status === 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 200 ms until it is true or `ms` pass. */
async function until(check, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return false;
}

if (isLocalDefault(databaseUrl, 5432) && !succeeds("pg_isready", ["-h", "127.0.0.1", "-p", "5432", "-q"])) {
  const versions = fs.existsSync("/etc/postgresql") ? fs.readdirSync("/etc/postgresql").sort() : [];
  if (versions.length === 0) fail("PostgreSQL is not running on 127.0.0.1:5432 and no local cluster is installed (/etc/postgresql)");
  log(`starting PostgreSQL ${versions[0]}`);
  spawnSync("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0], "main", "start"], { stdio: "inherit" });
  if (!(await until(() => succeeds("pg_isready", ["-h", "127.0.0.1", "-p", "5432", "-q"]), 30_000))) fail("PostgreSQL did not come up on 127.0.0.1:5432");
}
if (!noRedis && isLocalDefault(redisUrl, 6379) && !succeeds("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "ping"])) {
  log("starting Redis");
  spawnSync("redis-server", ["--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"], { stdio: "inherit" });
  if (!(await until(() => succeeds("redis-cli", ["-h", "127.0.0.1", "-p", "6379", "ping"]), 10_000))) fail("Redis did not come up on 127.0.0.1:6379");
}

// The nodes migrate the schema themselves; the database itself must exist.
{
  const { default: pg } = await import("pg");
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  try {
    await client.connect();
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [databaseName]);
    if (rowCount === 0) {
      log(`creating database ${databaseName}`);
      await client.query(`create database "${databaseName.replaceAll('"', '""')}"`);
    }
  } catch (err) {
    fail(`cannot prepare database ${databaseName}: ${err.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

// ---- children ---------------------------------------------------------------

/** @type {{name: string, port: number | null, child: import("node:child_process").ChildProcess, exited: Promise<void>, alive: boolean, expected: boolean}[]} */
const children = [];
let started = false;
let stopping = false;
/** @type {net.Server | null} the `restart <n>` listener, once nginx is up */
let controlServer = null;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "parley-cluster-"));

/** Starts a child whose every output line is prefixed `[name]`, and watches for its exit. */
function startChild(name, port, command, argv) {
  const child = spawn(command, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  // expected: this script stops it (a restart), so its exit is no news.
  const entry = { name, port, child, alive: true, exited: null, expected: false };
  entry.exited = new Promise((resolve) => {
    const onGone = (what) => {
      if (!entry.alive) return;
      entry.alive = false;
      resolve();
      if (!stopping && !entry.expected) onExit(entry, what);
    };
    child.once("exit", (code, signal) => onGone({ code, signal }));
    child.once("error", (err) => onGone({ error: err.message }));
  });
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => out.write(`[${name}] ${line}\n`));
  }
  children.push(entry);
  return entry;
}

/**
 * How a child ended, in words: a node stopped by a signal (SIGTERM: it
 * drained and exits 0; SIGKILL) stopped; one that exits non-zero failed.
 */
function describeExit({ code, signal, error }) {
  if (error) return { stopped: false, text: `could not run (${error})` };
  if (signal) return { stopped: true, text: `stopped by ${signal}` };
  if (code === 0) return { stopped: true, text: "stopped (exit code 0)" };
  return { stopped: false, text: `exited with code ${code}` };
}

function onExit(entry, what) {
  const where = entry.port ? ` (port ${entry.port})` : "";
  const { stopped, text } = describeExit(what);
  if (!started) {
    void stop(1, `${entry.name}${where} ${text} during start-up${entry.name === "nginx" ? nginxErrors() : ""}`);
  } else if (entry.name === "nginx") {
    void stop(1, `nginx ${text}: nothing balances the nodes any more; stopping them${nginxErrors()}`);
  } else {
    const left = liveNodes();
    if (left.length === 0) void stop(1, `${entry.name}${where} ${text} and it was the last node; stopping nginx`);
    else {
      const others = `${left.map((c) => c.name).join(", ")} ${left.length === 1 ? "keeps" : "keep"} serving behind nginx`;
      log(`${entry.name}${where} ${text}${stopped ? "" : " unexpectedly"}; ${others} (restart it: npm run cluster -- restart ${entry.name.slice(4)} --port ${lbPort})`);
    }
  }
}

/** The nodes running now (the current process of each). */
const liveNodes = () => children.filter((c) => c.alive && c.name !== "nginx");

/** The tail of nginx's error log, for a message about why it stopped. */
function nginxErrors() {
  try {
    const lines = fs.readFileSync(path.join(tmp, "error.log"), "utf8").trim().split("\n").slice(-5);
    return lines[0] ? `; its error log ends:\n${lines.join("\n")}` : "";
  } catch {
    return "";
  }
}

/**
 * SIGTERM to every node; nginx last, once no node serves (so that requests
 * in flight through it finish while the nodes drain); SIGKILL to any child
 * still there 10 s after its drain; then exit.
 */
async function stop(code, reason) {
  if (stopping) return;
  stopping = true;
  if (reason) (code === 0 ? log : (line) => process.stderr.write(`[cluster] ${line}\n`))(reason);
  controlServer?.close();
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  const nodes = liveNodes();
  const nginx = children.filter((c) => c.alive && c.name === "nginx");
  const force = setTimeout(() => {
    for (const c of children.filter((c) => c.alive)) {
      log(`${c.name} still running ${STOP_GRACE_MS / 1000} s after its drain: SIGKILL`);
      c.child.kill("SIGKILL");
    }
  }, shutdownGraceMs + STOP_GRACE_MS);
  for (const c of nodes) c.child.kill("SIGTERM");
  await Promise.all(nodes.map((c) => c.exited));
  for (const c of nginx) c.child.kill("SIGTERM");
  await Promise.all(nginx.map((c) => c.exited));
  clearTimeout(force);
  fs.rmSync(tmp, { recursive: true, force: true });
  log("stopped");
  process.exit(code);
}

process.on("SIGINT", () => {
  if (!stopping) return void stop(0, "Ctrl-C: stopping the nodes, then nginx (Ctrl-C again to kill them now)");
  for (const c of children.filter((c) => c.alive)) c.child.kill("SIGKILL");
});
process.on("SIGTERM", () => void stop(0, "SIGTERM: stopping the nodes, then nginx"));
// Last resort (a crash in this script): never leave a child behind.
process.on("exit", () => {
  for (const c of children) if (c.alive) c.child.kill("SIGKILL");
});

// ---- nodes ------------------------------------------------------------------

if (noRedis) log("CLUSTER_NO_REDIS=1: nodes start without --redis-url (debugging only: each node fans out to its own sockets)");
/** Starts node n (1-based) on its port with the cluster's flags. */
function startNode(n) {
  const port = nodePorts[n - 1];
  const flags = [
    ...["--port", String(port), "--host", "127.0.0.1"],
    ...["--database-url", databaseUrl.toString()],
    ...(noRedis ? [] : ["--redis-url", redisUrl.toString()]),
    // One machine: the nodes share one files directory (an operator's own PARLEY_STORAGE_URL, e.g. s3://…, wins).
    ...(noRedis || process.env.PARLEY_STORAGE_URL ? [] : ["--storage-url", `file:${path.join(root, "data", "cluster-files")}`, "--storage-shared", "true"]),
    ...(noRedis || args["redis-key-prefix"] === undefined ? [] : ["--redis-key-prefix", args["redis-key-prefix"]]),
    ...["--public-url", publicUrl, "--trust-proxy", "127.0.0.1"],
    ...(args["shutdown-grace-ms"] === undefined ? [] : ["--shutdown-grace-ms", String(shutdownGraceMs)]),
  ];
  return startChild(`node${n}`, port, process.execPath, [mainJs, ...flags]);
}
for (let n = 1; n <= nodeCount; n++) startNode(n);

/** 200 from /readyz (database and Redis answer); /healthz on a build without /readyz (404). */
async function ready(port) {
  for (const route of ["/readyz", "/healthz"]) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status !== 404) return res.status === 200;
    } catch {
      return false;
    }
  }
  return false;
}

const nodes = [...children];
const nodesUp = await Promise.all(nodes.map((n) => until(async () => stopping || (await ready(n.port)), READY_TIMEOUT_MS)));
if (stopping) await new Promise(() => {}); // a child died during start-up: stop() exits
const late = nodes.filter((_, i) => !nodesUp[i]).map((n) => n.name);
if (late.length > 0) await stop(1, `${late.join(", ")} not ready after ${READY_TIMEOUT_MS / 1000} s`);
log(`${nodeCount === 1 ? "1 node ready on port" : `${nodeCount} nodes ready on ports`} ${nodePorts.join(", ")}`);

// ---- nginx ------------------------------------------------------------------

const confFile = path.join(tmp, "nginx.conf");
try {
  fs.writeFileSync(
    confFile,
    nginxConfig({
      template: fs.readFileSync(path.join(root, "deploy/nginx/parley.conf"), "utf8"),
      dir: tmp,
      nodePorts,
      lbPort,
      generatedBy: "scripts/cluster.mjs",
      // Also to our stderr, prefixed [nginx]: a node going away shows as upstream errors here.
      mainLines: ["error_log stderr error;"],
    }),
  );
} catch (err) {
  await stop(1, `cannot write the nginx configuration: ${err.message}`);
}
// -e: the error log nginx uses before it has read the configuration (not /var/log/nginx).
startChild("nginx", lbPort, NGINX, ["-c", confFile, "-p", tmp, "-e", path.join(tmp, "error.log")]);
const balancing = await until(async () => stopping || (await ready(lbPort)), 10_000);
if (stopping) await new Promise(() => {});
if (!balancing) await stop(1, `nginx does not answer on 127.0.0.1:${lbPort}${nginxErrors()}`);
started = true;
log(`nginx configuration: ${confFile}`);
console.log(`Parley cluster: ${nodeCount} node${nodeCount === 1 ? "" : "s"} behind nginx at ${publicUrl}`);

// ---- rolling restart --------------------------------------------------------

let restarting = null;

/**
 * Restarts node n as docs/scaling.md's rolling restart asks: SIGTERM (it
 * drains: /readyz 503, requests finished, sockets closed with 1012 so their
 * clients resume on another node), wait for its exit, start it again, wait
 * until /readyz answers 200. One restart at a time; `say` reports progress.
 * @returns {Promise<boolean>} whether the node is back and ready
 */
async function restartNode(n, say) {
  if (!Number.isInteger(n) || n < 1 || n > nodeCount) {
    say(`no node ${n}: nodes are 1 to ${nodeCount}`);
    return false;
  }
  if (restarting || stopping) {
    say(stopping ? "the cluster is stopping" : `${restarting} is restarting; one at a time`);
    return false;
  }
  const name = `node${n}`;
  restarting = name;
  try {
    const current = children.find((c) => c.name === name && c.alive);
    if (current) {
      current.expected = true;
      say(`${name}: SIGTERM; it drains for ${shutdownGraceMs} ms, then stops`);
      current.child.kill("SIGTERM");
      await current.exited;
      const code = current.child.exitCode;
      say(`${name} stopped${code === null ? ` by ${current.child.signalCode}` : ` (exit code ${code})`}`);
    }
    if (stopping) return false;
    children.splice(0, children.length, ...children.filter((c) => c.alive || c.name !== name));
    const entry = startNode(n);
    const up = await until(async () => stopping || !entry.alive || (await ready(entry.port)), READY_TIMEOUT_MS);
    const ok = up && entry.alive && !stopping;
    say(ok ? `${name} restarted: ready on port ${entry.port}` : `${name} did not become ready`);
    // nginx's passive checks (max_fails=3 fail_timeout=10s) may hold the node failed for that long after it refused
    // connections: restarting the next one sooner could leave nginx no node it believes in (502).
    if (ok && nodeCount > 1) say("wait 10 s (nginx's fail_timeout) before restarting the next node");
    return ok;
  } finally {
    restarting = null;
  }
}

// `npm run cluster -- restart <n>` from another shell reaches us here.
fs.rmSync(controlPath, { force: true });
controlServer = net.createServer((conn) => {
  let request = "";
  conn.on("error", () => {});
  conn.on("data", (chunk) => {
    request += chunk.toString();
    if (!request.includes("\n")) return;
    const match = /^restart (\d+)\n/.exec(request);
    const say = (line) => {
      log(line);
      if (!conn.destroyed) conn.write(`${line}\n`);
    };
    if (!match) return void conn.end("unknown command\n");
    void restartNode(Number(match[1]), say).then((ok) => conn.end(ok ? "ok\n" : "failed\n"));
  });
});
controlServer.on("error", (err) => log(`restart by command is unavailable (${controlPath}: ${err.message}); digit keys still work`));
controlServer.listen(controlPath);
process.on("exit", () => fs.rmSync(controlPath, { force: true }));

// On a terminal: a digit restarts that node; q or Ctrl-C stops.
if (process.stdin.isTTY) {
  readline.emitKeypressEvents(process.stdin);
  process.stdin.setRawMode(true);
  process.stdin.on("keypress", (text, key) => {
    if (key?.ctrl && key.name === "c") process.emit("SIGINT", "SIGINT");
    else if (text === "q") void stop(0, "q: stopping the nodes, then nginx");
    else if (/^[1-9]$/.test(text ?? "")) void restartNode(Number(text), log);
  });
  log(`keys: 1${nodeCount > 1 ? `-${Math.min(nodeCount, 9)}` : ""} restart that node, q or Ctrl-C stop`);
}
log(`restart a node from another shell: npm run cluster -- restart <n> --port ${lbPort}`);
