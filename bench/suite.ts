import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { gitInfo, machineInfo, openFileLimit } from "./lib/proc.js";
import type { TargetName } from "./lib/types.js";
import { runMessaging, type MessagingOptions } from "./scenarios/messaging.js";
import { runConnectionsTarget, type ConnectionsOptions } from "./scenarios/connections.js";
import { runHistory, type HistoryOptions } from "./scenarios/history.js";
import { runStartup, type StartupOptions } from "./scenarios/startup.js";
import { runSoak, type SoakOptions } from "./scenarios/soak.js";
import { runUploads, type UploadsOptions } from "./scenarios/uploads.js";
import { QUERY_KINDS, runSearch, type SearchOptions } from "./scenarios/search.js";
import type { MessagingTargetRun, ScenarioName, ScenarioResult } from "./scenarios/common.js";
import { parley } from "./targets/parley.js";
import { wsRelay } from "./targets/ws-relay.js";
import { socketio } from "./targets/socketio.js";
import { parley2n } from "./targets/parley-2n.js";
import { socketio2n } from "./targets/socketio-2n.js";
import type { BenchContext, Target } from "./targets/types.js";
import { projection100k } from "./report.js";
import { defaultQuietPolicy } from "./lib/noise.js";

/**
 * The scenarios with their parameters (full and quick), and the bars
 * judged on each result (issue 10 for messaging, issue 3 for the others). The CLI (run.ts) and the smoke test call
 * `runScenario`.
 */

export const TARGETS: Record<TargetName, Target> = { parley, ws: wsRelay, socketio, "parley-2n": parley2n, "socketio-2n": socketio2n };

export interface ScenarioParams {
  messaging?: Partial<MessagingOptions> & { clients?: number; roomSize?: number };
  connections?: Partial<ConnectionsOptions>;
  history?: Partial<HistoryOptions>;
  startup?: Partial<StartupOptions>;
  soak?: Partial<SoakOptions>;
  uploads?: Partial<UploadsOptions>;
  search?: Partial<SearchOptions>;
}

const FANOUT_STEPS = [5_000, 10_000, 20_000, 30_000, 50_000, 75_000, 100_000];
/**
 * dm: finer steps at the low end (a direct message costs a whole send per
 * delivery), so that issue 10's 3,000 messages/s is a step of its own.
 */
const DM_STEPS = [1_000, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000];

/** Default parameters of a scenario; `quick` = few, short steps for iterating. */
export function defaults(
  scenario: ScenarioName,
  quick: boolean,
): { messaging: MessagingOptions & { clients: number; roomSize: number }; connections: ConnectionsOptions; history: HistoryOptions; startup: StartupOptions; soak: SoakOptions; uploads: UploadsOptions; search: SearchOptions } {
  const fdLimit = openFileLimit();
  const maxSockets = Math.max(100, Math.min(19_500, fdLimit - 500));
  const messaging: MessagingOptions & { clients: number; roomSize: number } = {
    clients: 1000,
    roomSize: 100,
    spec: { clients: 1000, roomSize: 100, use: scenario === "dm" ? "direct" : "rooms" },
    steps: quick ? (scenario === "dm" ? [1_000, 2_500, 5_000, 10_000] : [5_000, 20_000, 50_000]) : scenario === "dm" ? DM_STEPS : FANOUT_STEPS,
    durationMs: quick ? 3_000 : 10_000,
    drainMs: quick ? 3_000 : 5_000,
    warmupMs: quick ? 2_000 : 4_000,
    workers: 2,
    p99LimitMs: 50,
    loadgenSaturationPct: 90,
  };
  return {
    messaging,
    connections: {
      steps: quick ? [500, 2_000] : [1_000, 5_000, 10_000, 15_000, maxSockets].filter((n, i, a) => n <= maxSockets && a.indexOf(n) === i),
      roomSize: 100,
      clientsPerWorker: 7_000,
      settleMs: quick ? 2_000 : 3_000,
      connectConcurrency: 50,
    },
    history: { messages: 1_000_000, members: 100, pages: quick ? 300 : 2_000, resumes: quick ? 30 : 200, resumeEvents: 1_000 },
    startup: { messages: 1_000_000, members: 100, runs: quick ? 2 : 5 },
    // Issue 16's 20-minute soak (300 people, 130 conversations, 150 writes/s, 4,420 sockets opened ≈ 3.7/s), for a few minutes.
    soak: {
      people: 300,
      conversations: 130,
      publicShare: 0.25,
      roomSize: [3, 30],
      durationMs: quick ? 60_000 : 180_000,
      windowMs: 10_000,
      writesPerSec: 150,
      reconnectsPerSec: 3.7,
      oldCursorShare: 0.3,
      loginsPerSec: 0.5,
      sessionMs: 20_000,
      leavesPerSec: 0.3,
      rejoinMs: 5_000,
      serverNice: null,
    },
    // Issue 17: 20 clients uploading 25 MiB files at once; 1 MiB files beside them show memory does not follow the file size.
    uploads: { clients: 20, sizesMiB: [1, 25], rounds: quick ? 1 : 3 },
    // Issue 18: search on a seeded installation of 1,000,000 messages (quick: 100,000), on SQLite and PostgreSQL.
    search: {
      messages: quick ? 100_000 : 1_000_000,
      users: 50,
      rooms: 20,
      samples: quick ? 60 : 300,
      warmup: quick ? 10 : 40,
      databases: ["sqlite", "postgres"],
      postgresUrl: process.env.PARLEY_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
      backfillBatch: 2_000,
    },
  };
}

