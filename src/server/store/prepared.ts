import type { Compilable, CompiledQuery, Kysely } from "kysely";
import type { Database } from "./schema.js";

/** Marks a parameter slot while the query is compiled; never reaches the database. */
const SLOT = "\u0000parley-slot:";

/** A query compiled once per dialect; call it to run it, or `query` to get it compiled with values (for steps). */
export interface PreparedQuery<P extends Record<string, unknown>, R> {
  (db: Kysely<Database>, params: P): Promise<R[]>;
  /** The compiled query with `params` bound, for `rows()` in store/steps.ts. */
  query(db: Kysely<Database>, params: P): CompiledQuery<R>;
}

interface Compiled<R> {
  compiled: CompiledQuery<R>;
  slots: ({ name: string } | { value: unknown })[];
}

/**
 * A query that Kysely builds and compiles once, on first use, and that then
 * runs with new parameter values on any executor (the database or a
 * transaction). On the message-send path Kysely's builder and compiler cost
 * about as much CPU as SQLite itself; this keeps the SQL written with
 * Kysely, and so dialect-neutral, while paying that cost once per dialect
 * (keyed by the executor's adapter: SQLite and PostgreSQL compile differently,
 * and one process may hold both).
 *
 * `build` receives stand-ins for the named parameters and must use each only
 * as a value (where, values, set, limit): never inlined with `sql.lit`.
 * Values the builder adds on its own (like the `1` of `last_seq + 1`) stay as
 * compiled.
 */
export function prepared<P extends Record<string, unknown>, R>(
  build: (db: Kysely<Database>, params: P) => Compilable<R>,
): PreparedQuery<P, R> {
  const byAdapter = new Map<unknown, Compiled<R>>();
  const compile = (db: Kysely<Database>): Compiled<R> => {
    const adapter = db.getExecutor().adapter.constructor;
    let found = byAdapter.get(adapter);
    if (!found) {
      const standIns = new Proxy({} as P, { get: (_t, name) => SLOT + String(name) });
      const compiled = build(db, standIns).compile();
      const slots = compiled.parameters.map((p) => (typeof p === "string" && p.startsWith(SLOT) ? { name: p.slice(SLOT.length) } : { value: p }));
      byAdapter.set(adapter, (found = { compiled, slots }));
    }
    return found;
  };
  const query = (db: Kysely<Database>, params: P): CompiledQuery<R> => {
    const { compiled, slots } = compile(db);
    return { ...compiled, parameters: slots.map((s) => ("name" in s ? params[s.name] : s.value)) };
  };
  const run = async (db: Kysely<Database>, params: P): Promise<R[]> => (await db.executeQuery<R>(query(db, params))).rows;
  return Object.assign(run, { query });
}
