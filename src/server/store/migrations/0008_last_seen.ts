import type { Kysely, Migration } from "kysely";

/**
 * Last seen (issue 9, presence): `users.last_seen_at`, nullable text (ISO
 * 8601 UTC, like every other time column), when the user's last socket
 * closed, written once per announced offline transition, so that presence
 * still knows an offline user's last-seen time after a restart. Null for a
 * user never seen offline; adding a nullable column rewrites no row in
 * either database.
 */
export const lastSeen: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("users").addColumn("last_seen_at", "text").execute();
  },
};
