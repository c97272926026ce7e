import fs from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from "kysely";
import type { Database } from "./schema.js";
import type { StoreDialect } from "./dialect.js";

/**
 * The embedded default: one SQLite file in WAL mode, opened through
 * better-sqlite3. `synchronous=FULL` fsyncs at every commit, so an acked
 * message survives a power cut (https://www.sqlite.org/pragma.html#pragma_synchronous);
 * group commits keep that to one fsync per batch.
 */
export function openSqlite(
  file: string,
  opts: { synchronous: "full" | "normal" },
): { db: Kysely<Database>; dialect: StoreDialect; raw: BetterSqlite3.Database } {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(file), { recursive: true });
  const raw = new BetterSqlite3(file);
  raw.pragma("journal_mode = WAL");
  raw.pragma(`synchronous = ${opts.synchronous.toUpperCase()}`);
  raw.pragma("foreign_keys = ON");
  // Another process (a backup, the CLI) may hold the lock briefly.
  raw.pragma("busy_timeout = 5000");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return { db, dialect: sqliteDialect, raw };
}

/** Distinct SQL texts kept prepared; `in (?, ?, …)` lists of many lengths would otherwise grow it forever. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely asks the driver to prepare every query it runs, and better-sqlite3
 * does not cache: parsing and planning the same SQL again was a fifth of the
 * CPU of a message send. This keeps prepared statements by SQL text (least
 * recently used out first). Safe because Kysely runs one statement at a time
 * on this single connection and never leaves an iterator open across queries.
 */
function withStatementCache(raw: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => raw.close(),
    prepare(sql) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = raw.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

export const sqliteDialect: StoreDialect = {
  name: "sqlite",
  async lockRoom() {
    // One connection, one writer: the transaction itself is the lock.
  },
  isUniqueViolation(err) {
    const code = (err as { code?: unknown } | null)?.code;
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  },
};