const TITLES: Record<ScenarioName, string> = {
  "room-fanout": "room-fanout: 1,000 clients in 10 rooms of 100",
  dm: "dm: 500 pairs in direct rooms",
  connections: "connections: idle authenticated sockets",
  history: "history: pages and resume from a room of 1,000,000 messages",
  startup: "startup: time to first accepted socket on 1,000,000 messages",
  soak: "soak: a long mixed run with churn, watched for event-loop stalls",
  uploads: "uploads: 20 clients uploading large files at once",
  search: "search: queries on an installation of 1,000,000 messages, SQLite and PostgreSQL",
};

const COMMON_METHOD = [
  "Everything runs on 127.0.0.1. Each server is a child process pinned to core 0 (`taskset -c 0`), the load generator's worker processes and the harness to core 1, the same for every target. Other work on the machine is not stopped: `background CPU %` is the CPU used during a step by processes that are not part of the run (from /proc/stat minus the server, the workers, the harness and, for socket.io, redis), as % of one core; high values mean the numbers are noisy.",
  "Server CPU is utime+stime of the server process (all threads) from /proc/<pid>/stat; RSS is VmRSS from /proc/<pid>/status.",
];

const MESSAGING_METHOD = [
  "Clients are real accounts: Parley's are signed up over HTTP (POST /api/v1/auth/signup, then a Bearer token from POST /api/v1/tokens, rooms created and joined over the API; made once and cached under bench/.cache/), socket.io's are users with a token in its own SQLite database; the bare ws relay has no auth.",
  "Every send is a real `message.send` frame (contract v1; for socket.io the same fields as an event with an ack) with a unique clientId and a 64-character body `~<step>.<scheduled send time µs>.<sender slot>.<sender counter>.` padded with x.",
  "Open loop: send times are fixed in advance (start + k / rate, round-robin over the clients, interleaving rooms) and never wait for answers. Latency is measured from the scheduled send time (carried in the body) to the arrival of each delivery on the monotonic clock shared by all processes, so stalls of the server, the network or the generator all count (no coordinated omission). `senderLag` in the JSON is how late the generator actually wrote each send.",
  "Every delivery to every receiving client is counted and its latency recorded (no sampling) in an HdrHistogram (3 significant digits). A delivery is a `message.created` to a member other than the sender; all three servers also echo the message to the sender, and those echoes are counted apart, not as deliveries. Offered deliveries/s = sends/s × (room size − 1).",
  "The generator parses only the first bytes of a frame (its type) and the numbers of the body (found with Buffer.indexOf), never the whole frame; it skips UTF-8 validation. It reports its own CPU (`loadgen CPU %`, all workers, % of its one core during the send window); a step at ≥ 90 % is marked load-generator bound, and its latencies say more about the generator than the server.",
  "Lost = expected deliveries (Σ over sends written of room size − 1) − deliveries counted after the drain: after each send window the harness waits until every expected delivery and every ack arrived, or the drain timeout. Deliveries that arrive after the drain are counted as `late` in the next step, not as deliveries. Duplicates and reordering per sender are counted too.",
  "Before the measured steps an unrecorded warm-up lets each client send about once (at most 20,000 deliveries/s), so the measured steps do not pay for JIT or a socket's first message. A target stops at its first step with p99 > 50 ms, any loss, error or closed socket, or a saturated load generator, unless that step ran on a busy machine (background over 35 % of a core after a repeat): such a failure is marked noisy and the target goes on (at most twice).",
  "Server CPU per delivery = server CPU time from the start of the step to the end of its drain ÷ deliveries; compare targets at the same offered rate.",
  "Where a message's time goes (Parley): Parley runs with its metrics listener on; its GET /metrics is scraped just before each step and just after its drain. The send path times its own stages (intake per frame, work per message, commit and publish per group commit, flush per turn) into Prometheus histograms; the growth of their sums over the step ÷ messages stored (work observations) gives µs per message per stage, with mean batch size, queue wait and fsync per group commit and the fan-out median (commit → sockets) interpolated from buckets. Server CPU is split by thread from /proc/<pid>/task: the main thread (event loop) and all others (libuv's pool with the fsyncs, the WAL checkpointer worker, V8 helpers). Main outside stages = main-thread CPU − stages (ws frame reading, libuv, timers, GC); other = total CPU − stages.",
  "The targets run side by side: all are started and warmed up first, then each step runs on each target in turn (the order rotating from step to step), so a drift of the machine's speed touches all alike; idle servers wait on the same core meanwhile at the lowest scheduling priority (nice 19), so their heartbeats do not cut into the measured server's core. Before each step the harness times a fixed piece of work on each core (`coreSpeed` in the JSON, ms, lower is faster): a virtual machine's cores change speed with the host's load, which no counter inside the machine shows.",
];

