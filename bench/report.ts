import fs from "node:fs";
import path from "node:path";
import type * as vegaLite from "vega-lite";
import type { LatencySummary } from "./lib/hist.js";
import type { ConnectionsTargetRun, MessagingTargetRun, ScenarioResult } from "./scenarios/common.js";
import type { SoakResult } from "./scenarios/soak.js";
import type { UploadsResult } from "./scenarios/uploads.js";
import type { SearchBenchResult } from "./scenarios/search.js";

/**
 * Writes a scenario's result three ways: the JSON (everything measured),
 * a markdown table, and a PNG chart (vega-lite → SVG → resvg). The chart
 * of the messaging scenarios is latency percentiles against offered rate,
 * one line per target.
 */

const fmt = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined || Number.isNaN(x) ? "–" : x.toLocaleString("en", { maximumFractionDigits: digits }));
const int = (x: number | null | undefined): string => fmt(x, 0);
const mib = (b: number | null | undefined): string => (b === null || b === undefined ? "–" : fmt(b / 2 ** 20, 1));
const kib = (b: number | null | undefined): string => (b === null || b === undefined ? "–" : fmt(b / 1024, 2));
const yes = (b: boolean | null): string => (b === null ? "n/a" : b ? "✅" : "❌");

// ---------------------------------------------------------------- markdown

function header(r: ScenarioResult): string[] {
  const m = r.machine;
  return [
    `## ${r.title}${r.quick ? " (quick)" : ""}`,
    "",
    `Run ${r.startedAt} → ${r.finishedAt}. ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}; ` +
      `commit ${r.git.commit?.slice(0, 10) ?? "?"}${r.git.dirty ? " with uncommitted changes in src/" : ""}. ` +
      (m.taskset && r.config.pin ? "Server pinned to core 0, load generator (and harness) to core 1 with taskset." : "Not pinned."),
    "",
  ];
}

function messagingTable(runs: MessagingTargetRun[]): string[] {
  const lines = [
    "| target | offered deliveries/s | achieved/s | p50 ms | p90 ms | p99 ms | max ms | lost | errors | ack p99 ms | server CPU % | server µs/delivery | server RSS MiB | loadgen CPU % | background CPU % | disk busy % | core speed ms (server/load) | pass |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const run of runs) {
    if (run.error && run.steps.length === 0) {
      lines.push(`| ${run.target} | failed: ${run.error.split("\n")[0]} |  |  |  |  |  |  |  |  |  |  |  |  |  |  |  |  |`);
      continue;
    }
    for (const s of run.steps) {
      const side = s.sideCpuUsPerDelivery ? Object.entries(s.sideCpuUsPerDelivery).map(([k, v]) => `+${fmt(v, 2)} ${k}`) : [];
      if (s.redisCpuUsPerDelivery !== undefined && s.redisCpuUsPerDelivery !== null) side.push(`+${fmt(s.redisCpuUsPerDelivery, 2)} redis`);
      const cpu = `${fmt(s.serverCpuUsPerDelivery, 2)}${s.nodes ? ` (${s.nodes} nodes)` : ""}${side.length ? ` (${side.join(", ")})` : ""}`;
      lines.push(
        `| ${run.target} | ${int(s.offeredDeliveriesPerSec)} | ${int(s.achievedDeliveriesPerSec)} | ${fmt(s.latency.p50, 2)} | ${fmt(s.latency.p90, 2)} | ${fmt(s.latency.p99, 2)} | ${fmt(s.latency.max, 1)} | ${int(s.lost)} | ${int(s.errors)} | ${fmt(s.ack.p99, 2)} | ${fmt(s.serverCpuPct)} | ${cpu} | ${mib(s.serverRssBytes)} | ${fmt(s.loadgenCpuPct)} | ${fmt(s.backgroundCpuPct, 0)} | ${fmt(s.diskBusyPct, 0)} | ${s.coreSpeed ? `${fmt(s.coreSpeed.serverCoreMs, 0)}/${fmt(s.coreSpeed.loadCoreMs, 0)}` : "–"} | ${s.pass ? "✅" : `❌ ${s.flags.join("; ")}`} |`,
      );
    }
  }
  return lines;
}

/**
 * "Where a message's time goes (Parley)": per message sent, the event-loop
 * µs of each instrumented send-path stage, the server's CPU by thread, and
 * the group commits' shape (bench/lib/send-breakdown.ts). Empty when no
 * Parley step carries a breakdown (older results, other targets only).
 */
