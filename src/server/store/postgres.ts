import { Kysely, PostgresDialect, sql } from "kysely";
import type { Database } from "./schema.js";
import type { StoreDialect } from "./dialect.js";

/**
 * PostgreSQL through node-postgres' pool, for many nodes sharing one
 * database. pg is imported here, when asked for, not at start-up.
 */
export async function openPostgres(url: string): Promise<{ db: Kysely<Database>; dialect: StoreDialect; sync: null; close: () => Promise<void> }> {
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // node-postgres answers asynchronously: its writes run as awaited steps (store/steps.ts), never synchronously.
  return { db, dialect: postgresDialect, sync: null, close: () => db.destroy() };
}

export const postgresDialect: StoreDialect = {
  name: "postgres",
  clusterByPrimaryKey: (table) => table,
  // PostgreSQL's COMMIT returns once the commit is durable (synchronous_commit = on).
  durable: async () => undefined,
  beforeCommit: () => null,
  roomLock: (db, roomId) => sql`select 1 from rooms where id = ${roomId} for update`.compile(db),
  isUniqueViolation(err) {
    // 23505: unique_violation (https://www.postgresql.org/docs/current/errcodes-appendix.html)
    return (err as { code?: string } | null)?.code === "23505";
  },
};