export interface RunOutput {
  result: ScenarioResult;
}

/**
 * Issue 10's bar ("the send path at relay speed"), checked on the run's own
 * numbers: ratios to the other targets measured in the same run, since
 * machines here differ by about 3×. Light load = the lowest step (1,000
 * messages/s for dm, 10,000 deliveries/s for room-fanout).
 */
function messagingBar(scenario: ScenarioName, runs: MessagingTargetRun[]): ScenarioResult["bar"] {
  const p = runs.find((r) => r.target === "parley");
  const ws = runs.find((r) => r.target === "ws");
  const sio = runs.find((r) => r.target === "socketio");
  if (!p) return [];
  const bar: ScenarioResult["bar"] = [];
  const at = (run: MessagingTargetRun | undefined, rate: number) => run?.steps.find((s) => s.offeredDeliveriesPerSec === rate);
  const fmt = (n: number) => n.toLocaleString("en");
  const highest = (minimum: number, factor: number) => {
    const need = Math.max(minimum, sio ? factor * sio.maxPassingDeliveriesPerSec : minimum);
    bar.push({
      check: `Parley's highest passing rate (p99 ≤ 50 ms, no loss) ≥ ${fmt(minimum)}/s and ≥ ${factor}× Socket.IO's`,
      value: `${fmt(p.maxPassingDeliveriesPerSec)}/s${sio ? ` vs Socket.IO ${fmt(sio.maxPassingDeliveriesPerSec)}/s (×${sio.maxPassingDeliveriesPerSec > 0 ? (p.maxPassingDeliveriesPerSec / sio.maxPassingDeliveriesPerSec).toFixed(2) : "∞"})` : " (Socket.IO not run)"}`,
      pass: sio ? p.maxPassingDeliveriesPerSec >= need : null,
    });
  };
  const lightP50 = (rate: number) => {
    const mine = at(p, rate);
    const relay = at(ws, rate);
    const pass = mine && relay && mine.latency.p50 !== null && relay.latency.p50 !== null ? mine.latency.p50 <= relay.latency.p50 + 1.5 : null;
    bar.push({
      check: `Light load (${fmt(rate)}/s): Parley's p50 ≤ bare ws's + 1.5 ms`,
      value: mine && relay ? `${mine.latency.p50} vs ${relay.latency.p50} ms (+${((mine.latency.p50 ?? NaN) - (relay.latency.p50 ?? NaN)).toFixed(2)})` : "step not run on both",
      pass,
    });
  };
  if (scenario === "room-fanout") {
    highest(50_000, 1.5);
    const at10k = at(p, 10_000);
    bar.push({ check: "Parley p99 ≤ 10 ms at 10,000 deliveries/s", value: at10k ? `p99 ${at10k.latency.p99} ms${at10k.pass ? "" : ` (${at10k.flags.join("; ")})`}` : "no 10,000/s step", pass: at10k ? at10k.lost === 0 && (at10k.latency.p99 ?? Infinity) <= 10 : null });
    if (ws) {
      const pairs = p.steps
        .filter((s) => s.offeredDeliveriesPerSec >= 10_000)
        .map((s) => ({ s, w: at(ws, s.offeredDeliveriesPerSec) }))
        .filter((x) => x.w && x.s.serverCpuUsPerDelivery !== null && x.w.serverCpuUsPerDelivery !== null);
      const ratios = pairs.map((x) => ({ rate: x.s.offeredDeliveriesPerSec, ratio: x.s.serverCpuUsPerDelivery! / x.w!.serverCpuUsPerDelivery!, p: x.s.serverCpuUsPerDelivery!, w: x.w!.serverCpuUsPerDelivery! }));
      bar.push({
        check: "Parley server CPU per delivery ≤ bare ws's at every step from 10,000/s up",
        value: ratios.length ? ratios.map((x) => `${fmt(x.rate)}/s: ${x.p} vs ${x.w} µs (×${x.ratio.toFixed(2)})`).join("; ") : "no common step",
        pass: ratios.length ? ratios.every((x) => x.ratio <= 1) : null,
      });
      lightP50(10_000);
      bar.push({
        check: "Headline: Parley's highest passing rate ÷ bare ws's",
        value: ws.maxPassingDeliveriesPerSec > 0 ? `${fmt(p.maxPassingDeliveriesPerSec)} / ${fmt(ws.maxPassingDeliveriesPerSec)} = ${(p.maxPassingDeliveriesPerSec / ws.maxPassingDeliveriesPerSec).toFixed(2)}` : "ws passed no step",
        pass: null,
      });
    }
  }
  if (scenario === "dm") {
    highest(3_000, 2);
    const mine = at(p, 1_000);
    const theirs = at(sio, 1_000);
    bar.push({
      check: "Parley server CPU per message at 1,000/s ≤ Socket.IO's (its Redis not counted)",
      value: mine && theirs ? `${mine.serverCpuUsPerDelivery} vs ${theirs.serverCpuUsPerDelivery} µs` : "step not run on both",
      pass: mine && theirs && mine.serverCpuUsPerDelivery !== null && theirs.serverCpuUsPerDelivery !== null ? mine.serverCpuUsPerDelivery <= theirs.serverCpuUsPerDelivery : null,
    });
    lightP50(1_000);
  }
  return bar;
}

