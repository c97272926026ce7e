import type { Compilable, CompiledQuery, Kysely } from "kysely";
import type { Database } from "./schema.js";

/** Marks a parameter slot while the query is compiled; never reaches the database. */
const SLOT = "\u0000parley-slot:";

/**
 * A query that Kysely builds and compiles once, on first use, and that then
 * runs with new parameter values on any executor (the database or a
 * transaction). On the message-send path Kysely's builder and compiler cost
 * about as much CPU as SQLite itself; this keeps the SQL written with
 * Kysely, and so dialect-neutral, while paying that cost once.
 *
 * `build` receives stand-ins for the named parameters and must use each only
 * as a value (where, values, set, limit): never inlined with `sql.lit`.
 * Values the builder adds on its own (like the `1` of `last_seq + 1`) stay as
 * compiled.
 */
export function prepared<P extends Record<string, unknown>, R>(
  build: (db: Kysely<Database>, params: P) => Compilable<R>,
): (db: Kysely<Database>, params: P) => Promise<R[]> {
  let compiled: CompiledQuery<R> | undefined;
  let slots: ({ name: string } | { value: unknown })[] = [];
  return async (db, params) => {
    if (!compiled) {
      const standIns = new Proxy({} as P, { get: (_t, name) => SLOT + String(name) });
      compiled = build(db, standIns).compile();
      slots = compiled.parameters.map((p) =>
        typeof p === "string" && p.startsWith(SLOT) ? { name: p.slice(SLOT.length) } : { value: p },
      );
    }
    const parameters = slots.map((s) => ("name" in s ? params[s.name] : s.value));
    const result = await db.executeQuery<R>({ ...compiled, parameters });
    return result.rows;
  };
}
