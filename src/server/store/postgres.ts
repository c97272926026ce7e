import { Kysely, PostgresDialect } from "kysely";
import type { Database } from "./schema.js";
import type { StoreDialect } from "./dialect.js";
import { postgresSearch } from "../search/postgres.js";
import { queryLog } from "./sqlite.js";

/**
 * PostgreSQL through node-postgres' pool, for many nodes sharing one
 * database. pg is imported here, when asked for, not at start-up.
 */
export async function openPostgres(
  url: string,
  opts: { poolSize: number; onError?: (err: Error) => void; onQuery?: (ms: number, sql: string) => void },
): Promise<{ db: Kysely<Database>; dialect: StoreDialect; sync: null; close: () => Promise<void> }> {
  const { default: pg } = await import("pg");
  // connectionTimeoutMillis: while the database is down, a query fails within 5 s (retryable, store/outage.ts) instead of waiting for ever.
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize, connectionTimeoutMillis: 5_000 });
  // An idle client whose server went away (a restart) errors on the pool: without a listener that would end the process.
  // The pool drops that client and opens a new one when next asked, so the node recovers by itself.
  pool.on("error", (err) => opts.onError?.(err));
  // A client checked out of the pool (a transaction between statements) is not covered by the
  // pool's listener: when the server goes away it emits "error" on itself, which would also end the
  // process. Logged here; the statement in flight fails (retryable) and the pool drops the client.
  pool.on("connect", (client) => client.on("error", (err) => opts.onError?.(err)));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: queryLog(opts.onQuery) });
  // node-postgres answers asynchronously: its writes run as awaited steps (store/steps.ts), never synchronously.
  return { db, dialect: postgresDialect, sync: null, close: () => db.destroy() };
}

export const postgresDialect: StoreDialect = {
  name: "postgres",
  search: postgresSearch,
  clusterByPrimaryKey: (table) => table,
  // PostgreSQL's COMMIT returns once the commit is durable (synchronous_commit = on).
  durable: async () => undefined,
  beforeCommit: () => null,
  // ORDER BY under FOR UPDATE: PostgreSQL locks the rows as the sort hands them out, in id order.
  roomsLock: (db, roomIds) => db.selectFrom("rooms").select("id").where("id", "in", roomIds).orderBy("id").forUpdate().compile(),
  isUniqueViolation(err) {
    // 23505: unique_violation (https://www.postgresql.org/docs/current/errcodes-appendix.html)
    return (err as { code?: string } | null)?.code === "23505";
  },
};