/** Runs one scenario against `targets` and returns its result (not yet written). */
export async function runScenario(ctx: BenchContext, scenario: ScenarioName, targets: TargetName[], quick: boolean, params: ScenarioParams = {}): Promise<ScenarioResult> {
  const startedAt = new Date();
  const d = defaults(scenario, quick);
  const result: ScenarioResult = {
    scenario,
    title: TITLES[scenario],
    date: startedAt.toISOString().slice(0, 10),
    startedAt: startedAt.toISOString(),
    finishedAt: "",
    quick,
    machine: machineInfo(),
    git: ctx.git ?? gitInfo(),
    config: { pin: ctx.pin, parleyEnv: ctx.parleyEnv },
    method: [...COMMON_METHOD],
    bar: [],
  };
  if (scenario === "room-fanout" || scenario === "dm") {
    const m: MessagingOptions = { ...d.messaging, ...params.messaging };
    const clients = params.messaging?.clients ?? d.messaging.clients;
    const roomSize = params.messaging?.roomSize ?? d.messaging.roomSize;
    m.spec = { clients, roomSize, use: scenario === "dm" ? "direct" : "rooms" };
    result.config = { ...result.config, clients, roomSize: scenario === "dm" ? 2 : roomSize, bodyChars: 64, steps: m.steps, durationMs: m.durationMs, drainMs: m.drainMs, warmupMs: m.warmupMs, workers: m.workers, p99LimitMs: m.p99LimitMs };
    result.method.push(...MESSAGING_METHOD);
    ctx.log(`== ${scenario}: ${targets.join(", ")}`);
    result.messaging = await runMessaging(ctx, targets.map((t) => TARGETS[t]), m);
    result.bar = messagingBar(scenario, result.messaging);
  } else if (scenario === "connections") {
    const c: ConnectionsOptions = { ...d.connections, ...params.connections };
    result.config = { ...result.config, ...c, openFileLimit: openFileLimit() };
    result.method.push(
      "Idle authenticated sockets: Parley's are Bearer-token sockets of distinct accounts (seeded straight into SQLite: signing up 19,500 accounts over HTTP would take over ten minutes of argon2), each account a member of one room of 100, so each socket holds its room subscription; socket.io's authenticate with a token looked up in SQLite and join their room; the ws relay's name their room in the URL.",
      `Sockets are opened in steps (cumulative), at most ${c.connectConcurrency} in flight per load-generator process, spread over processes of at most ${c.clientsPerWorker} sockets (the open-file limit is per process). After each step the server is left idle ${c.settleMs / 1000} s, then its RSS is read. Per socket = (RSS − RSS before the first socket) ÷ sockets; marginal = growth since the previous step ÷ sockets added. RSS includes garbage not yet collected; no GC is forced.`,
      "Kernel TCP memory (not in RSS) is read from /proc/net/sockstat for the whole machine; each loopback connection has both ends on this machine, so it is halved per socket.",
    );
    result.connections = [];
    for (const t of targets) {
      ctx.log(`== connections: ${t}`);
      result.connections.push(await runConnectionsTarget(ctx, TARGETS[t], c));
    }
    const p = result.connections.find((r) => r.target === "parley");
    if (p) {
      const last = p.steps[p.steps.length - 1];
      const max = c.steps[c.steps.length - 1]!;
      const proj = projection100k(p);
      result.bar.push({ check: `Parley holds ${max.toLocaleString("en")} sockets (the open-file limit less a margin)`, value: last ? `${last.opened.toLocaleString("en")} open, ${last.failed} failed` : (p.error ?? "no step"), pass: !!last && last.opened >= max && last.failed === 0 });
      result.bar.push({ check: "Parley ≤ 8 KiB server RSS per socket", value: proj ? `${proj.perSocketKiB.toFixed(2)} KiB at ${proj.sockets.toLocaleString("en")} sockets` : "–", pass: proj ? proj.perSocketKiB <= 8 : null });
    }
  } else if (scenario === "history") {
    const h: HistoryOptions = { ...d.history, ...params.history };
    result.config = { ...result.config, ...h };
    result.method.push(
      `The room's ${h.messages.toLocaleString("en")} messages (and one member.joined event per member) are written straight into Parley's SQLite file in the server's own schema and frame format (bench/targets/parley-seed.ts), cached under bench/.cache/, copied for the run; the server then serves it as is.`,
      `One client, one request at a time, keep-alive: ${h.pages} × GET the newest page (limit=50) and ${h.pages} × GET the page before a random seq, after 200 unrecorded warm-up requests of each; latency is request written → body read, on the client.`,
      `Resume: ${h.resumes} times, a fresh socket (Bearer) sends resume with the room at head − ${h.resumeEvents}; latency is command sent → ack received, and every one of the ${h.resumeEvents} events must have arrived before the ack, in seq order.`,
      "Only Parley: the comparison servers keep no history.",
    );
    try {
      result.history = await runHistory(ctx, h);
      const r = result.history;
      result.bar.push({ check: "history p99 ≤ 5 ms: newest page of 50", value: `p99 ${r.newestPage.p99} ms`, pass: (r.newestPage.p99 ?? Infinity) <= 5 });
      result.bar.push({ check: "history p99 ≤ 5 ms: page of 50 at a random depth", value: `p99 ${r.deepPage.p99} ms`, pass: (r.deepPage.p99 ?? Infinity) <= 5 });
      result.bar.push({ check: `history p99 ≤ 5 ms: resume of ${h.resumeEvents} missed events`, value: `p99 ${r.resume.p99} ms`, pass: (r.resume.p99 ?? Infinity) <= 5 });
    } catch (err) {
      ctx.log(`history failed: ${(err as Error).message}`);
      result.bar.push({ check: "history", value: `error: ${(err as Error).message}`, pass: false });
      result.config = { ...result.config, error: (err as Error).stack ?? String(err) };
    }
  } else if (scenario === "startup") {
    const s: StartupOptions = { ...d.startup, ...params.startup };
    result.config = { ...result.config, ...s };
    result.method.push(
      "Time from spawning `node dist/server/main.js` (pinned) to the `ready` frame of the first socket that gets in; a client retries every 5 ms from the spawn. The database file has just been copied and flushed, and one unrecorded start ran on each database first, so the file is in the page cache: a warm restart.",
      "Only Parley.",
    );
    try {
      result.startup = await runStartup(ctx, s);
      result.bar.push({ check: "startup ≤ 1 s on 1,000,000 messages (slowest run)", value: `median ${result.startup.medianMs} ms, max ${result.startup.maxMs} ms`, pass: result.startup.maxMs <= 1000 });
    } catch (err) {
      ctx.log(`startup failed: ${(err as Error).message}`);
      result.bar.push({ check: "startup", value: `error: ${(err as Error).message}`, pass: false });
      result.config = { ...result.config, error: (err as Error).stack ?? String(err) };
    }
  } else if (scenario === "soak") {
    const s: SoakOptions = { ...d.soak, ...params.soak };
    result.config = { ...result.config, ...s, cpuProfile: process.env.BENCH_PARLEY_NODE_ARGS ?? null };
    result.method.push(
      `${s.people} people signed up over HTTP (real argon2), in ${Math.round(s.conversations * s.publicShare)} public rooms of ${s.roomSize[0]}–${s.roomSize[1]} members and ${s.conversations - Math.round(s.conversations * s.publicShare)} direct conversations; one Bearer socket each to start with.`,
      `Open loop for ${s.durationMs / 1000} s: ${s.writesPerSec} writes/s on a fixed schedule (about 70 % message.send, each after a typing start; 12 % edits, 5 % deletions, 13 % reaction adds and removes of the writer's own recent messages); each message.created received answers room.delivered (30 %) or room.read (10 %).`,
      `Churn: ${s.reconnectsPerSec} reconnects/s (socket closed, GET /rooms, GET the newest page of a room, a new socket resuming every room, ${Math.round(s.oldCursorShare * 100)} % from the cursors taken when the load started), ${s.loginsPerSec} password logins/s (a cookie socket resuming from the old cursors, logged out ${s.sessionMs / 1000} s later on average), ${s.leavesPerSec} leaves/s of a public room rejoined ${s.rejoinMs / 1000} s later on average.`,
      `Every ${s.windowMs / 1000} s the harness scrapes the node's metrics: nodejs_eventloop_lag_max_seconds (prom-client resets it at each scrape, so it is the window's max), the group-commit run and fsync histograms (counts over 100 ms; max = the upper bound of the highest bucket that grew) and the query histogram; and reads the node's log for "event loop blocked N ms" lines (the watch of src/server/metrics/event-loop.ts, exact lengths). Ack latency is command → ack on the client, every write.`,
      "With BENCH_PARLEY_NODE_ARGS=\"--cpu-prof --cpu-prof-dir=DIR\" the server writes a V8 CPU profile at its graceful stop; `node --import tsx bench/lib/cpu-profile.ts DIR/*.cpuprofile` lists its long tasks (stretches of the main thread busy over 100 ms) with the functions that took them.",
    );
    ctx.log(`== soak: ${s.durationMs / 1000} s`);
    try {
      result.soak = await runSoak(ctx, s);
      const t = result.soak.totals;
      result.bar.push({ check: "soak: no event-loop stall of 100 ms or more", value: `${t.stalls} stalls in ${t.windowsWithStall} of ${result.soak.windows.length} windows, longest ${t.maxStallMs ?? "–"} ms (${t.stallWaitPct ?? "–"} % of their time waiting for a CPU)`, pass: t.stalls === 0 });
      result.bar.push({ check: "soak: no stall with 100 ms or more of the node's own work on the CPU", value: `${t.workStalls}`, pass: t.workStalls === 0 });
      result.bar.push({ check: "soak: no group commit or fsync of 100 ms or more", value: `${t.batchesOver100ms} group commits, ${t.fsyncsOver100ms} fsyncs`, pass: t.batchesOver100ms === 0 && t.fsyncsOver100ms === 0 });
      result.bar.push({
        check: "soak: every write answered (those on a socket the client closed excepted)",
        value: `${t.writesAcked} acked, ${t.writeErrors} errors, ${t.writesCut} cut by a close, ${t.writesUnanswered} unanswered of ${t.writesSent}; ack p99 ${t.ack.p99} ms, max ${t.ack.max} ms`,
        pass: t.writesUnanswered === 0,
      });
    } catch (err) {
      ctx.log(`soak failed: ${(err as Error).message}`);
      result.bar.push({ check: "soak", value: `error: ${(err as Error).message}`, pass: false });
      result.config = { ...result.config, error: (err as Error).stack ?? String(err) };
    }
  }
  if (scenario === "uploads") {
    const u: UploadsOptions = { ...d.uploads, ...params.uploads };
    result.config = { ...result.config, ...u };
    result.method.push(
      `${u.clients} accounts signed up over HTTP, each with a Bearer token; per size (${u.sizesMiB.join(", ")} MiB), ${u.rounds} round(s) of every client POSTing one file of random bytes to /api/v1/uploads at once (multipart, Content-Length given, streamed from a 1 MiB buffer with back-pressure); each upload deleted (DELETE /uploads/:id) before the next round.`,
      "Throughput is the bytes of a round over its wall time (first request to last answer); the server's RSS is sampled every 20 ms during the rounds (peak) against its value just before (baseline), on local-disk storage under the run's data directory.",
    );
    ctx.log(`== uploads: ${u.clients} clients × ${u.sizesMiB.join(", ")} MiB`);
    try {
      result.uploads = await runUploads(ctx, u);
      const growth = result.uploads.rssGrowthWithSizeMiB;
      const largest = result.uploads.steps.at(-1);
      result.bar.push({
        check: "uploads: server memory does not grow with the file size (peak RSS with the largest files minus with the smallest, under 64 MiB)",
        value: growth === null ? "–" : `${growth} MiB more at ${largest?.sizeMiB} MiB than at ${result.uploads.steps[0]?.sizeMiB} MiB (${u.clients} uploads at once, ${(u.clients * (largest?.sizeMiB ?? 0)).toLocaleString("en")} MiB in flight)`,
        pass: growth === null ? null : growth < 64,
      });
      result.bar.push({ check: "uploads: every upload answered 201", value: result.uploads.steps.map((st) => `${st.errors} errors at ${st.sizeMiB} MiB`).join(", "), pass: result.uploads.steps.every((st) => st.errors === 0) });
    } catch (err) {
      ctx.log(`uploads failed: ${(err as Error).message}`);
      result.bar.push({ check: "uploads", value: `error: ${(err as Error).message}`, pass: false });
      result.config = { ...result.config, error: (err as Error).stack ?? String(err) };
    }
  }
  if (scenario === "search") {
    const s: SearchOptions = { ...d.search, ...params.search };
    result.title = `search: queries on an installation of ${s.messages.toLocaleString("en")} messages, ${s.databases.map((x) => (x === "sqlite" ? "SQLite" : "PostgreSQL")).join(" and ")}`;
    result.config = { ...result.config, ...s, postgresUrl: s.postgresUrl.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@") };
    result.method.push(
      `An installation of ${s.messages.toLocaleString("en")} messages in ${s.rooms} public rooms of ${s.users} members (the searcher is in every room, so every search covers every message), written straight into SQLite in the server's schema and frame format (bench/targets/parley-search-seed.ts), from a seeded generator: 95 % English messages of 3 to 30 words drawn with Zipf weights (s = 1) from the 3,000 most frequent words of Parley's docs, 3 % of them with one of ten two-word phrases, about 1 in 50,000 with one of ten rare words; 5 % CJK messages (Chinese and Japanese words without spaces). One year of messages, UUID v7 ids.`,
      `The search index is built by the backfill the server runs after an upgrade (search/backfill.ts), in batches of ${s.backfillBatch.toLocaleString("en")} with no pause, in the harness's process: on SQLite once and cached with the seed under bench/.cache/; on PostgreSQL in a database of a unique name created for the run (the seed copied into it by \`npm run copy-database\`'s code, which leaves the index out, then the backfill, then VACUUM ANALYZE) and dropped after it.`,
      `One client, one request at a time over a keep-alive connection with a Bearer token: GET /api/v1/search?q=…&sort=relevance|date&limit=20 (the newest page, i.e. the first), per query kind and sort ${s.warmup} unrecorded requests then ${s.samples} measured ones, taking the kind's queries in turn (${QUERY_KINDS.map((k) => `${k.kind}: ${k.queries.join(", ")}`).join("; ")}). Latency is request written → body read, on the client.`,
    );
    ctx.log(`== search: ${s.messages.toLocaleString("en")} messages on ${s.databases.join(", ")}`);
    try {
      result.search = await runSearch(ctx, s);
      for (const db of result.search.databases) {
        if (db.error) result.bar.push({ check: `search on ${db.database}`, value: `error: ${db.error.split("\n")[0]}`, pass: false });
      }
      const sqlite = result.search.databases.find((x) => x.database === "sqlite");
      for (const kind of QUERY_KINDS.map((k) => k.kind)) {
        const runs = sqlite?.runs.filter((r) => r.kind === kind) ?? [];
        if (runs.length === 0) continue;
        const worst = Math.max(...runs.map((r) => r.latency.p99 ?? Infinity));
        result.bar.push({
          check: `search p99 ≤ 50 ms on SQLite at ${s.messages.toLocaleString("en")} messages: ${kind}`,
          value: runs.map((r) => `${r.sort} p99 ${r.latency.p99} ms`).join(", "),
          pass: worst <= 50,
        });
      }
    } catch (err) {
      ctx.log(`search failed: ${(err as Error).message}`);
      result.bar.push({ check: "search", value: `error: ${(err as Error).message}`, pass: false });
      result.config = { ...result.config, error: (err as Error).stack ?? String(err) };
    }
  }
  result.finishedAt = new Date().toISOString();
  return result;
}

/** A context with a fresh scratch directory; call `cleanup` at the end. */
export function createContext(opts: Partial<Omit<BenchContext, "tmpDir" | "runId">> & { parleyMain: string }): BenchContext & { cleanup(): void } {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-bench-"));
  return {
    pin: opts.pin ?? true,
    serverCore: opts.serverCore ?? 0,
    loadCore: opts.loadCore ?? 1,
    parleyMain: opts.parleyMain,
    parleyEnv: opts.parleyEnv ?? {},
    cacheDir: opts.cacheDir === undefined ? null : opts.cacheDir,
    tmpDir,
    redisUrl: opts.redisUrl ?? "redis://127.0.0.1:6379",
    runId: `${process.pid}-${randomBytes(4).toString("hex")}`,
    log: opts.log ?? ((line) => process.stdout.write(`${line}\n`)),
    quiet: opts.quiet ?? defaultQuietPolicy(false),
    ...(opts.git ? { git: opts.git } : {}),
    ...(opts.pushSubscribed ? { pushSubscribed: true } : {}),
    cleanup: () => fs.rmSync(tmpDir, { recursive: true, force: true }),
  };
}
