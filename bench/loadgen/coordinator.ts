import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { mergeHistograms, summarize, type LatencySummary } from "../lib/hist.js";
import { BENCH_DIR, exited, nowUs, sleep, spawnPinned, stopChild } from "../lib/proc.js";
import type { ClientSpec, ConnectReport, FromWorker, PollReport, Protocol, SentReport, StepCounts, StepReport, ToWorker } from "../lib/types.js";
import { track } from "../lib/cleanup.js";

/**
 * The load generator as seen from the coordinator: several worker processes
 * (pinned to the load core), each holding a share of the clients (client i
 * goes to worker i mod W, so every room has receivers in every worker).
 */

const WORKER = path.join(BENCH_DIR, "loadgen", "worker.ts");

class Worker {
  private waiters: { type: FromWorker["type"]; resolve: (m: FromWorker) => void }[] = [];
  fatal: string | null = null;

  constructor(readonly child: ChildProcess) {
    child.on("message", (raw) => {
      const msg = raw as FromWorker;
      if (msg.type === "fatal") {
        this.fatal = msg.message;
        process.stderr.write(`load-generator worker ${child.pid} failed: ${msg.message}\n`);
      }
      const i = this.waiters.findIndex((w) => w.type === msg.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(msg);
    });
  }

  send(msg: ToWorker): void {
    this.child.send(msg);
  }

  next<T extends FromWorker>(type: T["type"], timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.child.pid}: no '${type}' within ${timeoutMs} ms${this.fatal ? `: ${this.fatal}` : ""}`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      });
    });
  }

  ask<T extends FromWorker>(msg: ToWorker, reply: T["type"], timeoutMs: number): Promise<T> {
    const p = this.next<T>(reply, timeoutMs);
    this.send(msg);
    return p;
  }
}

export interface ConnectResult {
  opened: number;
  failed: number;
  firstError: string | null;
  ms: number;
  /** Connect-to-ready time of each socket of the batch. */
  connectLatency: LatencySummary;
}

/** What one step measured, summed over the workers. */
export interface StepTotals extends StepCounts {
  latency: LatencySummary;
  ack: LatencySummary;
  senderLag: LatencySummary;
  /** CPU of all workers together during the send window, as % of one core. */
  loadgenCpuPct: number;
  /** The busiest worker's CPU, as % of one core. */
  loadgenCpuMaxWorkerPct: number;
  /** CPU of all workers over the whole step (send window and drain), µs. */
  loadgenCpuUs: number;
  /** How long the drain took after the send window (ms), and whether it ended on the timeout. */
  drainMs: number;
  drainTimedOut: boolean;
}

export class LoadGenerator {
  private constructor(
    private readonly workers: Worker[],
    private readonly shares: number[],
  ) {}

  get workerPids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  /**
   * Starts `workerCount` workers pinned to `core` (null: unpinned) and hands
   * each its clients.
   */
  static async start(opts: {
    protocol: Protocol;
    clients: ClientSpec[];
    workers: number;
    core: number | null;
    connectConcurrency?: number;
  }): Promise<LoadGenerator> {
    const count = Math.max(1, Math.min(opts.workers, opts.clients.length || 1));
    const shares: ClientSpec[][] = Array.from({ length: count }, () => []);
    opts.clients.forEach((c, i) => shares[i % count]!.push(c));
    const workers = shares.map(() => {
      // BENCH_WORKER_ARGS: extra node flags for the workers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
      const extra = process.env.BENCH_WORKER_ARGS?.split(" ").filter(Boolean) ?? [];
      const child = spawnPinned(process.execPath, [...extra, "--import", "tsx", WORKER], {
        core: opts.core,
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      track(child);
      return new Worker(child);
    });
    const gen = new LoadGenerator(workers, shares.map((s) => s.length));
    try {
      await Promise.all(
        workers.map((w, i) =>
          w.ask({ type: "init", protocol: opts.protocol, clients: shares[i]!, connectConcurrency: opts.connectConcurrency ?? 64 }, "ready", 30_000),
        ),
      );
    } catch (err) {
      await gen.close();
      throw err;
    }
    return gen;
  }

  /** Opens the first `total` clients (cumulative over calls), split over the workers as at start. */
  async connect(total: number, timeoutMs = 300_000): Promise<ConnectResult> {
    const W = this.workers.length;
    const t0 = nowUs();
    const reports = await Promise.all(
      this.workers.map((w, i) => {
        // Client j of the scenario is worker (j mod W)'s entry floor(j / W).
        const upTo = Math.min(this.shares[i]!, Math.ceil((total - i) / W));
        return w.ask<ConnectReport>({ type: "connect", upTo: Math.max(0, upTo) }, "connected", timeoutMs);
      }),
    );
    const hist = mergeHistograms(reports.map((r) => r.connectHist));
    const out: ConnectResult = {
      opened: reports.reduce((a, r) => a + r.opened, 0),
      failed: reports.reduce((a, r) => a + r.failed, 0),
      firstError: reports.find((r) => r.firstError)?.firstError ?? null,
      ms: (nowUs() - t0) / 1000,
      connectLatency: summarize(hist),
    };
    hist.destroy();
    return out;
  }

  /**
   * One open-loop step: all workers start together at a common monotonic
   * time, send for `durationMs` at `sendsPerSecond` in total (each worker its
   * share in proportion to its clients), then the generator waits until every
   * expected delivery and every ack arrived, or `drainMs` passed.
   * `onWindowEnd` runs when the send window closes (to read server CPU).
   */
  async step(opts: { step: number; sendsPerSecond: number; durationMs: number; drainMs: number; onWindowEnd?: () => void }): Promise<StepTotals> {
    const totalClients = this.shares.reduce((a, b) => a + b, 0);
    const startAtUs = nowUs() + 200_000;
    const timeout = opts.durationMs + 30_000;
    const sent = await Promise.all(
      this.workers.map((w, i) =>
        w.ask<SentReport>(
          { type: "step", step: opts.step, startAtUs, durationMs: opts.durationMs, sendsPerSecond: (opts.sendsPerSecond * this.shares[i]!) / totalClients },
          "sent",
          timeout,
        ),
      ),
    );
    opts.onWindowEnd?.();
    const expected = sent.reduce((a, s) => a + s.expected, 0);
    const sends = sent.reduce((a, s) => a + s.sends, 0);
    const drainStart = Date.now();
    let timedOut = true;
    while (Date.now() - drainStart < opts.drainMs) {
      const polls = await Promise.all(this.workers.map((w) => w.ask<PollReport>({ type: "poll" }, "poll", 10_000)));
      const delivered = polls.reduce((a, p) => a + p.delivered, 0);
      const answered = polls.reduce((a, p) => a + p.acks + p.errors, 0);
      if (delivered >= expected && answered >= sends) {
        timedOut = false;
        break;
      }
      await sleep(50);
    }
    const drainMs = Date.now() - drainStart;
    const reports = await Promise.all(this.workers.map((w) => w.ask<StepReport>({ type: "collect" }, "stats", 10_000)));
    return aggregate(reports, sent, drainMs, timedOut);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.child.connected) {
          w.send({ type: "close" });
          await Promise.race([exited(w.child), sleep(3_000)]);
        }
        await Promise.race([stopChild(w.child, 5_000), sleep(6_000)]);
      }),
    );
  }
}

function sumRecords(records: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function aggregate(reports: StepReport[], sent: SentReport[], drainMs: number, drainTimedOut: boolean): StepTotals {
  const sum = (f: (r: StepReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const lat = mergeHistograms(reports.map((r) => r.latencyHist));
  const ack = mergeHistograms(reports.map((r) => r.ackHist));
  const lag = mergeHistograms(reports.map((r) => r.lagHist));
  // Load-generator CPU over the send window (the drain is mostly idle and would dilute it).
  const pct = (r: SentReport) => (r.wallUs > 0 ? (100 * r.cpuUs) / r.wallUs : 0);
  const totals: StepTotals = {
    sends: sum((r) => r.sends),
    skipped: sum((r) => r.skipped),
    expected: sum((r) => r.expected),
    delivered: sum((r) => r.delivered),
    echoes: sum((r) => r.echoes),
    duplicates: sum((r) => r.duplicates),
    late: sum((r) => r.late),
    acks: sum((r) => r.acks),
    errors: sum((r) => r.errors),
    errorCodes: sumRecords(reports.map((r) => r.errorCodes)),
    closes: sumRecords(reports.map((r) => r.closes)),
    latency: summarize(lat),
    ack: summarize(ack),
    senderLag: summarize(lag),
    loadgenCpuPct: round1(sent.reduce((a, r) => a + pct(r), 0)),
    loadgenCpuMaxWorkerPct: round1(Math.max(0, ...sent.map(pct))),
    loadgenCpuUs: sum((r) => r.cpuUs),
    drainMs,
    drainTimedOut,
  };
  lat.destroy();
  ack.destroy();
  lag.destroy();
  return totals;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
