import { LoadGenerator } from "../loadgen/coordinator.js";
import { cpuTimeUs, diskBusyMs, machineBusyUs, memoryOf, pidsByName, setProcessNice, sleep, threadCpuUs } from "../lib/proc.js";
import { scrapeMetrics } from "../lib/prom-text.js";
import { sendBreakdown } from "../lib/send-breakdown.js";
import { waitForQuiet } from "../lib/noise.js";
import { loadCoreOf, serverCoreOf, type BenchContext, type MessagingSpec, type Prepared, type Target } from "../targets/types.js";
import { coreSpeedMs } from "../lib/speed.js";
import type { MessagingStep, MessagingTargetRun } from "./common.js";

/**
 * room-fanout and dm: every client connected, then open-loop steps of
 * rising offered delivery rate. A target stops at its first step that does
 * not pass (p99 over the limit, any loss or error, or the load generator
 * saturated, which would make the numbers the load generator's).
 */

export interface MessagingOptions {
  spec: MessagingSpec;
  /** Offered deliveries/s per step, ascending. */
  steps: number[];
  durationMs: number;
  drainMs: number;
  /**
   * Before the measured steps, an unrecorded warm-up of this length in which
   * each client sends about once (JIT, lazily built per-socket state), at no
   * more than 20,000 deliveries/s.
   */
  warmupMs: number;
  workers: number;
  p99LimitMs: number;
  /** Load-generator CPU (% of its core) from which a step is judged load-generator bound. */
  loadgenSaturationPct: number;
}

/** Failing steps on a busy machine (background over the noisy threshold) after which a target still goes on. */
const MAX_NOISY_FAILURES = 2;

/** All node processes of a target (one for a single node). */
const serverPids = (server: { pid: number; nodePids?: number[] }): number[] => server.nodePids ?? [server.pid];

const sumCpuUs = (pids: number[]): number => pids.reduce((a, pid) => a + (cpuTimeUs(pid) ?? 0), 0);

/** CPU time of each pid of each role (pids already gone are left out). */
function cpuByPid(roles: Record<string, number[]>): Record<string, Map<number, number>> {
  const out: Record<string, Map<number, number>> = {};
  for (const [role, pids] of Object.entries(roles)) {
    out[role] = new Map();
    for (const pid of pids) {
      const us = cpuTimeUs(pid);
      if (us !== null) out[role].set(pid, us);
    }
  }
  return out;
}

/**
 * CPU of each role over the step: for a pid seen at both ends, the growth;
 * for one that appeared during the step (a new PostgreSQL backend), all of
 * its CPU. A process that came and went within the step is missed.
 */
function sideDeltaUs(before: Record<string, Map<number, number>>, after: Record<string, Map<number, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const role of new Set([...Object.keys(before), ...Object.keys(after)])) {
    let us = 0;
    for (const [pid, end] of after[role] ?? []) us += Math.max(0, end - (before[role]?.get(pid) ?? 0));
    out[role] = us;
  }
  return out;
}

function redisCpu(): number | null {
  const pids = pidsByName("redis-server");
  if (pids.length === 0) return null;
  return pids.reduce((a, pid) => a + (cpuTimeUs(pid) ?? 0), 0);
}

interface Live {
  target: Target;
  run: MessagingTargetRun;
  prepared: Prepared | null;
  gen: LoadGenerator | null;
  /** Each attempt gets its own number on the wire, so a repeated step never counts the last one's stragglers. */
  wireStep: number;
  noisyFailures: number;
  done: boolean;
}

async function setUp(ctx: BenchContext, live: Live, opts: MessagingOptions): Promise<void> {
  const { target, run } = live;
  try {
    const prepared = (live.prepared = await target.messaging(ctx, opts.spec));
    run.setup = prepared.setup;
    run.logFile = prepared.server.logFile;
    const gen = (live.gen = await LoadGenerator.start({ protocol: target.protocol, clients: prepared.clients, workers: opts.workers, core: loadCoreOf(ctx) }));
    run.connect = await gen.connect(prepared.clients.length);
    ctx.log(`${target.name}: ${run.connect.opened} / ${prepared.clients.length} clients ready in ${(run.connect.ms / 1000).toFixed(1)} s`);
    if (run.connect.failed > 0) throw new Error(`${run.connect.failed} clients failed to connect: ${run.connect.firstError}`);
    const perSend = perSendOf(opts);
    if (opts.warmupMs > 0 && opts.steps.length > 0) {
      // About one send per client, at no more than 20,000 deliveries/s (or the first step's rate if higher).
      const sendsPerSecond = Math.min(prepared.clients.length / (opts.warmupMs / 1000), Math.max(opts.steps[0]!, 20_000) / perSend);
      const w = await gen.step({ step: 0, sendsPerSecond, durationMs: opts.warmupMs, drainMs: Math.max(opts.drainMs, 60_000) });
      ctx.log(`${target.name}: warm-up ${w.sends} sends, ${w.delivered}/${w.expected} delivered, p99 ${w.latency.p99} ms`);
    }
  } catch (err) {
    run.error = (err as Error).stack ?? String(err);
    ctx.log(`${target.name}: failed: ${(err as Error).message}`);
    await tearDown(live);
  }
}

