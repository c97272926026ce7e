/**
 * `npm run bench -- [options]`: starts the servers it compares, drives them
 * from load-generator processes and writes bench/results/<date>-<scenario>
 * .json, .md and .png. See docs/benchmarks.md.
 *
 *   --scenario a,b     room-fanout, dm, connections, history, startup, uploads, search, soak (default: all but soak)
 *   --target a,b       parley, ws, socketio, parley-2n, socketio-2n (default: parley, ws, socketio;
 *                      history and startup are Parley only; the -2n targets, two nodes behind nginx
 *                      on Redis (Parley also on PostgreSQL), run room-fanout and dm only: issue 11)
 *   --quick            few, short steps (for iterating); results get a -quick suffix
 *   --steps a,b        override the steps (deliveries/s; sockets for connections)
 *   --duration S       seconds per measured step (soak: of the whole run)   --drain S    drain timeout (s)
 *   --rate N           soak: writes/s (default 150)       --clients N  messaging clients; soak: people (default 300);
 *                                                        uploads: clients uploading at once (default 20)
 *   --server-nice=N    soak: nice of the server's threads (negative needs root): keeps a shared machine's
 *                      other work from starving it, so the stalls left are the code's
 *   --warmup S         warm-up window (s)                 --clients N  messaging clients
 *   --workers N        load-generator processes (messaging)
 *   --parley-env K=V   extra environment for Parley (repeatable), e.g. PARLEY_SQLITE_SYNCHRONOUS=normal
 *   --parley-main F    a built Parley entry to run instead of building one
 *   --push-subscribed  room-fanout, dm: every account holds a Web Push subscription (a build without push runs as is)
 *   --no-build         use dist/server/main.js as it is (default: build src/server into node_modules/.cache/parley-bench/build/)
 *   --no-pin           do not pin with taskset            --no-cache  rebuild fixtures in a scratch dir
 *   --max-quiet-wait S total time the run may wait for a quiet machine (default 300; quick 30; 0 = never wait)
 *   --out DIR          results directory (default bench/results)
 *   --update-docs      rewrite the results section of docs/benchmarks.md from the newest results
 *   --report-only      only re-render .md/.png from the .json files in --out (and --update-docs)
 *   --redis URL        Redis for socket.io's adapter (default redis://127.0.0.1:6379)
 *   --postgres URL     search: the PostgreSQL server to make its database on (default postgres://postgres@127.0.0.1:5432/postgres)
 *   --database a,b     search: sqlite, postgres (default: both)
 */
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { CACHE_DIR, REPO_ROOT, RESULTS_DIR, gitInfo, hasTaskset, pinSelf } from "./lib/proc.js";
import { killChildrenOnSignals, onInterrupt } from "./lib/cleanup.js";
import { DEFAULT_TARGETS, TARGET_NAMES, type TargetName } from "./lib/types.js";
import { DEFAULT_SCENARIOS, SCENARIO_NAMES, type ScenarioName, type ScenarioResult } from "./scenarios/common.js";
import { createContext, runScenario, type ScenarioParams } from "./suite.js";
import { updateDocs, writeScenario } from "./report.js";
import { defaultQuietPolicy } from "./lib/noise.js";

const { values } = parseArgs({
  options: {
    scenario: { type: "string" },
    target: { type: "string" },
    quick: { type: "boolean", default: false },
    steps: { type: "string" },
    duration: { type: "string" },
    drain: { type: "string" },
    warmup: { type: "string" },
    clients: { type: "string" },
    workers: { type: "string" },
    rate: { type: "string" },
    "server-nice": { type: "string" },
    "parley-env": { type: "string", multiple: true },
    "parley-main": { type: "string" },
    "push-subscribed": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    "no-pin": { type: "boolean", default: false },
    "no-cache": { type: "boolean", default: false },
    "max-quiet-wait": { type: "string" },
    out: { type: "string" },
    "update-docs": { type: "boolean", default: false },
    "report-only": { type: "boolean", default: false },
    redis: { type: "string" },
    postgres: { type: "string" },
    database: { type: "string" },
    help: { type: "boolean", default: false },
  },
  allowPositionals: false,
});

function list<T extends string>(raw: string | undefined, all: readonly T[], what: string, byDefault: readonly T[] = all): T[] {
  if (!raw) return [...byDefault];
  const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!all.includes(i as T)) throw new Error(`unknown ${what} ${JSON.stringify(i)}; one of ${all.join(", ")}`);
  return items as T[];
}

const num = (raw: string | undefined): number | undefined => (raw === undefined ? undefined : Number(raw));

