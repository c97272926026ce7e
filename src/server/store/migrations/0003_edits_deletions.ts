import type { Kysely, Migration } from "kysely";

/**
 * Editing and deleting messages. `messages` gains `edited_at` and
 * `deleted_at` (nullable text: adding them rewrites no row in either
 * database, so it is instant on a large store). `message_edits` keeps the
 * earlier versions of edited messages, keyed like the event log by the
 * (room_id, seq) of the edit that replaced each text, with an index on
 * message_id for a message's history and for deleting it with the message.
 * Portable types only (text, integer).
 */
export const editsDeletions: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("messages").addColumn("edited_at", "text").execute();
    await db.schema.alterTable("messages").addColumn("deleted_at", "text").execute();
    await db.schema
      .createTable("message_edits")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("message_id", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("replaced_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("message_edits_pk", ["room_id", "seq"])
      .execute();
    await db.schema.createIndex("message_edits_message").on("message_edits").columns(["message_id", "seq"]).execute();
  },
};
