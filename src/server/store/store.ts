import { Migrator, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { StoreDialect } from "./dialect.js";
import type { SyncSession } from "./steps.js";
import { migrationProvider } from "./migrations/index.js";
import { openSqlite } from "./sqlite.js";

/** An open database with its dialect; `close` waits for in-flight queries. */
export interface Store {
  db: Kysely<Database>;
  dialect: StoreDialect;
  /** SQLite: a synchronous session on its one connection, for the group-commit writer (store/steps.ts); null elsewhere. */
  sync: SyncSession | null;
  close(): Promise<void>;
}

/**
 * Opens the database named by `url` (`sqlite:<file>`, `sqlite::memory:` or
 * `postgres://…`) and applies pending migrations. `postgresPoolSize`:
 * connections at most; `onPostgresError`: told of errors on idle
 * connections (the database restarted), which the pool recovers from;
 * `onQuery`: each query's duration (ms), for the metric.
 * @throws Error when a migration fails; the database is closed first.
 */
export async function openStore(
  url: string,
  opts: { sqliteSynchronous: "full" | "normal"; postgresPoolSize?: number; onPostgresError?: (err: Error) => void; onQuery?: (ms: number) => void },
): Promise<Store> {
  // pg is loaded only when asked for: most nodes never need it, and loading it costs start-up time.
  const opened = url.startsWith("sqlite:")
    ? openSqlite(url.slice("sqlite:".length), { synchronous: opts.sqliteSynchronous, onQuery: opts.onQuery })
    : await (await import("./postgres.js")).openPostgres(url, { poolSize: opts.postgresPoolSize ?? 10, onError: opts.onPostgresError, onQuery: opts.onQuery });
  const store: Store = { db: opened.db, dialect: opened.dialect, sync: opened.sync, close: opened.close };
  const migrator = new Migrator({ db: opened.db, provider: migrationProvider(opened.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    await store.close();
    // A database that cannot be reached fails before any migration runs: say that, not "Migration failed".
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(failed ? `migration ${failed.migrationName} failed: ${reason}` : reason, { cause: error });
  }
  return store;
}
