import type { CompiledQuery, Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * Database work written once for both dialects, run without a promise per
 * statement where the driver allows it.
 *
 * A `Steps` is a generator that yields each query it needs (compiled by
 * Kysely, so the SQL stays dialect-neutral) and receives its rows back. The
 * same generator runs two ways:
 * - `runStepsSync` on SQLite: better-sqlite3 is synchronous, so a whole group
 *   commit (every send's checks and writes, BEGIN to COMMIT) runs in one
 *   synchronous stretch with no promise, microtask or driver mutex per
 *   statement. Going through Kysely's async driver cost more CPU per send
 *   than SQLite itself (issue 10's profile: executeQuery and its promise
 *   chains were the largest item of the send path).
 * - `runSteps` on any Kysely executor (PostgreSQL, or a mixed batch on
 *   SQLite), awaiting each query.
 *
 * A query that fails is thrown into the generator at its `yield`, so a
 * `try`/`catch` inside the steps works on both paths.
 */
export type Steps<T> = Generator<CompiledQuery, T, unknown>;

/** Runs one compiled query inside steps; resolves to its rows (none for a write without RETURNING). */
export function* rows<R>(query: CompiledQuery<R>): Steps<R[]> {
  return (yield query) as R[];
}

/** Runs compiled queries synchronously: a reader's rows, or [] after a write (better-sqlite3's `all`/`run`). */
export type SyncQueryRunner = (query: CompiledQuery) => unknown[];

/**
 * A synchronous session on the one SQLite connection, for the group-commit
 * writer. Its caller holds Kysely's connection (so no Kysely query
 * interleaves) and brackets its steps with `begin` and `commit` or `rollback`.
 */
export interface SyncSession {
  run: SyncQueryRunner;
  /** True while a transaction is open on the connection (one of Kysely's, awaiting between its statements). */
  inTransaction(): boolean;
  begin(): void;
  commit(): void;
  rollback(): void;
}

/** Drives `steps` on a Kysely executor (database or transaction), one awaited query at a time. */
export async function runSteps<T>(db: Kysely<Database>, steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (!next.done) {
    let result: unknown[];
    try {
      result = (await db.executeQuery(next.value)).rows as unknown[];
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

/** Drives `steps` synchronously with `run` (SQLite). */
export function runStepsSync<T>(run: SyncQueryRunner, steps: Steps<T>): T {
  let next = steps.next();
  while (!next.done) {
    let result: unknown[];
    try {
      result = run(next.value);
    } catch (err) {
      next = steps.throw(err);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}