async function tearDown(live: Live): Promise<void> {
  live.done = true;
  const { gen, prepared } = live;
  live.gen = null;
  live.prepared = null;
  await gen?.close();
  await prepared?.server.stop();
}

const perSendOf = (opts: MessagingOptions): number => Math.max(1, (opts.spec.use === "direct" ? 2 : opts.spec.roomSize) - 1);

/** One step of one target, repeated if the machine was noisy; returns false when the target stops here. */
async function runStep(ctx: BenchContext, live: Live, i: number, ours: number[], opts: MessagingOptions): Promise<boolean> {
  const { target, run } = live;
  const gen = live.gen!;
  const server = live.prepared!.server;
  const offered = opts.steps[i]!;
  let step: MessagingStep | null = null;
  for (let attempt = 0; attempt <= ctx.quiet.retries; attempt++) {
    const quiet = await waitForQuiet(ours, ctx.quiet, ctx.log);
    const speed = { serverCoreMs: coreSpeedMs(serverCoreOf(ctx)), loadCoreMs: coreSpeedMs(loadCoreOf(ctx)) };
    const s = await measureStep(
      gen,
      { pid: server.pid, nodePids: server.nodePids ?? [server.pid], sidePids: server.sidePids ?? null },
      { withRedis: target.name === "socketio", metricsUrl: server.metricsUrl ?? null },
      ++live.wireStep,
      offered,
      perSendOf(opts),
      opts,
    );
    s.step = i + 1;
    s.quietWaitMs = quiet.waitedMs;
    s.attempts = attempt + 1;
    s.coreSpeed = speed;
    // Keep the quieter of the attempts.
    if (step === null || (s.backgroundCpuPct ?? 0) < (step.backgroundCpuPct ?? 0)) step = s;
    ctx.log(
      `${target.name} ${offered.toLocaleString("en")}/s: delivered ${s.delivered}/${s.expected} p50 ${s.latency.p50} p99 ${s.latency.p99} max ${s.latency.max} ms, ` +
        `server ${s.serverCpuPct}% CPU ${s.serverCpuUsPerDelivery} µs/delivery, loadgen ${s.loadgenCpuPct}%, background ${s.backgroundCpuPct}%, core speed ${speed.serverCoreMs}/${speed.loadCoreMs} ms${s.flags.length ? `  ✗ ${s.flags.join("; ")}` : "  ✓"}`,
    );
    if ((s.backgroundCpuPct ?? 0) <= ctx.quiet.noisyPct || ctx.quiet.budgetMs <= 0) break;
    if (attempt < ctx.quiet.retries) ctx.log(`  noisy step (background ${s.backgroundCpuPct}%): repeating it`);
    await sleep(500);
  }
  run.steps.push(step!);
  if (!step!.pass) {
    // A failure on a busy machine may be the machine's: go on (a few times) instead of stopping there.
    const noisy = (step!.backgroundCpuPct ?? 0) > ctx.quiet.noisyPct;
    if (noisy && live.noisyFailures < MAX_NOISY_FAILURES && i + 1 < opts.steps.length) {
      live.noisyFailures++;
      step!.flags.push(`background ${step!.backgroundCpuPct}% of a core: noisy, not conclusive`);
      ctx.log(`  failed on a busy machine: going on to the next step`);
      return true;
    }
    run.stoppedBecause = `${offered.toLocaleString("en")}/s: ${step!.flags.join("; ")}`;
    return false;
  }
  // The highest passing step with no clean failure below it.
  run.maxPassingDeliveriesPerSec = offered;
  return true;
}