function breakdownTable(runs: MessagingTargetRun[]): string[] {
  const rows: string[] = [];
  for (const run of runs) {
    for (const s of run.steps) {
      const b = s.parleyBreakdown;
      if (!b) continue;
      const st = b.stageUs;
      rows.push(
        `| ${run.target} | ${int(s.offeredDeliveriesPerSec)} | ${int(b.messages)}${b.messagesFrom === "sends-written" ? "*" : ""} | ${fmt(st?.intake, 1)} | ${fmt(st?.work, 1)} | ${fmt(st?.commit, 1)} | ${fmt(st?.publish, 1)} | ${fmt(st?.flush, 1)} | ${fmt(b.stagesUs, 1)} | ${fmt(b.mainThreadCpuUs, 1)} | ${fmt(b.mainOutsideStagesUs, 1)} | ${fmt(b.otherThreadsCpuUs, 1)} | ${fmt(b.totalCpuUs, 1)} | ${fmt(b.otherUs, 1)} | ${fmt(b.meanBatchSize, 1)} | ${fmt(b.meanQueueMs, 2)} / ${fmt(b.queueP99Ms, 1)} | ${fmt(b.meanFsyncMs, 2)} / ${fmt(b.fsyncP99Ms, 1)} | ${fmt(b.fanoutP50Ms, 2)} / ${fmt(b.fanoutP99Ms, 1)} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [
    "Where a message's time goes (Parley), per message sent, from the server's own send-path metrics and its CPU by thread (µs; ms where noted):",
    "",
    "| target | offered deliveries/s | messages | intake | work | commit | publish | flush | stages | main thread CPU | main, outside stages | other threads CPU | total CPU | other (total − stages) | batch size | queue wait ms (mean / p99) | fsync ms (mean / p99) | fan-out ms (p50 / p99) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    "Stages are event-loop wall time the server recorded (intake per frame, work per message, commit and publish per group commit, flush per turn), spread over the messages. " +
      "Main outside stages: ws frame reading, libuv polling, timers, GC on the main thread. Other threads: libuv's pool (fsync), the WAL checkpointer worker, V8's helpers. " +
      "Other = total CPU − stages. Batch size is a mean per group commit; queue wait (oldest work submitted → batch started: the commit window, the previous batch's fsync, a checkpoint's tail) and fsync are per group commit, mean / p99; fan-out (commit → frames handed to the sockets) p50 / p99; percentiles are interpolated from histogram buckets. " +
      "– = not reported (metrics not scraped); * = divided by the sends written, the server having reported no stored message.",
  ];
}

/** CPU µs per delivery of everything that serves a step: the node(s), plus nginx, Redis and PostgreSQL backends where measured. */
export function totalCpuUsPerDelivery(s: MessagingTargetRun["steps"][number]): number | null {
  if (s.serverCpuUsPerDelivery === null) return null;
  const side = Object.values(s.sideCpuUsPerDelivery ?? {}).reduce<number>((a, v) => a + (v ?? 0), 0);
  return s.serverCpuUsPerDelivery + side + (s.redisCpuUsPerDelivery ?? 0);
}

/** The single-node target each multi-node target is compared with (issue 11). */
export const MULTI_NODE_PAIRS: [single: string, multi: string][] = [
  ["parley", "parley-2n"],
  ["socketio", "socketio-2n"],
];

/**
 * Issue 11, the cost of going multi-node: at each offered rate both the
 * single node and its two-node counterpart ran, CPU µs per delivery of the
 * nodes and of everything (nodes + nginx + Redis + PostgreSQL backends), and
 * the latencies side by side. Empty when no pair ran.
 */
export function multiNodeTable(runs: MessagingTargetRun[]): string[] {
  const rows: string[] = [];
  for (const [single, multi] of MULTI_NODE_PAIRS) {
    const a = runs.find((r) => r.target === single);
    const b = runs.find((r) => r.target === multi);
    if (!a || !b) continue;
    for (const sa of a.steps) {
      const sb = b.steps.find((x) => x.offeredDeliveriesPerSec === sa.offeredDeliveriesPerSec);
      if (!sb) continue;
      const ta = totalCpuUsPerDelivery(sa);
      const tb = totalCpuUsPerDelivery(sb);
      const ratio = (x: number | null, y: number | null) => (x !== null && y !== null && x > 0 ? `×${fmt(y / x, 2)}` : "–");
      const side = Object.entries(sb.sideCpuUsPerDelivery ?? {})
        .map(([k, v]) => `${k} ${fmt(v, 2)}`)
        .join(", ");
      rows.push(
        `| ${single} → ${multi} | ${int(sa.offeredDeliveriesPerSec)} | ${fmt(sa.serverCpuUsPerDelivery, 2)} → ${fmt(sb.serverCpuUsPerDelivery, 2)} (${ratio(sa.serverCpuUsPerDelivery, sb.serverCpuUsPerDelivery)}) | ${side || "–"} | ${fmt(ta, 2)} → ${fmt(tb, 2)} (${ratio(ta, tb)}, ${ta !== null && tb !== null ? `${tb >= ta ? "+" : ""}${fmt(tb - ta, 2)}` : "–"}) | ${fmt(sa.latency.p50, 2)} → ${fmt(sb.latency.p50, 2)} | ${fmt(sa.latency.p99, 2)} → ${fmt(sb.latency.p99, 2)} | ${sa.pass ? "✅" : "❌"} / ${sb.pass ? "✅" : "❌"} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [
    "The cost of going multi-node (issue 11): single node → two nodes behind nginx, at the same offered rate:",
    "",
    "| single → two nodes | offered deliveries/s | nodes' CPU µs/delivery | beside the 2 nodes, µs/delivery | all CPU µs/delivery (Δ) | p50 ms | p99 ms | pass (1 / 2 nodes) |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ...rows,
    "",
    "Nodes' CPU: the single node's process, or both nodes' summed. All CPU adds nginx (master and worker), every redis-server on the machine (also for single-node socket.io, whose adapter publishes to Redis) and the PostgreSQL backends of the run's database (PostgreSQL's WAL writer, checkpointer and other shared processes are not counted).",
  ];
}

function messagingSummary(runs: MessagingTargetRun[]): string[] {
  const lines = ["| target | highest passing rate (deliveries/s) | stopped because | clients ready in | setup |", "| --- | ---: | --- | ---: | --- |"];
  for (const run of runs) {
    const setup = Object.entries(run.setup)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    lines.push(
      `| ${run.target} | ${int(run.maxPassingDeliveriesPerSec)} | ${run.error ? `error: ${run.error.split("\n")[0]}` : (run.stoppedBecause ?? "all steps passed")} | ${run.connect ? `${fmt(run.connect.ms / 1000)} s` : "–"} | ${setup} |`,
    );
  }
  return lines;
}

function connectionsTable(runs: ConnectionsTargetRun[]): string[] {
  const lines = [
    "| target | sockets | failed | time to connect s | connect p99 ms | server RSS MiB | RSS per socket KiB | marginal KiB/socket | server fds | server CPU to connect ms |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const run of runs) {
    if (run.error && run.steps.length === 0) {
      lines.push(`| ${run.target} | failed: ${run.error.split("\n")[0]} |  |  |  |  |  |  |  |  |`);
      continue;
    }
    lines.push(`| ${run.target} | 0 |  |  |  | ${mib(run.baselineRssBytes)} |  |  |  |  |`);
    for (const s of run.steps) {
      lines.push(
        `| ${run.target} | ${int(s.opened)} | ${int(s.failed)} | ${fmt(s.connectMs / 1000)} | ${fmt(s.connectLatency.p99, 1)} | ${mib(s.serverRssBytes)} | ${kib(s.rssPerSocketBytes)} | ${kib(s.marginalRssPerSocketBytes)} | ${int(s.serverFds)} | ${int(s.serverCpuMsToConnect)} |`,
      );
    }
  }
  return lines;
}

/** What one node needs for 100,000 sockets, from the largest step of a connections run. */
export function projection100k(
  run: ConnectionsTargetRun,
): { rssGiB: number; perSocketKiB: number; marginalKiB: number | null; kernelPerSocketKiB: number | null; sockets: number; baselineMiB: number } | null {
  const last = [...run.steps].reverse().find((s) => s.rssPerSocketBytes !== null && s.opened > 0);
  if (!last || run.baselineRssBytes === null || last.rssPerSocketBytes === null) return null;
  // Both ends of a loopback connection are on this machine: half of the growth is one end's.
  const buffers = last.kernelTcpBytes !== null && run.baselineKernelTcpBytes !== null ? (last.kernelTcpBytes - run.baselineKernelTcpBytes) / last.opened / 2 : null;
  const slab = last.kernelSlabBytes !== null && run.baselineKernelSlabBytes !== null ? (last.kernelSlabBytes - run.baselineKernelSlabBytes) / last.opened / 2 : null;
  const kernel = buffers === null && slab === null ? null : Math.max(0, (buffers ?? 0) + (slab ?? 0));
  return {
    sockets: last.opened,
    baselineMiB: run.baselineRssBytes / 2 ** 20,
    perSocketKiB: last.rssPerSocketBytes / 1024,
    marginalKiB: last.marginalRssPerSocketBytes === null ? null : last.marginalRssPerSocketBytes / 1024,
    rssGiB: (run.baselineRssBytes + 100_000 * last.rssPerSocketBytes) / 2 ** 30,
    kernelPerSocketKiB: kernel === null ? null : kernel / 1024,
  };
}

function latencyRow(name: string, l: LatencySummary): string {
  return `| ${name} | ${int(l.count)} | ${fmt(l.p50, 3)} | ${fmt(l.p90, 3)} | ${fmt(l.p99, 3)} | ${fmt(l.max, 3)} |`;
}

export function renderMarkdown(r: ScenarioResult, chartFile: string | null, opts: { method?: boolean } = {}): string {
  const out = header(r);
  out.push("Config: `" + JSON.stringify(r.config) + "`", "");
  if (r.messaging) {
    out.push(...messagingSummary(r.messaging), "", ...messagingTable(r.messaging), "");
    const multi = multiNodeTable(r.messaging);
    if (multi.length > 0) out.push(...multi, "");
    const breakdown = breakdownTable(r.messaging);
    if (breakdown.length > 0) out.push(...breakdown, "");
  }
  if (r.connections) {
    out.push(...connectionsTable(r.connections), "");
    out.push(
      "| target | RSS per socket (largest step) | marginal (last step) | projected server RSS for 100,000 sockets | kernel memory per socket (server end: socket slab + buffers) |",
      "| --- | ---: | ---: | ---: | ---: |",
    );
    for (const run of r.connections) {
      const p = projection100k(run);
      out.push(
        p
          ? `| ${run.target} | ${fmt(p.perSocketKiB, 2)} KiB at ${int(p.sockets)} sockets | ${p.marginalKiB === null ? "–" : `${fmt(p.marginalKiB, 2)} KiB`} | ${fmt(p.rssGiB, 2)} GiB (${fmt(p.baselineMiB, 0)} MiB + 100,000 × ${fmt(p.perSocketKiB, 2)} KiB) | ${p.kernelPerSocketKiB === null ? "–" : `${fmt(p.kernelPerSocketKiB, 2)} KiB`} |`
          : `| ${run.target} | – | – | – | – |`,
      );
    }
    out.push("");
  }
  if (r.history) {
    const h = r.history;
    out.push(
      `Room of ${int(h.roomMessages)} messages; server RSS after the run ${mib(h.serverRssBytes)} MiB; background CPU during the measurements ${fmt(h.backgroundCpuPct, 0)} % of a core.${h.error ? ` Error: ${h.error.split("\n")[0]}` : ""}`,
      "",
      "| query | samples | p50 ms | p90 ms | p99 ms | max ms |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      latencyRow("GET newest page of 50", h.newestPage),
      latencyRow("GET page of 50 before a random seq", h.deepPage),
      latencyRow(`resume of ${int(h.resume.eventsPerResume)} missed events (command → ack)`, h.resume),
      "",
    );
  }
  if (r.startup) {
    const s = r.startup;
    out.push(
      `Database of ${int(s.databaseMessages)} messages, ${mib(s.databaseBytes)} MiB; background CPU during the measured starts ≈ ${fmt(s.backgroundCpuPct, 0)} % of a core.${s.error ? ` Error: ${s.error.split("\n")[0]}` : ""}`,
      "",
      "| database | runs: spawn → first socket ready (ms) | median ms | max ms | runs: spawn → upgrade accepted (ms) |",
      "| --- | --- | ---: | ---: | --- |",
      `| ${int(s.databaseMessages)} messages | ${s.runsMs.join(", ")} | ${fmt(s.medianMs)} | ${fmt(s.maxMs)} | ${s.openMs.join(", ")} |`,
      `| no messages (reference) | ${s.emptyDbRunsMs.join(", ")} | ${fmt(median(s.emptyDbRunsMs))} | ${fmt(Math.max(...s.emptyDbRunsMs))} | |`,
      "",
    );
  }
  if (r.search) out.push(...searchTable(r.search), "");
  if (r.soak) out.push(...soakTable(r.soak), "");
  if (r.uploads) out.push(...uploadsTable(r.uploads), "");
  if (r.bar.length > 0) {
    out.push("The bar (issue 10, the send path at relay speed; history: issue 3):", "", "| check | measured | pass |", "| --- | --- | --- |");
    for (const b of r.bar) out.push(`| ${b.check} | ${b.value} | ${yes(b.pass)} |`);
    out.push("");
  }
  if (chartFile) out.push(`![${r.title}](${chartFile})`, "");
  if (opts.method !== false) out.push("How it was measured:", "", ...r.method.map((m) => `- ${m}`), "");
  return out.join("\n");
}

/** The search scenario: per database, how the index was built, then one row per query kind and sort (bench/scenarios/search.ts). */
function searchTable(s: SearchBenchResult): string[] {
  const out: string[] = [
    `${int(s.messages)} messages in ${s.rooms} rooms; ${int(s.counts.cjk)} CJK messages; phrases ${Object.entries(s.counts.phrases).map(([p, n]) => `"${p}" ${int(n)}`).join(", ")}; rare words ${Object.entries(s.counts.rare).map(([w, n]) => `${w} ${n}`).join(", ")}.`,
    "",
  ];
  for (const db of s.databases) {
    const name = db.database === "sqlite" ? "SQLite" : "PostgreSQL";
    out.push(
      `**${name}**: index built by the backfill: ${int(db.index.indexed)} messages in ${fmt(db.index.ms / 1000, 1)} s (${int(db.index.perSecond)}/s${db.index.cached ? ", cached from an earlier run" : ""})` +
        `${db.setup.copyDatabaseMs !== undefined ? `, after copy-database in ${fmt(Number(db.setup.copyDatabaseMs) / 1000, 1)} s` : ""}; server RSS after the run ${mib(db.serverRssBytes)} MiB; background CPU during the measurements ${fmt(db.backgroundCpuPct, 0)} % of a core.` +
        `${db.error ? ` Error: ${db.error.split("\n")[0]}` : ""}`,
      "",
      "| query kind | sort | samples | p50 ms | p90 ms | p99 ms | max ms | matches (total per query) |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    for (const run of db.runs) {
      const l = run.latency;
      out.push(`| ${run.kind} | ${run.sort} | ${int(l.count)} | ${fmt(l.p50, 3)} | ${fmt(l.p90, 3)} | ${fmt(l.p99, 3)} | ${fmt(l.max, 3)} | ${run.queries.map((q) => `${q.q.replace(/\|/g, "\\|")} ${int(q.total)}${q.totalCapped ? "+" : ""}`).join(", ")} |`);
    }
    out.push("");
  }
  return out;
}

/** The uploads scenario: one row per file size (bench/scenarios/uploads.ts). */
function uploadsTable(u: UploadsResult): string[] {
  const out = [
    "| file size | clients at once | rounds: MiB/s | median MiB/s | upload p50 / p99 / max ms | server RSS baseline → peak MiB | server CPU % | errors |",
    "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const st of u.steps) {
    out.push(
      `| ${st.sizeMiB} MiB | ${st.clients} | ${st.roundMiBps.join(", ")} | ${fmt(st.medianMiBps)} | ${fmt(st.latency.p50)} / ${fmt(st.latency.p99)} / ${fmt(st.latency.max)} | ${fmt(st.rssBaselineMiB)} → ${fmt(st.rssPeakMiB)} | ${fmt(st.serverCpuPct, 0)} | ${st.errors} |`,
    );
  }
  return out;
}

/** The soak's windows: one row per scrape window (bench/scenarios/soak.ts). */
function soakTable(s: SoakResult): string[] {
  const t = s.totals;
  const out = [
    `${int(t.writesAcked)} of ${int(t.writesSent)} writes acked (${t.writeErrors} errors), ack p50 ${fmt(t.ack.p50)} / p99 ${fmt(t.ack.p99)} / max ${fmt(t.ack.max)} ms; ${int(t.socketsOpened)} sockets opened, ${int(t.resumes)} resumes, ${int(t.logins)} logins, ${int(t.leaves)} leaves. Stalls of the event loop ≥ 100 ms: ${t.stalls} in ${t.windowsWithStall} of ${s.windows.length} windows (longest ${t.maxStallMs ?? "–"} ms; ${t.stallWaitPct ?? "–"} % of their time the node's thread was waiting for a CPU other processes had; ${t.workStalls} with ≥ 100 ms of its own work); group commits ≥ 100 ms: ${t.batchesOver100ms}; fsyncs ≥ 100 ms: ${t.fsyncsOver100ms}.${s.error ? ` ${s.error}` : ""}`,
    "",
    "| s | writes acked | ack p99 ms | ack max ms | server queue / fsync p99 ms | client loop max ms | loop max ms | stalls ≥ 100 ms (ms / of it on CPU) | group commits (≥ 100 ms; max ≤ ms) | fsyncs ≥ 100 ms (max ≤ ms) | slowest query ≤ ms | slowest HTTP ms | sockets opened | logins | server CPU % (main) | DB MB |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const w of s.windows) {
    out.push(
      `| ${w.atS} | ${int(w.writesAcked)} | ${fmt(w.ack.p99)} | ${fmt(w.ack.max)} | ${fmt(w.serverQueueP99Ms)} / ${fmt(w.serverFsyncP99Ms)} | ${fmt(w.clientLoopMaxMs, 0)} | ${fmt(w.loopMaxMs, 0)} | ${w.stalls.length ? w.stalls.map((x) => (x.cpuMs === null ? `${x.ms}` : `${x.ms}/${x.cpuMs}`)).join(", ") : "–"} | ${fmt(w.batches, 0)} (${fmt(w.batchesOver100ms, 0)}; ${fmt(w.batchRunMaxMs)}) | ${fmt(w.fsyncsOver100ms, 0)} (${fmt(w.fsyncMaxMs)}) | ${fmt(w.queryMaxMs)} | ${fmt(w.httpMaxMs, 0)} | ${w.socketsOpened} | ${w.logins} | ${fmt(w.serverCpuPct, 0)} (${fmt(w.mainThreadCpuPct, 0)}) | ${w.dbBytes === null ? "–" : fmt(w.dbBytes / 1e6, 0)} |`,
    );
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---------------------------------------------------------------- chart

type Spec = vegaLite.TopLevelSpec;

function chartSpec(r: ScenarioResult): Spec | null {
  const base = { $schema: "https://vega.github.io/schema/vega-lite/v5.json", background: "white", width: 640, height: 360, padding: 16 } as const;
  const title = `${r.title}${r.quick ? " (quick)" : ""} — ${r.date}`;
  if (r.messaging) {
    const values: Record<string, unknown>[] = [];
    for (const run of r.messaging) {
      for (const s of run.steps) {
        for (const [pct, v] of [["p50", s.latency.p50], ["p99", s.latency.p99]] as const) {
          if (v !== null) values.push({ target: run.target, offered: s.offeredDeliveriesPerSec, percentile: pct, ms: Math.max(0.01, v), pass: s.pass ? "pass" : "fail" });
        }
      }
    }
    if (values.length === 0) return null;
    return {
      ...base,
      title: { text: title, subtitle: "delivery latency from the scheduled send time; solid line p99, dashed p50; red line 50 ms; a cross marks a failed step" },
      layer: [
        {
          data: { values },
          mark: { type: "line", point: true },
          encoding: {
            x: { field: "offered", type: "quantitative", scale: { type: "log" }, axis: { format: "~s" }, title: "offered deliveries / s (log scale)" },
            y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "latency (ms, log scale)" },
            color: { field: "target", type: "nominal", title: "target", legend: { symbolType: "stroke", symbolStrokeWidth: 3 } },
            strokeDash: {
              field: "percentile",
              type: "nominal",
              sort: ["p99", "p50"],
              scale: { domain: ["p99", "p50"], range: [[1, 0], [5, 4]] },
              legend: null,
            },
            shape: { field: "pass", type: "nominal", scale: { domain: ["pass", "fail"], range: ["circle", "cross"] }, title: "step" },
            detail: { field: "percentile" },
          },
        },
        { data: { values: [{ y: 50 }] }, mark: { type: "rule", color: "#c00", strokeWidth: 1 }, encoding: { y: { field: "y", type: "quantitative" } } },
      ],
    } as Spec;
  }
  if (r.connections) {
    const values: Record<string, unknown>[] = [];
    for (const run of r.connections) {
      if (run.baselineRssBytes !== null) values.push({ target: run.target, sockets: 0, mib: run.baselineRssBytes / 2 ** 20 });
      for (const s of run.steps) if (s.serverRssBytes !== null) values.push({ target: run.target, sockets: s.opened, mib: s.serverRssBytes / 2 ** 20 });
    }
    if (values.length === 0) return null;
    return {
      ...base,
      title: { text: title, subtitle: "server RSS against idle authenticated sockets" },
      data: { values },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "sockets", type: "quantitative", title: "open sockets" },
        y: { field: "mib", type: "quantitative", title: "server RSS (MiB)" },
        color: { field: "target", type: "nominal" },
      },
    } as Spec;
  }
  if (r.history) {
    const h = r.history;
    const values: Record<string, unknown>[] = [];
    for (const [name, l] of [["newest page", h.newestPage], ["random page", h.deepPage], [`resume ${h.resume.eventsPerResume}`, h.resume]] as const) {
      for (const p of ["p50", "p90", "p99"] as const) if (l[p] !== null) values.push({ query: name, percentile: p, ms: l[p] });
    }
    return {
      ...base,
      title: { text: title, subtitle: `room of ${h.roomMessages.toLocaleString("en")} messages; red line: the 5 ms bar` },
      layer: [
        {
          data: { values },
          mark: "bar",
          encoding: {
            x: { field: "query", type: "nominal", title: null, axis: { labelAngle: 0 } },
            xOffset: { field: "percentile" },
            y: { field: "ms", type: "quantitative", title: "latency (ms)" },
            color: { field: "percentile", type: "nominal" },
          },
        },
        { data: { values: [{ y: 5 }] }, mark: { type: "rule", color: "#c00", strokeWidth: 1 }, encoding: { y: { field: "y", type: "quantitative" } } },
      ],
    } as Spec;
  }
  if (r.startup) {
    const s = r.startup;
    const values = [
      ...s.runsMs.map((ms, i) => ({ run: i + 1, database: `${s.databaseMessages.toLocaleString("en")} messages`, ms })),
      ...s.emptyDbRunsMs.map((ms, i) => ({ run: i + 1, database: "no messages", ms })),
    ];
    return {
      ...base,
      title: { text: title, subtitle: "spawn → first socket ready; red line: the 1 s bar" },
      layer: [
        {
          data: { values },
          mark: "bar",
          encoding: {
            x: { field: "run", type: "ordinal" },
            xOffset: { field: "database" },
            y: { field: "ms", type: "quantitative", title: "ms" },
            color: { field: "database", type: "nominal" },
          },
        },
        { data: { values: [{ y: 1000 }] }, mark: { type: "rule", color: "#c00", strokeWidth: 1 }, encoding: { y: { field: "y", type: "quantitative" } } },
      ],
    } as Spec;
  }
  return null;
}

/** The chart as PNG, or null when the scenario has nothing to plot. */
export async function renderChart(r: ScenarioResult): Promise<Buffer | null> {
  const spec = chartSpec(r);
  if (!spec) return null;
  // Loaded on demand: the harness runs (and its smoke test passes) without the chart libraries.
  const [vega, vl, { Resvg }] = await Promise.all([import("vega"), import("vega-lite"), import("@resvg/resvg-js")]);
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { fitTo: { mode: "zoom", value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }, background: "white" }).render().asPng();
  return Buffer.from(png);
}

// ---------------------------------------------------------------- files

export interface WrittenFiles {
  json: string;
  md: string;
  png: string | null;
}

export function baseName(r: ScenarioResult): string {
  return `${r.date}-${r.scenario}${r.quick ? "-quick" : ""}`;
}

export async function writeScenario(r: ScenarioResult, outDir: string): Promise<WrittenFiles> {
  fs.mkdirSync(outDir, { recursive: true });
  const base = baseName(r);
  const json = path.join(outDir, `${base}.json`);
  fs.writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  let png: string | null = null;
  try {
    const chart = await renderChart(r);
    if (chart) {
      png = path.join(outDir, `${base}.png`);
      fs.writeFileSync(png, chart);
    }
  } catch (err) {
    process.stderr.write(`chart for ${base} failed: ${(err as Error).message}\n`);
  }
  const md = path.join(outDir, `${base}.md`);
  fs.writeFileSync(md, renderMarkdown(r, png ? path.basename(png) : null));
  return { json, md, png };
}

const START = "<!-- results:start (written by `npm run bench -- --update-docs`; edit outside the markers) -->";
const END = "<!-- results:end -->";

/**
 * Rewrites the results section of docs/benchmarks.md (between the markers)
 * from the newest result of each scenario in `resultsDir`, full runs
 * preferred over quick ones.
 */
export function updateDocs(docsFile: string, resultsDir: string): void {
  const files = fs.existsSync(resultsDir) ? fs.readdirSync(resultsDir).filter((f) => f.endsWith(".json")) : [];
  const latest = new Map<string, { file: string; r: ScenarioResult }>();
  for (const f of files.sort()) {
    const r = JSON.parse(fs.readFileSync(path.join(resultsDir, f), "utf8")) as ScenarioResult;
    const prev = latest.get(r.scenario);
    if (!prev || (prev.r.quick && !r.quick) || (prev.r.quick === r.quick && r.startedAt > prev.r.startedAt)) latest.set(r.scenario, { file: f, r });
  }
  const order = ["room-fanout", "dm", "connections", "history", "startup", "uploads", "search", "soak"];
  const rel = path.relative(path.dirname(docsFile), resultsDir);
  const sections = order
    .filter((s) => latest.has(s))
    .map((s) => {
      const { file, r } = latest.get(s)!;
      const png = file.replace(/\.json$/, ".png");
      const chart = fs.existsSync(path.join(resultsDir, png)) ? `${rel}/${png}` : null;
      // Demote the scenario heading one level inside the docs page.
      // The method is described once above the results on that page; the per-run .md files carry it.
      return renderMarkdown(r, chart, { method: false }).replace(/^## /, "### ") + `Raw: [${file}](${rel}/${file})\n\n`;
    });
  const barRows = order.flatMap((sc) => (latest.get(sc)?.r.bar ?? []).map((b) => `| ${sc} | ${b.check} | ${b.value} | ${yes(b.pass)} |`));
  if (barRows.length > 0) {
    sections.unshift(["### Against the bar (issue 10; history: issue 3)", "", "| scenario | check | measured | pass |", "| --- | --- | --- | --- |", ...barRows, ""].join("\n"));
  }
  const conn = latest.get("connections")?.r.connections?.find((c) => c.target === "parley");
  const p = conn ? projection100k(conn) : null;
  if (p) {
    const kernelMiB = p.kernelPerSocketKiB === null ? null : (p.kernelPerSocketKiB * 100_000) / 1024;
    sections.splice(
      barRows.length > 0 ? 1 : 0,
      0,
      [
        "### 100,000 sockets on one node, from this run",
        "",
        `Parley held ${p.sockets.toLocaleString("en")} idle authenticated sockets at ${fmt(p.perSocketKiB, 2)} KiB of server RSS each (marginal ${p.marginalKiB === null ? "–" : fmt(p.marginalKiB, 2)} KiB over the last step) on a base of ${fmt(p.baselineMiB, 0)} MiB. ` +
          `For 100,000 sockets that is about **${fmt(p.rssGiB, 2)} GiB of RSS**` +
          (kernelMiB === null ? "" : `, plus about ${fmt(kernelMiB, 0)} MiB of kernel memory for the idle sockets themselves (${fmt(p.kernelPerSocketKiB, 2)} KiB each)`) +
          ", an open-file limit above 100,000, and the CPU to accept them: see the connect times in the connections table.",
        "",
      ].join("\n"),
    );
  }
  const block = `${START}\n\n${sections.join("\n")}\n${END}`;
  const doc = fs.existsSync(docsFile) ? fs.readFileSync(docsFile, "utf8") : `# Benchmarks\n\n${START}\n${END}\n`;
  const a = doc.indexOf(START.slice(0, 22));
  const b = doc.indexOf(END);
  if (a < 0 || b < 0) {
    fs.writeFileSync(docsFile, `${doc.trimEnd()}\n\n${block}\n`);
    return;
  }
  fs.writeFileSync(docsFile, doc.slice(0, a) + block + doc.slice(b + END.length));
}
