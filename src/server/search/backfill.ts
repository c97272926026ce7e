import { sql, type CompiledQuery, type Kysely } from "kysely";
import type { Attachment } from "@shared/protocol/attachments.js";
import type { Deps } from "../deps.js";
import type { Database } from "../store/schema.js";
import { rows, runSteps, runStepsSync, type Steps } from "../store/steps.js";
import type { SearchDialect, SearchDocument } from "./dialect.js";
import { searchedTexts } from "./indexing.js";
import { indexTerms, type IndexTerms } from "./tokens.js";

/**
 * Indexes the messages stored before the search index existed (issue 18,
 * item 6). Migration 0013 creates the index's tables empty, so a large
 * installation starts serving at once; this fills them in the background,
 * newest message first (what people search for most is found first),
 * `searchBackfillBatch` messages per transaction with `searchBackfillPauseMs`
 * between, and resumes where it stopped after a restart: its place is
 * `search_backfill.cursor`, written in the batch's own transaction.
 *
 * Order: SQLite stores messages in insertion order (migration 0002), so its
 * rowid is the order they were sent in; PostgreSQL walks the messages'
 * unique index on `id`, a UUID v7 that begins with its creation time in
 * milliseconds (store/ids.ts), so no index is added for the walk.
 *
 * Document ids count down from below the smallest one there is (0 on an
 * empty index), while messages sent since the index exists count up from 1:
 * id order stays time order for sort=date.
 *
 * Correctness against edits and deletions made meanwhile: the batch's
 * messages are read again inside the transaction that indexes them (on
 * PostgreSQL `FOR SHARE`, so an edit or deletion waits for the commit, or
 * the read waits for theirs), and indexed with the text read there; a
 * message deleted by then is skipped, and one already indexed too. An edit
 * or deletion committed after the batch finds its document and updates or
 * removes it in its own transaction (search/indexing.ts). The terms are
 * made from a read before the transaction, outside it, and made again
 * inside only for a message whose text changed in between, so the
 * transaction holds little more than the inserts.
 *
 * Many nodes: only the cluster's leader runs it (as files/sweeper.ts), and
 * on PostgreSQL each batch also takes a transaction-scoped advisory lock and
 * re-reads the cursor under it, so two nodes that both take themselves for
 * the leader for a beat never index one message twice.
 */

/** What one batch did. */
export interface BackfillBatch {
  /** Messages indexed by this batch. */
  indexed: number;
  /** True once every message older than the index is indexed (this batch found none left). */
  done: boolean;
}

/** A message as the backfill reads it: its place in the walk and what is indexed of it. */
interface MessageRow {
  /** SQLite: the rowid (a number); PostgreSQL: the message's id. */
  pos: number | string;
  id: string;
  room_id: string;
  author_id: string;
  created_at: string;
  body: string;
  /** JSON `Attachment[]`, or null. */
  attachments: string | null;
  deleted_at: string | null;
  /** Whether it has a search document already (sent since the index exists, or indexed by an earlier batch). */
  indexed: boolean | number;
}

/** A message the batch indexes: not deleted, not indexed. */
const toIndex = (m: MessageRow): boolean => m.deleted_at === null && !m.indexed;

interface Prepared {
  body: string;
  attachments: string | null;
  terms: IndexTerms;
  hasFiles: boolean;
}

type BackfillDeps = Pick<Deps, "config" | "store" | "log" | "cluster">;

/** Hooks for tests; production passes none. */
export interface BackfillOptions {
  /** Called after a batch's messages were read and their terms made, before its transaction: a test edits or deletes one of `messageIds` here. */
  afterRead?: (messageIds: string[]) => Promise<void>;
}

/** Progress is logged every this many batches (with counts and the rate). */
const LOG_EVERY_BATCHES = 20;
/** A node that is not the cluster's leader looks again this often (ms) whether it has become it, or the leader finished. */
const FOLLOWER_RECHECK_MS = 10_000;
/** After a failed batch, the first wait before trying again (ms); it doubles up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 300_000;
/** PostgreSQL: the advisory lock a batch holds, so batches of two nodes never interleave. */
const ADVISORY_LOCK = "parley:search-backfill";