/**
 * Runs the targets side by side: all are started and warmed up first, then
 * each step runs on every target still going, one after the other (the
 * order rotating from step to step), so that a slow drift of the machine's
 * speed touches every target alike. Idle servers wait on the same core
 * meanwhile at the lowest priority (nice 19): their heartbeats (socket.io
 * pings its 1,000 clients every 25 s, Parley every 30 s) then cannot cut into
 * the measured server's core.
 */
export async function runMessaging(ctx: BenchContext, targets: Target[], opts: MessagingOptions): Promise<MessagingTargetRun[]> {
  const lives: Live[] = targets.map((target) => ({
    target,
    run: { target: target.name, description: target.description, clients: opts.spec.clients, setup: {}, connect: null, steps: [], maxPassingDeliveriesPerSec: 0, stoppedBecause: null },
    prepared: null,
    gen: null,
    wireStep: 0,
    noisyFailures: 0,
    done: false,
  }));
  try {
    for (const live of lives) await setUp(ctx, live, opts);
    await sleep(1000);
    for (let i = 0; i < opts.steps.length; i++) {
      const active = lives.filter((l) => !l.done);
      if (active.length === 0) break;
      const order = active.map((_, k) => active[(k + i) % active.length]!);
      for (const live of order) {
        const ours = lives.flatMap((l) => (l.prepared ? [...serverPids(l.prepared.server), ...(l.gen?.workerPids ?? [])] : []));
        if (live.target.name === "socketio") ours.push(...pidsByName("redis-server"));
        // A cluster's nginx, Redis and PostgreSQL backends work for the run too: not background.
        if (live.prepared?.server.sidePids) ours.push(...Object.values(live.prepared.server.sidePids()).flat());
        // Every node of an idle cluster, and its nginx, waits at nice 19 (not Redis and PostgreSQL: the machine's services).
        const idle = lives.filter((l) => l !== live && l.prepared).flatMap((l) => [...serverPids(l.prepared!.server), ...(l.prepared!.server.sidePids?.().nginx ?? [])]);
        for (const pid of idle) setProcessNice(pid, 19);
        let goOn = false;
        try {
          goOn = await runStep(ctx, live, i, ours, opts);
        } catch (err) {
          live.run.error = (err as Error).stack ?? String(err);
          ctx.log(`${live.target.name}: failed: ${(err as Error).message}`);
        } finally {
          for (const pid of idle) setProcessNice(pid, 0);
        }
        if (!goOn) await tearDown(live);
        await sleep(500);
      }
    }
  } finally {
    for (const live of lives) if (!live.done || live.gen || live.prepared) await tearDown(live);
  }
  return lives.map((l) => l.run);
}

/**
 * One measured step at `offered` deliveries/s, with the server's CPU and
 * memory and the machine's background load; with `metricsUrl` (Parley),
 * also the per-stage breakdown from its metrics scraped before and after.
 */
