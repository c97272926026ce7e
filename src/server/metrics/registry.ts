import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { noSendPathObserver, type SendPathObserver, type SendStage } from "./send-path.js";

/**
 * One node's Prometheus metrics: its own prom-client `Registry` (never the
 * process-wide default one: tests run many nodes in one process, and each
 * must count only its own sends), Node's default metrics (event-loop lag,
 * GC, heap, CPU) and the send path's histograms. Served by the separate
 * metrics listener (listener.ts), never by the public one.
 */

/** What a node measures: `Deps["metrics"]`. */
export interface Metrics {
  /** The node's registry; null when metrics are off (nothing is collected then). */
  registry: Registry | null;
  /** Where the send path reports its stages; `noSendPathObserver` when metrics are off. */
  sendPath: SendPathObserver;
  /** An envelope from another node arrived this long (ms, publisher's wall clock to ours) after it was published to Redis. */
  busLag(ms: number): void;
  /** A database query took this long (ms), from Kysely's query log. */
  query(ms: number): void;
  /** The event loop was blocked this long (ms), as the watch in event-loop.ts saw it (stalls of 100 ms and more). */
  eventLoopBlocked(ms: number): void;
}

/** Metrics off: no registry, nothing collected, the send path's reports cost a call to an empty function. */
export const noMetrics: Metrics = { registry: null, sendPath: noSendPathObserver, busLag() {}, query() {}, eventLoopBlocked() {} };

/** Every stage, so that each labelled child exists (and is exported as 0) from the start. */
const STAGES: readonly SendStage[] = ["intake", "work", "commit", "publish", "flush"];

/**
 * Buckets (seconds) for event-loop stages: 1-2-5 steps from 1 µs to 100 ms.
 * A stage is a few µs (a frame's parse) to a few ms (a large batch's commit);
 * past 100 ms is a stall, and +Inf counts it.
 */
export const STAGE_BUCKETS_SECONDS: readonly number[] = decades(1e-6, 1e-1);

/**
 * Buckets (seconds) for waits that include the disk or the commit window:
 * 10 µs to 5 s. An fsync is ~0.5 ms at the median with a tail of 5–35 ms
 * under load on the benchmark machine (docs/benchmarks.md), and far worse
 * on a busy disk.
 */
export const WAIT_BUCKETS_SECONDS: readonly number[] = decades(1e-5, 5);

/** Buckets (seconds) for event-loop stalls, which are only observed from 100 ms: 0.1 to 10 s. */
export const BLOCKED_BUCKETS_SECONDS: readonly number[] = [0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

/** Buckets for works per group commit: powers of two, 1 to 4,096. */
export const BATCH_SIZE_BUCKETS: readonly number[] = Array.from({ length: 13 }, (_, i) => 2 ** i);

/** 1, 2, 5 × each power of ten from `from` up to `to` (inclusive), rounded so the labels print short. */
function decades(from: number, to: number): number[] {
  const out: number[] = [];
  for (let p = from; p <= to * 1.0001; p *= 10) {
    for (const m of [1, 2, 5]) {
      const v = Number((p * m).toPrecision(3));
      if (v <= to * 1.0001) out.push(v);
    }
  }
  return out;
}

/**
 * The send path's reports as prom-client histograms in `registry`. Reports
 * arrive in ms (`performance.now()` differences) and are stored in seconds,
 * the Prometheus base unit. The labelled children are made once here, so an
 * observation costs prom-client's own bookkeeping and nothing more.
 */
export class PrometheusSendPathObserver implements SendPathObserver {
  private readonly stages: Record<SendStage, Histogram.Internal<"stage">>;
  private readonly batchSize: Histogram;
  private readonly queue: Histogram;
  private readonly run: Histogram;
  private readonly fsync: Histogram;
  private readonly fanoutLatency: Histogram;
  private readonly events: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const stage = new Histogram({
      name: "parley_send_stage_seconds",
      help: "Event-loop time of each send-path stage (intake per frame, work per message, commit/publish per group commit, flush per turn), seconds.",
      labelNames: ["stage"] as const,
      buckets: [...STAGE_BUCKETS_SECONDS],
      registers,
    });
    // Zeroed so every stage is exported from the first scrape: a rate over a series that appears mid-way is wrong.
    for (const s of STAGES) stage.zero({ stage: s });
    this.stages = Object.fromEntries(STAGES.map((s) => [s, stage.labels(s)])) as Record<SendStage, Histogram.Internal<"stage">>;
    const histogram = (name: string, help: string, buckets: readonly number[]): Histogram => new Histogram({ name, help, buckets: [...buckets], registers });
    this.batchSize = histogram("parley_group_commit_size", "Writes (works) per group commit.", BATCH_SIZE_BUCKETS);
    this.queue = histogram("parley_group_commit_queue_seconds", "How long a group commit's oldest write waited for the batch to start, seconds.", WAIT_BUCKETS_SECONDS);
    // Past the stage buckets' 100 ms too: a batch that waits on the loop mid-way (an awaited Kysely step) runs as long as whatever holds the loop.
    this.run = histogram("parley_group_commit_run_seconds", "How long a group commit ran (its works and its commit, from its start to the end of COMMIT), seconds.", [...STAGE_BUCKETS_SECONDS, 0.2, 0.5, 1, 2, 5]);
    this.fsync = histogram("parley_fsync_seconds", "How long a group commit's fsync of the WAL took (off the event loop, in the thread pool), seconds.", WAIT_BUCKETS_SECONDS);
    this.events = new Counter({ name: "parley_room_events_total", help: "Seq'd room events committed by this node (messages, edits, deletions, reactions, membership).", registers });
    this.fanoutLatency = histogram("parley_fanout_seconds", "A room event from the end of its commit until its frames were handed to the sockets, seconds.", WAIT_BUCKETS_SECONDS);
  }

  /** Records `ms` of event-loop time in `stage`. */
  stage(stage: SendStage, ms: number): void {
    this.stages[stage].observe(ms / 1000);
  }

  /** Records one durable group commit: its size, and its queue, run and fsync times (ms). */
  batch(b: { size: number; events: number; queueMs: number; runMs: number; fsyncMs: number }): void {
    this.batchSize.observe(b.size);
    this.events.inc(b.events);
    this.queue.observe(b.queueMs / 1000);
    this.run.observe(b.runMs / 1000);
    this.fsync.observe(b.fsyncMs / 1000);
  }

  /** Records one room event's commit → sockets latency (ms). */
  fanout(ms: number): void {
    this.fanoutLatency.observe(ms / 1000);
  }
}

