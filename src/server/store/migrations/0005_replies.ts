import type { Kysely, Migration } from "kysely";

/**
 * Replies and threads. `messages` gains `reply_to_id` (the thread's root: a
 * reply to a reply is stored against the root, threads are one level),
 * `reply_count` and `last_reply_at` on the root, kept in the transaction
 * that stores each reply. Nullable or defaulted columns: adding them
 * rewrites no row in SQLite nor in PostgreSQL ≥ 11, so it is instant on a
 * large store. `messages_reply_to` serves a thread's replies in seq order
 * (`reply_to_id` is a globally unique message id, so it leads the index).
 * Portable types only (text, integer).
 */
export const replies: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("messages").addColumn("reply_to_id", "text").execute();
    await db.schema.alterTable("messages").addColumn("reply_count", "integer", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable("messages").addColumn("last_reply_at", "text").execute();
    await db.schema.createIndex("messages_reply_to").on("messages").columns(["reply_to_id", "seq"]).execute();
  },
};