async function measureStep(
  gen: LoadGenerator,
  proc: { pid: number; nodePids: number[]; sidePids: (() => Record<string, number[]>) | null },
  target: { withRedis: boolean; metricsUrl: string | null },
  stepNo: number,
  offered: number,
  perSend: number,
  opts: MessagingOptions,
): Promise<MessagingStep> {
  const { withRedis, metricsUrl } = target;
  const { pid, nodePids } = proc;
  // Side processes are looked up before the step and again after it: a pool closes idle PostgreSQL
  // connections (pg's default: after 10 s, so between two steps) and opens new backends during the step.
  const side0 = proc.sidePids ? cpuByPid(proc.sidePids()) : null;
  const sendsPerSecond = offered / perSend;
  // Scraped outside the CPU readings, so the scrapes' own cost is not charged to the step.
  const metrics0 = metricsUrl ? await scrapeMetrics(metricsUrl) : null;
  const threads0 = metricsUrl ? threadCpuUs(pid) : null;
  const cpu0 = sumCpuUs(nodePids);
  const redis0 = withRedis ? redisCpu() : null;
  const busy0 = machineBusyUs();
  const disk0 = diskBusyMs();
  const self0 = process.cpuUsage();
  const wall0 = Date.now();
  let cpuWindow = 0;
  const totals = await gen.step({
    step: stepNo,
    sendsPerSecond,
    durationMs: opts.durationMs,
    drainMs: opts.drainMs,
    onWindowEnd: () => {
      cpuWindow = sumCpuUs(nodePids) - cpu0;
    },
  });
  const cpuUs = sumCpuUs(nodePids) - cpu0;
  const sideUs = side0 && proc.sidePids ? sideDeltaUs(side0, cpuByPid(proc.sidePids())) : null;
  const threads1 = metricsUrl ? threadCpuUs(pid) : null;
  const redis1 = redis0 !== null ? redisCpu() : null;
  const busy1 = machineBusyUs();
  const disk1 = diskBusyMs();
  const self = process.cpuUsage(self0);
  const sideTotalUs = sideUs ? Object.values(sideUs).reduce((a, b) => a + b, 0) : 0;
  const ours = cpuUs + totals.loadgenCpuUs + self.user + self.system + (redis0 !== null && redis1 !== null ? redis1 - redis0 : 0) + sideTotalUs;
  const backgroundCpuPct = busy0 !== null && busy1 !== null ? Math.max(0, Math.round((busy1 - busy0 - ours) / (Date.now() - wall0) / 10)) : null;
  // RSS of every node, summed (one process for a single node).
  const mems = nodePids.map((p) => memoryOf(p));
  const mem = mems.every((m) => m !== null) ? { rss: mems.reduce((a, m) => a + m!.rss, 0), hwm: mems.reduce((a, m) => a + m!.hwm, 0) } : null;
  const metrics1 = metricsUrl ? await scrapeMetrics(metricsUrl) : null;
  const lost = Math.max(0, totals.expected - totals.delivered);
  const flags: string[] = [];
  if (lost > 0) flags.push(`lost ${lost}`);
  if (totals.errors > 0) flags.push(`errors ${JSON.stringify(totals.errorCodes)}`);
  if (Object.keys(totals.closes).length > 0) flags.push(`sockets closed ${JSON.stringify(totals.closes)}`);
  if (totals.duplicates > 0) flags.push(`duplicates/reordered ${totals.duplicates}`);
  if (totals.latency.p99 === null || totals.latency.p99 > opts.p99LimitMs) flags.push(`p99 ${totals.latency.p99} ms > ${opts.p99LimitMs} ms`);
  if (totals.loadgenCpuPct >= opts.loadgenSaturationPct) flags.push(`load generator saturated (${totals.loadgenCpuPct}% CPU)`);
  if (totals.skipped > 0) flags.push(`skipped sends ${totals.skipped}`);
  const step: MessagingStep = {
    step: stepNo,
    offeredDeliveriesPerSec: offered,
    offeredSendsPerSec: Math.round(sendsPerSecond * 10) / 10,
    plannedSends: Math.floor((opts.durationMs / 1000) * sendsPerSecond),
    durationMs: opts.durationMs,
    ...totals,
    achievedDeliveriesPerSec: Math.round(totals.delivered / (opts.durationMs / 1000)),
    lost,
    serverCpuMs: Math.round(cpuUs / 1000),
    serverCpuUsPerDelivery: totals.delivered > 0 ? Math.round((cpuUs / totals.delivered) * 100) / 100 : null,
    serverCpuPct: Math.round(cpuWindow / opts.durationMs) / 10,
    serverRssBytes: mem?.rss ?? null,
    serverRssPeakBytes: mem?.hwm ?? null,
    backgroundCpuPct,
    coreSpeed: { serverCoreMs: null, loadCoreMs: null },
    diskBusyPct: disk0 !== null && disk1 !== null ? Math.round((100 * (disk1 - disk0)) / Math.max(1, Date.now() - wall0)) : null,
    quietWaitMs: 0,
    attempts: 1,
    pass: flags.length === 0,
    flags,
  };
  if (metricsUrl) {
    step.parleyBreakdown = sendBreakdown({ before: metrics0, after: metrics1 }, { before: threads0, after: threads1 }, totals.sends);
  }
  if (nodePids.length > 1) step.nodes = nodePids.length;
  if (sideUs) {
    step.sideCpuUsPerDelivery = Object.fromEntries(Object.entries(sideUs).map(([k, us]) => [k, totals.delivered > 0 ? Math.round((us / totals.delivered) * 100) / 100 : null]));
  }
  if (redis0 !== null && redis1 !== null) {
    step.redisCpuUsPerDelivery = totals.delivered > 0 ? Math.round(((redis1 - redis0) / totals.delivered) * 100) / 100 : null;
  }
  return step;
}