/** The background backfill of a node: `start` after listen, `stop` before the store closes. */
export class SearchBackfill {
  private timer: NodeJS.Timeout | null = null;
  /** The batch under way, if any: `stop` waits for it. */
  private running: Promise<void> | null = null;
  private stopped = true;
  private retryMs = RETRY_FIRST_MS;
  /** This node's run: counts for the progress lines. */
  private run: { startedAt: number; indexed: number; batches: number; lastLogAt: number; lastLogIndexed: number; total: number | null } | null = null;

  constructor(
    private readonly deps: BackfillDeps,
    private readonly opts: BackfillOptions = {},
  ) {}

  /** Runs batches from now on (the first at once) until every older message is indexed or `stop`. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** No further batch starts; resolves once the one under way (if any) has committed or failed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.step()
        .then(
          (next) => {
            this.retryMs = RETRY_FIRST_MS;
            if (next !== null) this.schedule(next);
          },
          (err: unknown) => {
            this.deps.log.error({ err, retryInMs: this.retryMs }, "search backfill: a batch failed; it is tried again");
            this.schedule(this.retryMs);
            this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
          },
        )
        .finally(() => {
          this.running = null;
        });
    }, ms);
    // The backfill never keeps a process alive on its own.
    this.timer.unref();
  }

  /** One turn: a batch if this node runs the backfill; returns the wait before the next turn (ms), or null when done. */
  private async step(): Promise<number | null> {
    const { config, cluster } = this.deps;
    if (cluster && !cluster.isLeader()) return (await this.isDone()) ? null : FOLLOWER_RECHECK_MS;
    if (!this.run) {
      if (await this.isDone()) return null;
      await this.begin();
    }
    const batch = await this.batch(config.searchBackfillBatch);
    if (batch === null) return config.searchBackfillPauseMs;
    this.progress(batch);
    return batch.done ? null : config.searchBackfillPauseMs;
  }

  private async isDone(): Promise<boolean> {
    const state = await this.deps.store.db.selectFrom("search_backfill").select("done").where("id", "=", 1).executeTakeFirst();
    return state?.done === 1;
  }

  /** Before this node's first batch: the start line with how much there is. */
  private async begin(): Promise<void> {
    const { store, log } = this.deps;
    const state = (await store.db.selectFrom("search_backfill").select("cursor").where("id", "=", 1).executeTakeFirst()) ?? { cursor: null };
    const total = await this.remainingEstimate(state.cursor);
    const now = performance.now();
    this.run = { startedAt: now, indexed: 0, batches: 0, lastLogAt: now, lastLogIndexed: 0, total };
    // A new installation has nothing to index: that is no news.
    log[total === 0 ? "debug" : "info"](
      { messages: total, resumed: state.cursor !== null, batch: this.deps.config.searchBackfillBatch, pauseMs: this.deps.config.searchBackfillPauseMs },
      `search backfill: ${state.cursor === null ? "indexing" : "resuming the indexing of"} the messages stored before the search index, newest first` +
        (total === null ? "" : ` (at most ${total.toLocaleString("en")} to look at)`),
    );
  }

  /**
   * How many messages are left to look at, at most: on SQLite the span of
   * rowids below the cursor (two lookups; a count would scan the table on
   * the event loop's thread), on PostgreSQL a count (in its own process).
   */
  private async remainingEstimate(cursor: string | null): Promise<number | null> {
    const db = this.deps.store.db;
    if (this.deps.store.dialect.name === "sqlite") {
      const { rows: r } = await sql<{ lo: number | null; hi: number | null }>`select min(rowid) as lo, max(rowid) as hi from messages`.execute(db);
      const lo = r[0]?.lo ?? null;
      const hi = cursor === null ? (r[0]?.hi ?? null) : Number(cursor) - 1;
      return lo === null || hi === null ? 0 : Math.max(0, hi - lo + 1);
    }
    const { rows: r } = await sql<{ n: string }>`select count(*) as n from messages where deleted_at is null ${cursor === null ? sql`` : sql`and id < ${cursor}`}`.execute(db);
    return Number(r[0]?.n ?? 0);
  }

