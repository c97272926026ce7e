import type { Logger } from "pino";

/**
 * A node's background job that runs every so often (the file sweeper, the
 * email digests): a timeout re-armed after each run ends, not an interval,
 * so a slow run (a large backlog, a slow store or SMTP server) never
 * overlaps the next; the timer is unref'd, so it never keeps a process
 * alive on its own. `start` after listen, `stop` before the store closes.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | null = null;
  /** The run under way, if any: `stop` waits for it. */
  private running: Promise<void> | null = null;
  private stopped = true;

  /**
   * @param run one pass; a rejection is logged with `failure` and the next pass runs as planned
   * @param intervalMs the pause between the end of one pass and the start of the next (ms)
   * @param failure the log line of a failed pass (say what becomes of the work left)
   */
  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly failure: string,
  ) {}

  /** Runs every `intervalMs` from now on (the first after one interval). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** No further pass starts; resolves once the one under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.run()
        .then(
          () => undefined,
          (err: unknown) => this.log.error({ err }, this.failure),
        )
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
