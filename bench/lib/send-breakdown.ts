import { quantileBetween, type Scrape } from "./prom-text.js";

/**
 * Where a message's time goes inside Parley during one step: the send
 * path's own instrumentation (the `parley_*` histograms of its metrics
 * listener, scraped before and after the step) and the server's CPU per
 * thread (/proc), both divided by the messages sent. Measured, not
 * guessed: a stage's figure is the event-loop time the server itself
 * recorded in it.
 */

export const SEND_STAGES = ["intake", "work", "commit", "publish", "flush"] as const;
export type SendStageName = (typeof SEND_STAGES)[number];

/** CPU time of the server process split by thread, µs (see `threadCpuUs` in proc.ts). */
export interface ThreadCpu {
  mainUs: number;
  otherUs: number;
  totalUs: number;
}

/** Per-message breakdown of one Parley step (`parleyBreakdown` in the result JSON). */
export interface ParleyBreakdown {
  /** The divisor: messages stored in the step (observations of the `work` stage), or the sends written when the server reported none. */
  messages: number;
  messagesFrom: "work-stage" | "sends-written";
  /** False when a scrape failed (metrics off, an old build): the stage and batch figures are then null. */
  metricsScraped: boolean;
  /** Event-loop time per message in each stage, µs (a batch's or a turn's time spread over its messages). Zero for a stage that reported nothing. */
  stageUs: Record<SendStageName, number> | null;
  /** Sum of the stages, µs per message. */
  stagesUs: number | null;
  /** Main-thread (event-loop) CPU per message, µs. */
  mainThreadCpuUs: number | null;
  /** Main-thread CPU outside the stages, µs per message: ws frame reading, libuv polling, timers, GC on the main thread. Negative when stages were preempted (their wall time exceeds their CPU time). */
  mainOutsideStagesUs: number | null;
  /** CPU of all other threads per message, µs: libuv's pool (the fsyncs), the WAL checkpointer worker, V8's helpers. */
  otherThreadsCpuUs: number | null;
  /** All threads, µs per message. */
  totalCpuUs: number | null;
  /** Total CPU − instrumented stages, µs per message: everything the stages do not cover, on any thread. */
  otherUs: number | null;
  /** Group commits in the step, and their mean size (works), queue wait, run time and fsync (ms). */
  batches: number | null;
  meanBatchSize: number | null;
  meanQueueMs: number | null;
  meanRunMs: number | null;
  meanFsyncMs: number | null;
  /** Commit → frames handed to the sockets, approximate median from the histogram's buckets (ms); null when none was observed. */
  fanoutP50Ms: number | null;
  /**
   * The tails (ms, approximate p99 from the buckets) of a group commit's
   * queue wait (window, the previous fsync, a checkpoint's tail), of its
   * fsync and of the fan-out: where a delivery's p99 comes from.
   */
  queueP99Ms: number | null;
  fsyncP99Ms: number | null;
  fanoutP99Ms: number | null;
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Growth of a sample between two scrapes; 0 when either lacks it (nothing observed yet), so a missing metric reads as zero. */
function delta(a: Scrape, b: Scrape, name: string, labels: Record<string, string> = {}): number {
  return (b.value(name, labels) ?? 0) - (a.value(name, labels) ?? 0);
}

/**
 * The breakdown of one step from the scrapes at its start and end (null when
 * a scrape failed), the thread CPU at the same moments, and the sends the
 * load generator wrote (the divisor when the server reported no `work`).
 * Null when there is nothing to divide by or the CPU could not be read.
 */
export function sendBreakdown(
  scrapes: { before: Scrape | null; after: Scrape | null },
  cpu: { before: ThreadCpu | null; after: ThreadCpu | null },
  sendsWritten: number,
): ParleyBreakdown | null {
  const { before: a, after: b } = scrapes;
  const scraped = a !== null && b !== null;
  const works = scraped ? delta(a, b, "parley_send_stage_seconds_count", { stage: "work" }) : 0;
  const messages = works > 0 ? works : sendsWritten;
  if (messages <= 0) return null;
  const per = (us: number): number => round(us / messages);

  let stageUs: Record<SendStageName, number> | null = null;
  let stagesUs: number | null = null;
  let stagesTotalUs: number | null = null;
  let batches: number | null = null;
  let meanBatchSize: number | null = null;
  let meanQueueMs: number | null = null;
  let meanRunMs: number | null = null;
  let meanFsyncMs: number | null = null;
  let fanoutP50Ms: number | null = null;
  let queueP99Ms: number | null = null;
  let fsyncP99Ms: number | null = null;
  let fanoutP99Ms: number | null = null;
  if (scraped) {
    const s = {} as Record<SendStageName, number>;
    let sum = 0;
    for (const stage of SEND_STAGES) {
      const us = delta(a, b, "parley_send_stage_seconds_sum", { stage }) * 1e6;
      s[stage] = per(us);
      sum += us;
    }
    stageUs = s;
    stagesUs = per(sum);
    stagesTotalUs = sum;
    const n = delta(a, b, "parley_group_commit_size_count");
    batches = n;
    const mean = (name: string, scale: number): number | null => (n > 0 ? round((delta(a, b, `${name}_sum`) * scale) / n, 3) : null);
    meanBatchSize = mean("parley_group_commit_size", 1);
    meanQueueMs = mean("parley_group_commit_queue_seconds", 1000);
    meanRunMs = mean("parley_group_commit_run_seconds", 1000);
    meanFsyncMs = mean("parley_fsync_seconds", 1000);
    const quantileMs = (name: string, q: number): number | null => {
      const v = quantileBetween(a.buckets(name), b.buckets(name), q);
      return v === null ? null : round(v * 1000, 3);
    };
    fanoutP50Ms = quantileMs("parley_fanout_seconds", 0.5);
    fanoutP99Ms = quantileMs("parley_fanout_seconds", 0.99);
    queueP99Ms = quantileMs("parley_group_commit_queue_seconds", 0.99);
    fsyncP99Ms = quantileMs("parley_fsync_seconds", 0.99);
  }

  const c0 = cpu.before;
  const c1 = cpu.after;
  const haveCpu = c0 !== null && c1 !== null;
  const mainUs = haveCpu ? c1.mainUs - c0.mainUs : null;
  const otherThreadsUs = haveCpu ? c1.otherUs - c0.otherUs : null;
  const totalUs = haveCpu ? c1.totalUs - c0.totalUs : null;
  return {
    messages,
    messagesFrom: works > 0 ? "work-stage" : "sends-written",
    metricsScraped: scraped,
    stageUs,
    stagesUs,
    mainThreadCpuUs: mainUs === null ? null : per(mainUs),
    mainOutsideStagesUs: mainUs === null || stagesTotalUs === null ? null : per(mainUs - stagesTotalUs),
    otherThreadsCpuUs: otherThreadsUs === null ? null : per(otherThreadsUs),
    totalCpuUs: totalUs === null ? null : per(totalUs),
    otherUs: totalUs === null || stagesTotalUs === null ? null : per(totalUs - stagesTotalUs),
    batches,
    meanBatchSize,
    meanQueueMs,
    meanRunMs,
    meanFsyncMs,
    fanoutP50Ms,
    queueP99Ms,
    fsyncP99Ms,
    fanoutP99Ms,
  };
}
