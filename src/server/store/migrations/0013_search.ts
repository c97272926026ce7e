import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect.js";

/**
 * Message search (issue 18): the index's tables, created empty
 * (search/dialect.ts has their shape per database). Messages sent from now
 * on are indexed in their own transaction; those stored before are indexed
 * by search/backfill.ts in the background, newest first, resumably, so a
 * large installation serves at once instead of waiting on this migration.
 */
export const search = (dialect: StoreDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await dialect.search.createTables(db);
  },
});