/**
 * A node's metrics. `enabled: false` (no metrics port configured) gives
 * `noMetrics`: no registry and no default collectors, whose event-loop
 * delay monitor and GC observer would otherwise run for the life of the
 * process.
 */
export function createMetrics(opts: { enabled: boolean }): Metrics {
  if (!opts.enabled) return noMetrics;
  const registry = new Registry();
  // Includes the event-loop delay (nodejs_eventloop_lag_*, from monitorEventLoopDelay), GC and memory.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const lag = new Histogram({
    name: "parley_bus_lag_seconds",
    help: "Many nodes: from an envelope's publish to Redis on one node to its arrival on this one (wall clocks of both: keep them in sync), seconds.",
    buckets: [...WAIT_BUCKETS_SECONDS],
    registers,
  });
  const query = new Histogram({ name: "parley_db_query_seconds", help: "Database query durations (Kysely), seconds.", buckets: [...WAIT_BUCKETS_SECONDS], registers });
  const blocked = new Histogram({
    name: "parley_event_loop_blocked_seconds",
    help: "Stalls of the event loop of 100 ms or more (a timer firing that late: synchronous work held every socket), seconds; each is also logged at warn.",
    buckets: [...BLOCKED_BUCKETS_SECONDS],
    registers,
  });
  return {
    registry,
    sendPath: new PrometheusSendPathObserver(registry),
    busLag: (ms) => lag.observe(Math.max(0, ms) / 1000),
    query: (ms) => query.observe(ms / 1000),
    eventLoopBlocked: (ms) => blocked.observe(ms / 1000),
  };
}

/**
 * The gateway's gauges, each read at scrape time (not kept up to date on
 * every open, close or write, so the socket code needs no calls):
 * `parley_open_sockets` from `sockets`, and `parley_send_queue_bytes` from
 * `queuedBytes`: what the node holds for its sockets, unsent (frames the
 * kernel has not taken, held live events, catch-up batches). Does nothing
 * when metrics are off.
 */
export function registerSocketGauges(metrics: Metrics, read: { sockets: () => number; queuedBytes: () => number }): void {
  if (!metrics.registry) return;
  const gauge = (name: string, help: string, value: () => number): Gauge =>
    new Gauge({
      name,
      help,
      registers: [metrics.registry!],
      collect() {
        this.set(value());
      },
    });
  gauge("parley_open_sockets", "Open WebSocket connections, not counting those already closing.", read.sockets);
  gauge("parley_send_queue_bytes", "Bytes this node holds for its sockets and has not yet written to them (queued frames, held live events, catch-up batches).", read.queuedBytes);
}
