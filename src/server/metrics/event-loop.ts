import type { Logger } from "pino";

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
  const drift = new EventLoopDrift(intervalMs, opts.thresholdMs ?? EVENT_LOOP_BLOCKED_WARN_MS, performance.now());
  const timer = setInterval(() => {
    const blocked = drift.tick(performance.now());
    if (blocked === null) return;
    const ms = Math.round(blocked);
    opts.onBlocked?.(ms);
    log.warn({ blockedMs: ms }, `event loop blocked ${ms} ms`);
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
