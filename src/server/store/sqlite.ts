import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect, sql, type SqliteDatabase, type SqliteStatement, type KyselyConfig } from "kysely";
import type { Database } from "./schema.js";
import type { StoreDialect } from "./dialect.js";
import { sqliteSearch } from "../search/sqlite.js";
import type { SyncSession } from "./steps.js";

/**
 * The embedded default: one SQLite file in WAL mode, opened through
 * better-sqlite3.
 *
 * Durability (`synchronous: "full"`): an acked message must survive a power
 * cut, so the WAL must be fsynced after its commit. SQLite's own
 * `synchronous=FULL` does that inside COMMIT, blocking the event loop for
 * the fsync, and under load one blocked fsync per small batch was the
 * server's ceiling. Instead the connection runs `synchronous=NORMAL` (the
 * commit writes its WAL frames but does not sync them, and a crash of the
 * process loses nothing: https://www.sqlite.org/pragma.html#pragma_synchronous)
 * and `durable()` fsyncs the WAL file on libuv's thread pool; the writer
 * acks only after that resolves, and the event loop serves sockets
 * meanwhile. `"normal"` skips that fsync: faster, but a power cut may lose
 * the last acked messages.
 */
export function openSqlite(
  file: string,
  opts: { synchronous: "full" | "normal"; checkpointIntervalMs?: number; walRestartBytes?: number; onQuery?: (ms: number, sql: string) => void },
): { db: Kysely<Database>; dialect: StoreDialect; raw: BetterSqlite3.Database; sync: SyncSession; close: () => Promise<void> } {
  const inMemory = file === ":memory:";
  if (!inMemory) fs.mkdirSync(path.dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("foreign_keys = ON");
  // Another process (a backup, the CLI) may hold the lock briefly.
  raw.pragma("busy_timeout = 5000");
  const checkpointer = inMemory ? null : new Checkpointer(file, {
        intervalMs: opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
        restartBytes: opts.walRestartBytes ?? WAL_RESTART_BYTES,
        frameBytes: Number(raw.pragma("page_size", { simple: true })) + 24,
      });
  if (checkpointer) {
    raw.pragma("wal_autocheckpoint = 0");
    // After a restart the WAL is rewritten from its start; a WAL that grew in a burst is cut back to this (bytes).
    raw.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  }
  const prepare = statementCache(raw);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachedDatabase(raw, prepare) }), log: queryLog(opts.onQuery) });
  const wal = inMemory || opts.synchronous === "normal" ? null : new WalSync(`${file}-wal`);
  const dialect: StoreDialect = {
    ...sqliteDialect,
    durable: wal ? () => wal.sync() : sqliteDialect.durable,
    beforeCommit: checkpointer ? () => checkpointer.beforeCommit() : sqliteDialect.beforeCommit,
  };
  return {
    db,
    dialect,
    raw,
    sync: syncSession(raw, prepare),
    async close() {
      await checkpointer?.stop();
      await db.destroy();
      wal?.close();
    },
  };
}

/**
 * fsync of the WAL file, off the event loop. Concurrent callers share one
 * fsync when they can: a caller that arrives while one runs waits for the
 * next, which covers everything committed before it started.
 */
