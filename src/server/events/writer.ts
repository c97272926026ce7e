import type { CompiledQuery, Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../store/schema.js";
import type { Bus, BusEnvelope } from "../bus/bus.js";
import { AppError } from "../errors.js";
import { MAX_SEQ } from "@shared/protocol/limits.js";
import { noSendPathObserver, type SendPathObserver } from "../metrics/send-path.js";
import { runSteps, runStepsSync, type Steps, type SyncSession } from "../store/steps.js";

/** What a unit of work returns: its caller's result and the events to publish once durable. */
export interface WorkOutcome<R> {
  result: R;
  publish: BusEnvelope[];
}

/** One unit of work: reads and writes in `trx`. */
export type RoomWork<R> = (trx: Kysely<Database>) => Promise<WorkOutcome<R>>;

/**
 * One unit of work as steps (store/steps.ts): the same checks and writes,
 * which SQLite runs synchronously. `db` compiles queries; it runs none.
 */
export type RoomSteps<R> = (db: Kysely<Database>) => Steps<WorkOutcome<R>>;

type Pending = (
  | { kind: "work"; work: RoomWork<unknown> }
  | { kind: "steps"; steps: RoomSteps<unknown> }
) & {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** performance.now() at submit (ms): the batch's queue wait is its oldest work's. */
  at: number;
  /** The existing room the work writes to, if it names one: its row is locked up front, in id order (`lockRooms`). */
  roomId?: string;
};

/** How a RoomWriter batches, syncs and reports; every field has a default. */
export interface RoomWriterOptions {
  /**
   * How long the first write of an idle writer may wait for company, in ms
   * (0, the default: never); it stops waiting as soon as a second write
   * comes. Each batch pays a transaction and an fsync (~100 µs of CPU each
   * here), and the sends of one batch reach each socket in one write: on
   * the room-fanout benchmark at 100 sends/s (which arrive in bursts), a
   * 1 ms window made batches of 1.9 and cut server CPU per delivery by a
   * sixth, and lowered p50 too (a burst's second send no longer waits
   * behind the first one's fsync).
   */
  commitWindowMs?: number;
  /** The store's `beforeCommit` (see StoreDialect): a batch starts after what it returns. */
  beforeCommit?: () => Promise<void> | null;
  /** SQLite's synchronous session (Store.sync): batches of steps run on it; null: always through Kysely. */
  sync?: SyncSession | null;
  /** Where the batch's stages are reported (metrics/send-path.ts). */
  observer?: SendPathObserver;
  /**
   * The store's `roomsLock` (see StoreDialect): run first in a batch's
   * transaction with the rooms its works named, so that every batch takes
   * its room locks in the same (id) order and two nodes' batches cannot
   * deadlock. Null where the database has one writer (SQLite).
   */
  lockRooms?: (db: Kysely<Database>, roomIds: string[]) => CompiledQuery | null;
  /**
   * A group commit stops taking works once it has run this long (ms,
   * default MAX_BATCH_MS); the works left form the next batch, in order.
   * Without a bound, whatever queued during a slow fsync or a stall (a busy
   * machine) ran in one synchronous stretch: hundreds of works, 100 ms and
   * more of the loop held, during which the next backlog built up (the
   * issue 16 soak's group commits over 100 ms).
   */
  maxBatchMs?: number;
  /** The clock of that bound (ms); tests pass a fake one. */
  now?: () => number;
}

/**
 * Default for `maxBatchMs`: a work costs 0.1–0.5 ms, so a batch holds
 * 40–200 works before it stops; under the benchmarks' loads batches run
 * 1–5 ms and never reach it.
 */
export const MAX_BATCH_MS = 20;

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
  /** The commit window's timer while an idle writer waits for company. */
  private windowTimer: NodeJS.Timeout | null = null;
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

  private readonly commitWindowMs: number;
  private readonly beforeCommit: () => Promise<void> | null;
  private readonly sync: SyncSession | null;
  private readonly observer: SendPathObserver;
  private readonly lockRooms: (db: Kysely<Database>, roomIds: string[]) => CompiledQuery | null;
  private readonly maxBatchMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly durable: () => Promise<void>,
    opts: RoomWriterOptions = {},
  ) {
    this.commitWindowMs = opts.commitWindowMs ?? 0;
    this.beforeCommit = opts.beforeCommit ?? (() => null);
    this.sync = opts.sync ?? null;
    this.observer = opts.observer ?? noSendPathObserver;
    this.lockRooms = opts.lockRooms ?? (() => null);
    this.maxBatchMs = opts.maxBatchMs ?? MAX_BATCH_MS;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Queues a work for the next group commit; resolves with its result once durable. */
  submit<R>(work: RoomWork<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ kind: "work", work, resolve: resolve as (v: unknown) => void, reject, at: performance.now() });
      this.pump();
    });
  }

  /**
   * Queues a work written as steps. A batch made only of steps runs
   * synchronously on SQLite (no promise per statement); otherwise its steps
   * are awaited one query at a time inside the batch's transaction.
   */
  submitSteps<R>(steps: RoomSteps<R>): Promise<R> {
    return this.submitRoomSteps(undefined, steps);
  }

  /**
   * `submitSteps` for a work on an existing room (`roomId`): on PostgreSQL
   * the batch locks its works' rooms up front, in id order (`lockRooms`).
   */
  submitRoomSteps<R>(roomId: string | undefined, steps: RoomSteps<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ kind: "steps", steps: steps as RoomSteps<unknown>, resolve: resolve as (v: unknown) => void, reject, at: performance.now(), roomId });
      this.pump();
    });
  }

  /**
   * The highest seq of `roomId` that readers may hand out: everything up to
   * it is durable. A catch-up, a resume or a history page that showed a
   * client an event still waiting for its fsync could show one that a power
   * cut then erases, and that a retry stores again under another seq: the
   * duplicate this server exists to prevent (DESIGN.md invariants 3, 4).
   * Such events reach clients live once durable. MAX_SEQ: no limit.
   */
  readableSeq(roomId: string): number {
    const first = this.undurable.get(roomId);
    return first === undefined ? MAX_SEQ : first - 1;
  }

  /** Resolves when everything submitted so far has been answered. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled || this.busy) await new Promise((r) => setTimeout(r, 1));
    await this.answering;
  }

  /**
   * Starts the next batch unless one is in flight: once a second write has
   * arrived (at the end of that turn, so that every command parsed in it
   * joins) or the commit window ends, whichever is first; without a window,
   * at the end of this turn. While a batch waits for its fsync, arrivals
   * queue up and commit together after it: the busier the server, the
   * larger the batch, and at most one fsync is outstanding.
   */
  private pump(): void {
    if (this.busy || this.queue.length === 0) return;
    if (this.scheduled) {
      // Waiting in the window, and company came: commit at the end of this turn instead.
      if (this.windowTimer && this.queue.length >= 2) {
        clearTimeout(this.windowTimer);
        this.windowTimer = null;
        setImmediate(this.start);
      }
      return;
    }
    this.scheduled = true;
    // Company already here (works that queued during the last fsync): no reason to wait.
    if (this.commitWindowMs > 0 && this.queue.length < 2) this.windowTimer = setTimeout(this.start, this.commitWindowMs);
    else setImmediate(this.start);
  }

  private readonly start = (): void => {
    this.scheduled = false;
    this.windowTimer = null;
    void this.cycle();
  };

  private async cycle(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const wait = this.beforeCommit();
      // Works that arrive while the store holds writes join this batch.
      if (wait) await wait;
      const taken = this.queue;
      this.queue = [];
      const started = performance.now();
      const outcomes = await this.commit(taken);
      const committed = performance.now();
      // Past its time budget the batch committed a prefix: the rest goes first in the next one.
      const batch = outcomes.length < taken.length ? taken.slice(0, outcomes.length) : taken;
      if (batch !== taken) this.queue = taken.slice(outcomes.length).concat(this.queue);
      for (const o of outcomes) {
        if (!o.ok) continue;
        for (const e of o.publish) if (e.kind === "room" && !this.undurable.has(e.roomId)) this.undurable.set(e.roomId, e.seq);
      }
      const durable = outcomes.some((o) => o.ok) ? this.durable() : Promise.resolve();
      this.answering = this.answering.then(() =>
        durable.then(
          () => {
            const durableAt = performance.now();
            const events = this.answer(batch, outcomes, committed);
            this.observer.stage("publish", performance.now() - durableAt);
            this.observer.batch({ size: batch.length, events, queueMs: started - batch[0]!.at, runMs: committed - started, fsyncMs: durableAt - committed });
          },
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

  /** Publishes, then answers, in commit order; returns the room events published. `committedAt` (performance.now() ms) rides along for the fan-out latency. */
  private answer(batch: Pending[], outcomes: Outcome[], committedAt: number): number {
    let events = 0;
    for (const o of outcomes) {
      if (!o.ok) continue;
      for (const envelope of o.publish) {
        if (envelope.kind === "room") events++;
        this.bus.publish(envelope.kind === "room" ? { ...envelope, committedAt } : envelope);
      }
    }
    outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.result) : batch[i]!.reject(o.err)));
    return events;
  }

  /**
   * One transaction for the batch, or for its first works when it runs past
   * `maxBatchMs` (the outcomes then cover a prefix; at least one work always
   * runs); on an unexpected error, one per work.
   */
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
    const sync = this.sync;
    if (sync && batch.every((item) => item.kind === "steps")) {
      // Synchronous from BEGIN to COMMIT, so no Kysely query can interleave. Only a Kysely
      // transaction already open (receipts awaiting between statements) is in the way: then wait for it.
      if (!sync.inTransaction()) return this.transactionSync(sync, batch);
      return this.db.connection().execute(async () => this.transactionSync(sync, batch));
    }
    const outcomes: Outcome[] = [];
    await this.db.transaction().execute(async (trx) => {
      const roomIds = [...new Set(batch.flatMap((item) => (item.roomId === undefined ? [] : [item.roomId])))].sort();
      const lock = roomIds.length > 0 ? this.lockRooms(trx, roomIds) : null;
      if (lock) await trx.executeQuery(lock);
      const budgetFrom = this.now();
      for (const item of batch) {
        if (outcomes.length > 0 && this.now() - budgetFrom >= this.maxBatchMs) break;
        const started = performance.now();
        try {
          const { result, publish } = item.kind === "work" ? await item.work(trx) : await runSteps(trx, item.steps(trx));
          this.observer.stage("work", performance.now() - started);
          outcomes.push({ ok: true, result, publish });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          outcomes.push({ ok: false, err });
        }
      }
    });
    return outcomes;
  }

  /** The batch from BEGIN to COMMIT in one synchronous stretch; rolled back and thrown on an unexpected error. */
  private transactionSync(sync: SyncSession, batch: Pending[]): Outcome[] {
    const outcomes: Outcome[] = [];
    let at = performance.now();
    sync.begin();
    let commitMs = performance.now() - at;
    const budgetFrom = this.now();
    try {
      for (const item of batch) {
        if (outcomes.length > 0 && this.now() - budgetFrom >= this.maxBatchMs) break;
        if (item.kind !== "steps") throw new Error("transactionSync: a batch of steps only");
        at = performance.now();
        try {
          const { result, publish } = runStepsSync(sync.run, item.steps(this.db));
          this.observer.stage("work", performance.now() - at);
          outcomes.push({ ok: true, result, publish });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          outcomes.push({ ok: false, err });
        }
      }
      at = performance.now();
      sync.commit();
      commitMs += performance.now() - at;
    } catch (err) {
      sync.rollback();
      throw err;
    }
    this.observer.stage("commit", commitMs);
    return outcomes;
  }
}