async function main(): Promise<void> {
  if (values.help) {
    const src = fs.readFileSync(new URL(import.meta.url), "utf8");
    process.stdout.write(`${src.slice(src.indexOf("/**") + 3, src.indexOf("*/")).replace(/^ \* ?/gm, "")}\n`);
    return;
  }
  const outDir = path.resolve(values.out ?? RESULTS_DIR);
  const docsFile = path.join(REPO_ROOT, "docs", "benchmarks.md");

  if (values["report-only"]) {
    for (const f of fs.readdirSync(outDir).filter((x) => x.endsWith(".json"))) {
      const r = JSON.parse(fs.readFileSync(path.join(outDir, f), "utf8")) as ScenarioResult;
      const w = await writeScenario(r, outDir);
      process.stdout.write(`re-rendered ${path.relative(REPO_ROOT, w.md)}\n`);
    }
    if (values["update-docs"]) updateDocs(docsFile, outDir);
    return;
  }

  const scenarios = list<ScenarioName>(values.scenario, SCENARIO_NAMES, "scenario", DEFAULT_SCENARIOS);
  const targets = list<TargetName>(values.target, TARGET_NAMES, "target", DEFAULT_TARGETS);
  const pin = !values["no-pin"];
  if (pin && !hasTaskset) process.stderr.write("taskset not found: running unpinned\n");
  killChildrenOnSignals();
  // The harness itself runs beside the load generator, never on the server's core.
  if (pin) pinSelf(1);

  // The commit under test: read before the build, so a commit made during a long run does not relabel it.
  const git = gitInfo();
  let parleyMain = values["parley-main"] ? path.resolve(values["parley-main"]) : path.join(REPO_ROOT, "dist", "server", "main.js");
  if (!values["parley-main"] && !values["no-build"]) {
    // Build the server under test on the side, so the run never races anyone's `npm run build` over dist/
    // (node_modules/.cache: ignored by git and by the linter).
    const outBuild = path.join(REPO_ROOT, "node_modules", ".cache", "parley-bench", "build");
    process.stdout.write(`building src/server with tsup into ${path.relative(REPO_ROOT, outBuild)}/ ...\n`);
    execFileSync(process.execPath, [path.join(REPO_ROOT, "node_modules", "tsup", "dist", "cli-default.js"), "--out-dir", outBuild, "--silent"], { cwd: REPO_ROOT, stdio: "inherit" });
    parleyMain = path.join(outBuild, "main.js");
  }
  if (!fs.existsSync(parleyMain)) throw new Error(`${parleyMain} does not exist: run npm run build (or drop --no-build)`);

  const parleyEnv: Record<string, string> = {};
  for (const kv of values["parley-env"] ?? []) {
    const i = kv.indexOf("=");
    if (i < 1) throw new Error(`--parley-env wants KEY=VALUE, got ${kv}`);
    parleyEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }

  const ctx = createContext({
    pin,
    parleyMain,
    parleyEnv,
    cacheDir: values["no-cache"] ? null : CACHE_DIR,
    redisUrl: values.redis ?? "redis://127.0.0.1:6379",
    git,
    pushSubscribed: values["push-subscribed"],
    log: (line) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`),
    quiet: {
      ...defaultQuietPolicy(values.quick),
      ...(values["max-quiet-wait"] !== undefined ? { budgetMs: num(values["max-quiet-wait"])! * 1000 } : {}),
    },
  });
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  onInterrupt(() => ctx.cleanup());

  const steps = values.steps?.split(",").map(Number);
  const params: ScenarioParams = {
    messaging: {
      ...(steps ? { steps } : {}),
      ...(values.duration ? { durationMs: num(values.duration)! * 1000 } : {}),
      ...(values.drain ? { drainMs: num(values.drain)! * 1000 } : {}),
      ...(values.warmup ? { warmupMs: num(values.warmup)! * 1000 } : {}),
      ...(values.clients ? { clients: num(values.clients)! } : {}),
      ...(values.workers ? { workers: num(values.workers)! } : {}),
    },
    connections: steps ? { steps } : {},
    uploads: values.clients ? { clients: num(values.clients)! } : {},
    search: {
      ...(values.postgres ? { postgresUrl: values.postgres } : {}),
      ...(values.database ? { databases: list(values.database, ["sqlite", "postgres"] as const, "database") } : {}),
    },
    soak: {
      ...(values.duration ? { durationMs: num(values.duration)! * 1000 } : {}),
      ...(values.clients ? { people: num(values.clients)! } : {}),
      ...(values.rate ? { writesPerSec: num(values.rate)! } : {}),
      ...(values["server-nice"] !== undefined ? { serverNice: num(values["server-nice"])! } : {}),
    },
  };

  const t0 = Date.now();
  const failures: string[] = [];
  try {
    for (const scenario of scenarios) {
      const only =
        scenario === "history" || scenario === "startup" || scenario === "soak" || scenario === "uploads" || scenario === "search"
          ? targets.filter((t) => t === "parley")
          : scenario === "connections"
            ? targets.filter((t) => !t.endsWith("-2n")) // one process's RSS per socket: not a cluster's
            : targets;
      if (only.length === 0) continue;
      const result = await runScenario(ctx, scenario, only, values.quick, params);
      const files = await writeScenario(result, outDir);
      process.stdout.write(`\n${fs.readFileSync(files.md, "utf8")}\nwrote ${[files.json, files.md, files.png].filter(Boolean).map((f) => path.relative(REPO_ROOT, f!)).join(", ")}\n\n`);
      for (const b of result.bar) if (b.pass === false) failures.push(`${scenario}: ${b.check} — ${b.value}`);
    }
    if (values["update-docs"]) {
      updateDocs(docsFile, outDir);
      process.stdout.write(`updated ${path.relative(REPO_ROOT, docsFile)}\n`);
    }
  } finally {
    ctx.cleanup();
  }
  process.stdout.write(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min\n`);
  if (failures.length) process.stdout.write(`below the bar:\n${failures.map((f) => `  - ${f}`).join("\n")}\n`);
}

// A promise that nothing keeps alive would let Node exit silently in the middle of a run: say so.
let finished = false;
process.on("beforeExit", () => {
  if (finished) return;
  finished = true;
  process.stderr.write("bench failed: Node ran out of work while the run was waiting on something that can never finish (a promise tied to an unref'd handle?)\n");
  process.exit(1);
});

main().then(
  () => {
    finished = true;
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
