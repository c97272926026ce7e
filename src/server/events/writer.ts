import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../store/schema.js";
import type { Bus, BusEnvelope } from "../bus/bus.js";
import { AppError } from "../errors.js";

/** One unit of work: reads and writes in `trx`, returns a result and what to publish. */
export type RoomWork<R> = (trx: Kysely<Database>) => Promise<{ result: R; publish: BusEnvelope[] }>;

interface Pending {
  work: RoomWork<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for every write that takes a room seq. Works submitted in
 * the same event-loop turn run one after another in one transaction, so N
 * sends cost one commit (one fsync) instead of N. Results resolve only after
 * the commit (DESIGN.md invariant 3), and the bus hears the events in commit
 * order, which is seq order per room: the fan-out never sees seq 6 before 5.
 *
 * A work must check before it writes ("check, then do"): when it throws an
 * AppError the batch goes on without it. Any other error rolls the whole
 * batch back, and each work is then retried alone, so one broken work fails
 * only its own caller.
 */
export class RoomWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  submit<R>(work: RoomWork<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate: let every command parsed in this turn join the batch.
        setImmediate(() => {
          this.scheduled = false;
          const batch = this.queue;
          this.queue = [];
          this.running = this.running.then(() => this.flush(batch));
        });
      }
    });
  }

  /** Resolves when everything submitted so far has committed or failed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) await new Promise((r) => setImmediate(r));
    await this.running;
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      await this.runBatch(batch);
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      this.log.warn({ err, size: batch.length }, "group commit failed; retrying its works one by one");
      for (const item of batch) {
        await this.runBatch([item]).catch((e: unknown) => item.reject(e));
      }
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const outcomes: ({ ok: true; result: unknown; publish: BusEnvelope[] } | { ok: false; err: AppError })[] = [];
    await this.db.transaction().execute(async (trx) => {
      for (const item of batch) {
        try {
          const { result, publish } = await item.work(trx);
          outcomes.push({ ok: true, result, publish });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          outcomes.push({ ok: false, err });
        }
      }
    });
    // Committed: publish in seq order, then answer.
    outcomes.forEach((o) => {
      if (o.ok) for (const envelope of o.publish) this.bus.publish(envelope);
    });
    outcomes.forEach((o, i) => {
      if (o.ok) batch[i]!.resolve(o.result);
      else batch[i]!.reject(o.err);
    });
  }
}
