// `npm run cluster -- --nodes 3 [--port 8080] [--node-port 3001]
//   [--database-url postgres://…] [--redis-url redis://…] [--redis-key-prefix p] [--build]`
//
// Runs N Parley nodes behind nginx on this machine, the way a multi-node
// install runs them (docs/scaling.md): PostgreSQL and Redis (started here if
// they are the local defaults and down), the database (created if missing),
// N nodes on 127.0.0.1 at consecutive ports, and nginx in front with a
// configuration generated from deploy/nginx/parley.conf in a temp dir (it
// never touches /etc/nginx). Every child's output is prefixed with its name.
//
// Stops on Ctrl-C or SIGTERM: nginx and every node get SIGTERM, a child
// still there 10 s later gets SIGKILL; a second Ctrl-C kills at once. A
// node dying is reported and the others keep serving; nginx dying, or the
// last node, stops everything (exit 1).
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
  "[--redis-url redis://…] [--redis-key-prefix <prefix>] [--build]";
const NGINX = "/usr/sbin/nginx";
const STOP_GRACE_MS = 10_000;
const READY_TIMEOUT_MS = 60_000;

const log = (line) => process.stdout.write(`[cluster] ${line}\n`);
const fail = (line) => {
  process.stderr.write(`[cluster] ${line}\n`);
  process.exit(1);
};

// ---- arguments --------------------------------------------------------------

let args;
try {
  args = parseArgs({
    strict: true,
    allowPositionals: false,
    options: {
      nodes: { type: "string", default: "3" },
      port: { type: "string", default: "8080" },
      "node-port": { type: "string", default: "3001" },
      "database-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/parley_cluster" },
      "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
      "redis-key-prefix": { type: "string" },
      build: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
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
const nodeCount = intFlag("nodes", 1, 16);
const lbPort = intFlag("port", 1, 65535);
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

/** @type {{name: string, port: number | null, child: import("node:child_process").ChildProcess, exited: Promise<void>, alive: boolean}[]} */
const children = [];
let started = false;
let stopping = false;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "parley-cluster-"));

/** Starts a child whose every output line is prefixed `[name]`, and watches for its exit. */
function startChild(name, port, command, argv) {
  const child = spawn(command, argv, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const entry = { name, port, child, alive: true, exited: null };
  entry.exited = new Promise((resolve) => {
    const onGone = (what) => {
      if (!entry.alive) return;
      entry.alive = false;
      resolve();
      if (!stopping) onUnexpectedExit(entry, what);
    };
    child.once("exit", (code, signal) => onGone(signal ? `signal ${signal}` : `code ${code}`));
    child.once("error", (err) => onGone(err.message));
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

function onUnexpectedExit(entry, what) {
  const where = entry.port ? ` (port ${entry.port})` : "";
  if (!started) {
    void stop(1, `${entry.name}${where} exited during start-up (${what})${entry.name === "nginx" ? nginxErrors() : ""}`);
  } else if (entry.name === "nginx") {
    void stop(1, `nginx exited unexpectedly (${what}): nothing balances the nodes any more; stopping them${nginxErrors()}`);
  } else {
    const left = children.filter((c) => c.alive && c.name !== "nginx");
    if (left.length === 0) void stop(1, `${entry.name}${where} exited unexpectedly (${what}) and it was the last node; stopping nginx`);
    else log(`${entry.name}${where} exited unexpectedly (${what}); ${left.map((c) => c.name).join(", ")} ${left.length === 1 ? "keeps" : "keep"} serving behind nginx`);
  }
}

/** The tail of nginx's error log, for a message about why it stopped. */
function nginxErrors() {
  try {
    const lines = fs.readFileSync(path.join(tmp, "error.log"), "utf8").trim().split("\n").slice(-5);
    return lines[0] ? `; its error log ends:\n${lines.join("\n")}` : "";
  } catch {
    return "";
  }
}

/** SIGTERM to nginx and every node (SIGKILL to any still there after 10 s), then exit. */
async function stop(code, reason) {
  if (stopping) return;
  stopping = true;
  if (reason) (code === 0 ? log : (line) => process.stderr.write(`[cluster] ${line}\n`))(reason);
  const alive = children.filter((c) => c.alive);
  // nginx first: it stops handing connections to nodes that are about to close.
  for (const c of [...alive].sort((a, b) => Number(b.name === "nginx") - Number(a.name === "nginx"))) c.child.kill("SIGTERM");
  const force = setTimeout(() => {
    for (const c of children.filter((c) => c.alive)) {
      log(`${c.name} still running after ${STOP_GRACE_MS / 1000} s: SIGKILL`);
      c.child.kill("SIGKILL");
    }
  }, STOP_GRACE_MS);
  await Promise.all(alive.map((c) => c.exited));
  clearTimeout(force);
  fs.rmSync(tmp, { recursive: true, force: true });
  log("stopped");
  process.exit(code);
}

process.on("SIGINT", () => {
  if (!stopping) return void stop(0, "Ctrl-C: stopping nginx and the nodes (Ctrl-C again to kill them now)");
  for (const c of children.filter((c) => c.alive)) c.child.kill("SIGKILL");
});
process.on("SIGTERM", () => void stop(0, "SIGTERM: stopping nginx and the nodes"));
// Last resort (a crash in this script): never leave a child behind.
process.on("exit", () => {
  for (const c of children) if (c.alive) c.child.kill("SIGKILL");
});

// ---- nodes ------------------------------------------------------------------

if (noRedis) log("CLUSTER_NO_REDIS=1: nodes start without --redis-url (debugging only: each node fans out to its own sockets)");
for (const [i, port] of nodePorts.entries()) {
  const flags = [
    ...["--port", String(port), "--host", "127.0.0.1"],
    ...["--database-url", databaseUrl.toString()],
    ...(noRedis ? [] : ["--redis-url", redisUrl.toString()]),
    ...(noRedis || args["redis-key-prefix"] === undefined ? [] : ["--redis-key-prefix", args["redis-key-prefix"]]),
    ...["--public-url", publicUrl, "--trust-proxy", "127.0.0.1"],
  ];
  startChild(`node${i + 1}`, port, process.execPath, [mainJs, ...flags]);
}

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
