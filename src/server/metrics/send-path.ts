/**
 * Where a message's time and CPU go on one node, as seen from the inside:
 * the send path reports each stage here, and the metrics registry turns the
 * reports into Prometheus histograms (docs/benchmarks.md shows the
 * breakdown the benchmark reads from them). All durations are in ms,
 * measured with `performance.now()`.
 *
 * Event-loop stages (synchronous work, so wall time there is CPU time):
 * - `intake`: a WebSocket frame's checks, parse and validation, until its command runs;
 * - `work`: a write's checks and statements inside its group commit (per message);
 * - `commit`: BEGIN and COMMIT of a group commit (SQLite writes the WAL pages here), per batch;
 * - `publish`: answering a durable batch: bus publish, fan-out to the sockets' queues, acks (per batch);
 * - `flush`: writing the queued frames to the sockets at the end of a turn (per turn).
 */
export type SendStage = "intake" | "work" | "commit" | "publish" | "flush";

/** What the send path reports; `noSendPathObserver` when metrics are off. */
export interface SendPathObserver {
  /** `ms` spent in an event-loop stage. */
  stage(stage: SendStage, ms: number): void;
  /**
   * One group commit once durable: how many works it held, how many room
   * events they published (`events`: the events-per-second count), how long its
   * oldest work waited for the batch to start (`queueMs`), how long the
   * batch ran (`runMs`, works + commit) and how long its fsync took (`fsyncMs`, off the loop).
   */
  batch(b: { size: number; events: number; queueMs: number; runMs: number; fsyncMs: number }): void;
  /** A room event from the end of its batch's commit until its frames were handed to the sockets (ms). */
  fanout(ms: number): void;
}

/** The observer when metrics are off (no --metrics-port): every report is a call to an empty function. Implemented for real by `PrometheusSendPathObserver` (registry.ts). */
export const noSendPathObserver: SendPathObserver = {
  stage() {},
  batch() {},
  fanout() {},
};