class WalSync {
  private fd: number | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly path: string) {}

  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.fsync().finally(() => (this.running = null));
      return this.running;
    }
    // One is in flight and may have started before our commit: queue one more.
    this.next ??= this.running.catch(() => undefined).then(() => {
      this.next = null;
      return this.sync();
    });
    return this.next;
  }

  private fsync(): Promise<void> {
    // The WAL file exists once the first write has committed; it keeps its inode while the database is open.
    this.fd ??= fs.openSync(this.path, "r");
    const fd = this.fd;
    return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * How often the checkpointer copies the WAL back into the database file.
 * Each checkpoint ends with an fsync of the database file, and the WAL
 * fsync that acks wait for can queue behind it in the filesystem. Measured
 * on the DM benchmark (p99 at 2,500 messages/s): 100 ms intervals 21-30 ms,
 * 1 s intervals 7-16 ms, now that a commit writes few pages; before
 * messages were clustered by room, 1 s gave 55 ms and 100 ms 17 ms.
 */
const CHECKPOINT_INTERVAL_MS = 1_000;
/** A WAL file larger than this (bytes) is truncated to it when the WAL restarts. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * The WAL is restarted (the writer waits for a checkpoint's tail) only once
 * it holds this much (bytes), not after every checkpoint: each restart
 * stalls the writer for the tail's copy and fsync, 5–15 ms here under load,
 * which once a second was the DM benchmark's p99. Below the size limit, so
 * the file is rewritten in place and never extended or truncated.
 */
const WAL_RESTART_BYTES = 32 * 1024 * 1024;

const checkpointerSource = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma("busy_timeout = 5000");
parentPort.on("message", (message) => {
  if (message === "stop") { db.close(); parentPort.close(); return; }
  try {
    const [row] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ walFrames: row ? row.log : 0 });
  } catch (err) {
    parentPort.postMessage({ error: String(err) });
  }
});
`;

/**
 * Checkpoints the WAL from a worker thread, and lets the WAL restart.
 *
 * SQLite's automatic checkpoint runs inside whichever COMMIT crosses 1,000
 * WAL pages, on the committing thread: copying those pages and fsyncing the
 * database file stalled the event loop for tens of milliseconds about every
 * second under load. The main connection turns it off and a worker runs
 * PASSIVE checkpoints, which never block the writer
 * (https://www.sqlite.org/wal.html#ckpt, sqlite3_wal_checkpoint_v2).
 *
 * But SQLite writes the WAL from its start again only when a write
 * transaction begins after a checkpoint has copied *every* frame
 * (https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files).
 * Under steady load a commit always lands while the worker copies, so the
 * WAL never restarted: it grew by ~60 MB/s on the DM benchmark (840 MB in a
 * 20 s step), every commit extended the file, and COMMIT became a quarter of
 * the server's CPU. So a checkpoint has two phases: the bulk runs beside
 * the writer; then, once the WAL holds WAL_RESTART_BYTES, before its next
 * batch the writer waits while the worker copies the few frames committed
 * meanwhile (`beforeCommit`), and that batch restarts the WAL.
 *
 * When nobody writes, a timer moves the phases on by itself.
 */
class Checkpointer {
  private readonly worker: Worker;
  private exited = false;
  /** idle → bulk (worker copying beside the writer) → [WAL big enough: tail-due → tail (writer waits)] → idle. */
  private phase: "idle" | "bulk" | "tail-due" | "tail" = "idle";
  private lastDone = performance.now();
  private reply: ((walFrames: number) => void) | null = null;
  private stopping = false;
  private readonly timer: NodeJS.Timeout;

  private readonly intervalMs: number;
  private readonly restartBytes: number;
  /** Bytes per WAL frame (page size + 24): converts the checkpoint's frame count. */
  private readonly frameBytes: number;

  constructor(file: string, opts: { intervalMs: number; restartBytes: number; frameBytes: number }) {
    this.intervalMs = opts.intervalMs;
    this.restartBytes = opts.restartBytes;
    this.frameBytes = opts.frameBytes;
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    // execArgv: [] so the source always runs as CommonJS, whatever flags started the process (--input-type=module would not).
    this.worker = new Worker(checkpointerSource, { eval: true, execArgv: [], workerData: { driver, file } });
    // No logger reaches the store; these are rare and must not pass silently.
    this.worker.on("error", (err) => console.error("parley: WAL checkpointer failed", err));
    this.worker.on("message", (r: { error?: string; walFrames?: number }) => {
      if (r.error) console.error("parley: WAL checkpoint failed:", r.error);
      this.answered(r.walFrames ?? 0);
    });
    this.worker.once("exit", () => {
      this.exited = true;
      this.answered(0);
    });
    this.worker.unref();
    // When nobody writes, the timer moves the phases on by itself; a tail it runs holds no writer.
    this.timer = setInterval(() => {
      if (this.phase === "tail-due") void this.tail();
      else this.startBulkIfDue();
    }, this.intervalMs).unref();
  }

  /**
   * Called before each group commit, with no write transaction open.
   * @returns a promise to wait for before committing (the tail of a checkpoint), or null
   */
  beforeCommit(): Promise<void> | null {
    if (this.phase === "tail-due") return this.tail();
    this.startBulkIfDue();
    return null;
  }

  private startBulkIfDue(): void {
    if (this.phase !== "idle" || performance.now() - this.lastDone < this.intervalMs) return;
    this.phase = "bulk";
    void this.run().then((walFrames) => {
      if (walFrames * this.frameBytes >= this.restartBytes) {
        this.phase = "tail-due";
      } else {
        this.phase = "idle";
        this.lastDone = performance.now();
      }
    });
  }

  private tail(): Promise<void> {
    this.phase = "tail";
    return this.run().then(() => {
      this.phase = "idle";
      this.lastDone = performance.now();
    });
  }

  private answered(walFrames: number): void {
    const reply = this.reply;
    this.reply = null;
    // While stopping, stop() holds the worker ref'd until it exits.
    if (!this.exited && !this.stopping) this.worker.unref();
    reply?.(walFrames);
  }

  /**
   * One PASSIVE checkpoint in the worker (the phases keep them one at a
   * time); resolves with the frames the WAL holds. Never rejects (failures are printed).
   */
  private run(): Promise<number> {
    if (this.exited) return Promise.resolve(0);
    return new Promise((resolve) => {
      this.reply = resolve;
      // Ref'd while a checkpoint runs: a writer may be waiting on it with nothing else keeping the process alive.
      this.worker.ref();
      this.worker.postMessage("checkpoint");
    });
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Unref'd so it never keeps a finished process alive; ref'd while we wait for it, or a
      // process with nothing else to do would exit in the middle of close().
      this.worker.ref();
      this.worker.once("exit", () => resolve());
      this.worker.postMessage("stop");
    });
  }
}

/** Distinct SQL texts kept prepared; `in (?, ?, …)` lists of many lengths would otherwise grow it forever. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Prepared statements by SQL text (least recently used out first), shared
 * by Kysely's driver and the writer's synchronous session. Kysely asks the
 * driver to prepare every query it runs, and better-sqlite3 does not cache:
 * parsing and planning the same SQL again was a fifth of the CPU of a
 * message send. Safe because Kysely runs one statement at a time on this
 * single connection and never leaves an iterator open across queries.
 */
function statementCache(raw: BetterSqlite3.Database): (sql: string) => BetterSqlite3.Statement {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (stmt) {
      cache.delete(sql);
    } else {
      stmt = raw.prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, stmt);
    return stmt;
  };
}

/** Kysely's view of the connection: statements come from the shared cache. */
function cachedDatabase(raw: BetterSqlite3.Database, prepare: (sql: string) => BetterSqlite3.Statement): SqliteDatabase {
  return { close: () => raw.close(), prepare: (sql) => prepare(sql) as unknown as SqliteStatement };
}

/**
 * The writer's synchronous session (store/steps.ts): the same statements
 * Kysely's driver would run, as better-sqlite3 runs them (`all` for a
 * statement that returns rows, else `run`), without its promises.
 */
function syncSession(raw: BetterSqlite3.Database, prepare: (sql: string) => BetterSqlite3.Statement): SyncSession {
  const begin = prepare("begin");
  const commit = prepare("commit");
  const rollback = prepare("rollback");
  return {
    run(query) {
      const stmt = prepare(query.sql);
      const params = query.parameters as unknown[];
      if (stmt.reader) return stmt.all(params) as unknown[];
      stmt.run(params);
      return [];
    },
    inTransaction: () => raw.inTransaction,
    begin: () => void begin.run(),
    commit: () => void commit.run(),
    // A failed COMMIT or statement may already have ended the transaction.
    rollback: () => {
      if (raw.inTransaction) rollback.run();
    },
  };
}

export const sqliteDialect: StoreDialect = {
  name: "sqlite",
  search: sqliteSearch,
  clusterByPrimaryKey: (table) => table.modifyEnd(sql`without rowid`),
  durable: async () => undefined,
  beforeCommit: () => null,
  // One connection, one writer: the transaction itself is the lock.
  roomsLock: () => null,
  isUniqueViolation(err) {
    const code = (err as { code?: unknown } | null)?.code;
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  },
};

/**
 * Kysely's query log as a callback with each query's duration (ms) and
 * SQL text (no parameters), for the query-duration metric and the slow-query log; undefined (no logging at all) without a callback. Shared by both
 * dialects. The writer's synchronous steps bypass Kysely: their time is the
 * send path's `work` stage.
 */
export function queryLog(onQuery: ((ms: number, sql: string) => void) | undefined): KyselyConfig["log"] {
  if (!onQuery) return undefined;
  return (event) => onQuery(event.queryDurationMillis, event.query.sql);
}
