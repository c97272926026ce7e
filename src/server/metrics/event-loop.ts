import fs from "node:fs";
import type { Logger } from "pino";
import type { Metrics } from "./registry.js";

/**
 * Watches the event loop for stretches of synchronous work long enough to
 * hold every socket's frames and every ack: a timer that should fire every
 * `intervalMs` ms and measures how late it fires (the drift check Node's
 * own `monitorEventLoopDelay` does with a histogram, but with a moment and
 * a log line per stall, which the histogram cannot give). A stall of at
 * least `thresholdMs` is reported to `onBlocked` and logged at warn as
 * "event loop blocked N ms", so that an operator can line it up with what
 * else the node logged then; a CPU profile (`node --cpu-prof`) names the
 * function.
 *
 * A late timer has three possible causes, which call for different fixes,
 * so on Linux the line splits the stall by the main thread's scheduler
 * statistics (/proc/self/task/<pid>/schedstat: time on a CPU, time waiting
 * for one): `cpuMs` is synchronous work of this process (the profile names
 * it), `waitMs` is time the thread was runnable but other processes had the
 * CPU (a busy machine, nothing in the code), and the rest (`offCpuMs`) is
 * the thread asleep inside a synchronous call (disk I/O, a lock).
 */

/** How often the watch wakes, ms: 20 wake-ups per second cost nothing measurable. */
export const EVENT_LOOP_WATCH_INTERVAL_MS = 50;
/** A stall this long (ms) or longer is logged: over it, acks and deliveries visibly wait. */
export const EVENT_LOOP_BLOCKED_WARN_MS = 100;

/**
 * The pure part: fed the monotonic time (ms) at each tick, it returns how
 * long the loop was blocked before this tick (the tick's lateness beyond
 * its interval), or null when under `thresholdMs`.
 */
export class EventLoopDrift {
  private last: number;

  constructor(
    private readonly intervalMs: number,
    private readonly thresholdMs: number,
    start: number,
  ) {
    this.last = start;
  }

  /** @param now monotonic ms (performance.now()) @returns the blocked ms when ≥ threshold, else null */
  tick(now: number): number | null {
    const late = now - this.last - this.intervalMs;
    this.last = now;
    return late >= this.thresholdMs ? late : null;
  }
}

/** The main thread's scheduler counters, ms: on a CPU, and runnable but waiting for one. */
export interface SchedSample {
  cpuMs: number;
  waitMs: number;
}

/** How one stall's time was spent (ms), from the scheduler counters before and after it. */
export interface StallSplit {
  cpuMs: number;
  waitMs: number;
  offCpuMs: number;
}

/** Splits a stall of `blockedMs` (plus the tick's own interval) by two schedstat samples; times are rounded to ms. */
export function splitStall(before: SchedSample, after: SchedSample, gapMs: number): StallSplit {
  const cpuMs = Math.max(0, after.cpuMs - before.cpuMs);
  const waitMs = Math.max(0, after.waitMs - before.waitMs);
  return { cpuMs: Math.round(cpuMs), waitMs: Math.round(waitMs), offCpuMs: Math.round(Math.max(0, gapMs - cpuMs - waitMs)) };
}

/** Parses a schedstat line ("<ns on cpu> <ns waiting> <timeslices>"); null when it is not one. */
export function parseSchedstat(text: string): SchedSample | null {
  const [run, wait] = text.trim().split(/\s+/).map(Number);
  return run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait) ? null : { cpuMs: run / 1e6, waitMs: wait / 1e6 };
}

/** The main thread's counters (its tid is the pid); null where /proc has no schedstat (not Linux, or no CONFIG_SCHEDSTATS). */
function readSchedstat(): SchedSample | null {
  try {
    return parseSchedstat(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8"));
  } catch {
    return null;
  }
}

/** A running watch; `stop` clears its timer. */
export interface EventLoopWatch {
  stop(): void;
}

/**
 * Starts the watch on this process's event loop. The timer is unref'd, so
 * it never keeps a closing node alive.
 * @param opts.onBlocked called with each stall's length (ms), e.g. to observe a histogram
 */
export function watchEventLoop(
  log: Logger,
  opts: { onBlocked?: (ms: number) => void; intervalMs?: number; thresholdMs?: number } = {},
): EventLoopWatch {
  const intervalMs = opts.intervalMs ?? EVENT_LOOP_WATCH_INTERVAL_MS;
  let last = performance.now();
  const drift = new EventLoopDrift(intervalMs, opts.thresholdMs ?? EVENT_LOOP_BLOCKED_WARN_MS, last);
  let sched = readSchedstat();
  const timer = setInterval(() => {
    const now = performance.now();
    const blocked = drift.tick(now);
    // A read of a small /proc file per tick (~10 µs): the counters must be from just before a stall.
    const schedNow = sched === null ? null : readSchedstat();
    const gap = now - last;
    last = now;
    const before = sched;
    sched = schedNow;
    if (blocked === null) return;
    const ms = Math.round(blocked);
    opts.onBlocked?.(ms);
    if (before && schedNow) {
      const split = splitStall(before, schedNow, gap);
      log.warn({ blockedMs: ms, ...split }, `event loop blocked ${ms} ms (on CPU ${split.cpuMs} ms, waiting for a CPU ${split.waitMs} ms, asleep in a call ${split.offCpuMs} ms)`);
    } else {
      log.warn({ blockedMs: ms }, `event loop blocked ${ms} ms`);
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** A query this long (ms) or longer is logged: on SQLite it held the event loop that long. */
export const SLOW_QUERY_WARN_MS = 100;

/**
 * The store's `onQuery` for a node: every Kysely query's duration goes to
 * the metric, and a query of SLOW_QUERY_WARN_MS or more is logged at warn
 * as "slow query N ms" with its SQL (no parameters, which may hold user
 * text), cut to 300 characters.
 */
export function queryObserver(log: Logger, metrics: Pick<Metrics, "query">): (ms: number, sql: string) => void {
  return (ms, sql) => {
    metrics.query(ms);
    if (ms >= SLOW_QUERY_WARN_MS) log.warn({ queryMs: Math.round(ms), sql: sql.slice(0, 300) }, `slow query ${Math.round(ms)} ms`);
  };
}
