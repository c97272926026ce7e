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

type Outcome = { ok: true; result: unknown; publish: BusEnvelope[] } | { ok: false; err: unknown };

/**
 * Group commit for every write that takes a room seq. Works queued
 * together (those of one event-loop turn, and all that arrive while the
 * previous batch waits for its fsync) run one after another in one
 * transaction, so N sends cost one commit and one fsync instead of N.
 *
 * A batch is answered only once it is durable (`durable()`, DESIGN.md
 * invariant 3), and answers and bus events go out strictly in commit order,
 * which is seq order per room: the fan-out never sees seq 6 before 5. The
 * event loop is free while a batch's fsync runs.
 *
 * A work must check before it writes ("check, then do"): when it throws an
 * AppError the batch goes on without it. Any other error rolls the whole
 * batch back, and each work is then retried alone, so one broken work fails
 * only its own caller.
 */
export class RoomWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  /** A batch is committing or waiting to be durable; new works wait and form the next batch. */
  private busy = false;
  /** Answers and events, in commit order, each after its batch is durable. */
  private answering: Promise<void> = Promise.resolve();
  /**
   * Per room, the first seq of the batch that is committed but not yet
   * durable (at most one batch is at a time). Readers of the log stop
   * before it: see `readableSeq`.
   */
  private readonly undurable = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly durable: () => Promise<void>,
    /**
     * How long the first write of an idle writer waits for company, in ms.
     * Under paced load most sends would otherwise commit alone, each paying a
     * whole transaction and fsync; 1 ms cut server CPU by a quarter on the
     * DM and room-fanout benchmarks. 0 commits at the end of the turn.
     */
    private readonly commitWindowMs = 0,
    /** The store's `beforeCommit` (see StoreDialect): a batch starts after what it returns. */
    private readonly beforeCommit: () => Promise<void> | null = () => null,
  ) {}

  submit<R>(work: RoomWork<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /**
   * The highest seq of `roomId` that readers may hand out: everything up to
   * it is durable. A catch-up, a resume or a history page that showed a
   * client an event still waiting for its fsync could show one that a power
   * cut then erases, and that a retry stores again under another seq: the
   * duplicate this server exists to prevent (DESIGN.md invariants 3, 4).
   * Such events reach clients live once durable. Infinity: no limit.
   */
  readableSeq(roomId: string): number {
    const first = this.undurable.get(roomId);
    return first === undefined ? Infinity : first - 1;
  }

  /** Resolves when everything submitted so far has been answered. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled || this.busy) await new Promise((r) => setTimeout(r, 1));
    await this.answering;
  }

  /**
   * Starts the next batch unless one is in flight, after the commit window
   * (or at the end of this turn), so that every command parsed meanwhile
   * joins; while a batch waits for its fsync, arrivals queue up and commit
   * together after it: the busier the server, the larger the batch, and at
   * most one fsync is outstanding.
   */
  private pump(): void {
    if (this.busy || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    const start = () => {
      this.scheduled = false;
      void this.cycle();
    };
    if (this.commitWindowMs > 0) setTimeout(start, this.commitWindowMs);
    else setImmediate(start);
  }

  private async cycle(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const wait = this.beforeCommit();
      // Works that arrive while the store holds writes join this batch.
      if (wait) await wait;
      const batch = this.queue;
      this.queue = [];
      const outcomes = await this.commit(batch);
      for (const o of outcomes) {
        if (!o.ok) continue;
        for (const e of o.publish) if (e.kind === "room" && !this.undurable.has(e.roomId)) this.undurable.set(e.roomId, e.seq);
      }
      const durable = outcomes.some((o) => o.ok) ? this.durable() : Promise.resolve();
      this.answering = this.answering.then(() =>
        durable.then(
          () => this.answer(batch, outcomes),
          (err: unknown) => {
            // Committed but maybe not on disk: fail the senders, who retry by clientId.
            this.log.error({ err }, "fsync after group commit failed");
            batch.forEach((item) => item.reject(err));
          },
        ),
      );
      await durable.catch(() => undefined);
    } finally {
      // Durable, or failed: a failed fsync fails its senders, who retry; the rows stay readable as committed.
      this.undurable.clear();
      this.busy = false;
      this.pump();
    }
  }

  private answer(batch: Pending[], outcomes: Outcome[]): void {
    for (const o of outcomes) if (o.ok) for (const envelope of o.publish) this.bus.publish(envelope);
    outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.result) : batch[i]!.reject(o.err)));
  }

  /** One transaction for the batch; on an unexpected error, one per work. */
  private async commit(batch: Pending[]): Promise<Outcome[]> {
    try {
      return await this.transaction(batch);
    } catch (err) {
      if (batch.length === 1) return [{ ok: false, err }];
      this.log.warn({ err, size: batch.length }, "group commit failed; retrying its works one by one");
      const outcomes: Outcome[] = [];
      for (const item of batch) {
        outcomes.push(...(await this.transaction([item]).catch((e: unknown): Outcome[] => [{ ok: false, err: e }])));
      }
      return outcomes;
    }
  }

  private async transaction(batch: Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
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
    return outcomes;
  }
}