  private progress(batch: BackfillBatch): void {
    const run = this.run!;
    run.batches++;
    run.indexed += batch.indexed;
    const now = performance.now();
    const elapsedMs = Math.round(now - run.startedAt);
    if (batch.done) {
      this.deps.log[run.total === 0 && run.indexed === 0 ? "debug" : "info"](
        { indexed: run.indexed, elapsedMs },
        `search backfill: done: ${run.indexed.toLocaleString("en")} messages indexed in ${elapsedMs.toLocaleString("en")} ms; every message is searchable`,
      );
      this.run = null;
      return;
    }
    if (run.batches % LOG_EVERY_BATCHES !== 0) return;
    const perSecond = Math.round(((run.indexed - run.lastLogIndexed) * 1000) / Math.max(1, now - run.lastLogAt));
    run.lastLogAt = now;
    run.lastLogIndexed = run.indexed;
    this.deps.log.info(
      { indexed: run.indexed, batches: run.batches, perSecond, elapsedMs, ...(run.total !== null ? { atMost: run.total } : {}) },
      `search backfill: ${run.indexed.toLocaleString("en")} messages indexed` +
        (run.total !== null ? ` of at most ${run.total.toLocaleString("en")}` : "") +
        ` (${perSecond.toLocaleString("en")}/s)`,
    );
  }

  /**
   * One batch, now: takes the next `size` messages below the cursor, newest
   * first, indexes those not deleted and not indexed yet, and moves the
   * cursor past them, in one transaction.
   * @returns what it did; null when another node's batch held the lock or moved the cursor meanwhile (try again)
   * @throws whatever the database throws (nothing of the batch is kept)
   */
  async batch(size: number): Promise<BackfillBatch | null> {
    const { store } = this.deps;
    const db = store.db;
    let state = await db.selectFrom("search_backfill").select(["cursor", "done"]).where("id", "=", 1).executeTakeFirst();
    if (!state) {
      // The first batch ever: the state row (migration 0013 leaves the table empty).
      await db.insertInto("search_backfill").values({ id: 1, cursor: null, done: 0 }).onConflict((oc) => oc.column("id").doNothing()).execute();
      state = { cursor: null, done: 0 };
    }
    if (state.done === 1) return { indexed: 0, done: true };
    const cursor = state.cursor;
    // Read and tokenized outside the transaction: the transaction re-reads these rows and reuses the terms of those unchanged.
    const read = (await db.executeQuery<MessageRow>(nextMessages(db, store.dialect.name, cursor, size, false))).rows.filter(toIndex);
    const prepared = new Map<string, Prepared>();
    for (const m of read) prepared.set(m.id, { body: m.body, attachments: m.attachments, ...termsOf(m) });
    await this.opts.afterRead?.(read.map((m) => m.id));

    const steps = indexBatch(db, store.dialect.name, store.dialect.search, cursor, size, prepared);
    if (store.sync) {
      const sync = store.sync;
      // Like the group-commit writer: a checkpoint's tail first, then BEGIN to COMMIT in one synchronous stretch.
      await store.dialect.beforeCommit();
      const runSync = (): BackfillBatch | null => {
        sync.begin();
        try {
          const outcome = runStepsSync(sync.run, steps);
          sync.commit();
          return outcome;
        } catch (err) {
          sync.rollback();
          throw err;
        }
      };
      // A Kysely transaction open on the one connection (awaiting between its statements) is waited for.
      return sync.inTransaction() ? db.connection().execute(async () => runSync()) : runSync();
    }
    return db.transaction().execute((trx) => runSteps(trx, steps));
  }
}

/** The terms of a message as read (its text and its files' names), and whether it has files. */
function termsOf(m: Pick<MessageRow, "body" | "attachments">): { terms: IndexTerms; hasFiles: boolean } {
  const attachments = m.attachments === null ? null : (JSON.parse(m.attachments) as Pick<Attachment, "name">[]);
  return { terms: indexTerms(searchedTexts(m.body, attachments)), hasFiles: (attachments?.length ?? 0) > 0 };
}

/**
 * The next `size` messages of the walk below `cursor` (from the newest when
 * null), newest first, deleted and indexed ones included (the caller skips
 * them): a range of the rowid or id index and nothing else, so that each
 * batch costs the same however many messages before it were skipped, and
 * no planner can choose to sort the whole table (PostgreSQL did, right after
 * copy-database, before its statistics existed: 1.4 s a batch at 1,000,000
 * messages). `lock`: PostgreSQL `FOR SHARE`.
 */
function nextMessages(db: Kysely<Database>, dialect: "sqlite" | "postgres", cursor: string | null, size: number, lock: boolean): CompiledQuery<MessageRow> {
  const indexed = sql`exists (select 1 from search_documents d where d.message_id = m.id) as indexed`;
  if (dialect === "sqlite") {
    const below = cursor === null ? sql`` : sql`where m.rowid < ${Number(cursor)}`;
    return sql<MessageRow>`select m.rowid as pos, m.id, m.room_id, m.author_id, m.created_at, m.body, m.attachments, m.deleted_at, ${indexed}
      from messages m ${below} order by m.rowid desc limit ${size}`.compile(db);
  }
  const below = cursor === null ? sql`` : sql`where m.id < ${cursor}`;
  return sql<MessageRow>`select m.id as pos, m.id, m.room_id, m.author_id, m.created_at, m.body, m.attachments, m.deleted_at, ${indexed}
    from messages m ${below} order by m.id desc limit ${size} ${lock ? sql`for share of m` : sql``}`.compile(db);
}

/**
 * The batch's transaction as steps (store/steps.ts: synchronous on SQLite):
 * under the lock (PostgreSQL), checks the cursor is still `cursor`, reads
 * the batch again, indexes it below the smallest document id, and moves the
 * cursor; an empty read marks the backfill done.
 */
function* indexBatch(
  db: Kysely<Database>,
  dialect: "sqlite" | "postgres",
  search: Pick<SearchDialect, "insert" | "addWords">,
  cursor: string | null,
  size: number,
  prepared: Map<string, Prepared>,
): Steps<BackfillBatch | null> {
  if (dialect === "postgres") {
    const [lock] = yield* rows<{ locked: boolean }>(sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${ADVISORY_LOCK})) as locked`.compile(db));
    if (!lock?.locked) return null;
  }
  const [state] = yield* rows(db.selectFrom("search_backfill").select(["cursor", "done"]).where("id", "=", 1).compile());
  if (!state) throw new Error("search backfill: the search_backfill row is missing");
  if (state.done === 1) return { indexed: 0, done: true };
  // Another node's batch committed since our read: its cursor is the place to go on from.
  if (state.cursor !== cursor) return null;
  const scanned = yield* rows(nextMessages(db, dialect, cursor, size, true));
  if (scanned.length === 0) {
    yield* rows(db.updateTable("search_backfill").set({ done: 1 }).where("id", "=", 1).compile());
    return { indexed: 0, done: true };
  }
  const next = String(scanned[scanned.length - 1]!.pos);
  const messages = scanned.filter(toIndex);
  if (messages.length === 0) {
    yield* rows(db.updateTable("search_backfill").set({ cursor: next }).where("id", "=", 1).compile());
    return { indexed: 0, done: false };
  }
  const [lowest] = yield* rows(db.selectFrom("search_documents").select((eb) => eb.fn.min("id").as("min")).compile());
  let id = lowest?.min === null || lowest?.min === undefined ? 0 : Number(lowest.min) - 1;
  // The batch's new vocabulary in one statement, sorted (two writers adding words in one order cannot deadlock over them).
  const vocabulary = new Set<string>();
  const docs: SearchDocument[] = [];
  for (const m of messages) {
    const known = prepared.get(m.id);
    // Edited since the first read: the text read now is the one indexed.
    const { terms, hasFiles } = known && known.body === m.body && known.attachments === m.attachments ? known : termsOf(m);
    for (const word of terms.vocabulary) vocabulary.add(word);
    docs.push({ id: id--, messageId: m.id, roomId: m.room_id, authorId: m.author_id, createdAt: m.created_at, hasFiles, terms });
  }
  for (const doc of docs) for (const query of search.insert(doc)) yield* rows(query);
  if (vocabulary.size > 0) yield* rows(search.addWords([...vocabulary].sort()));
  yield* rows(db.updateTable("search_backfill").set({ cursor: next }).where("id", "=", 1).compile());
  return { indexed: messages.length, done: false };
}
