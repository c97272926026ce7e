import type { Kysely, Migration } from "kysely";

/**
 * Mentions (issue 9, item 8). `messages.mentions` (nullable text, JSON of
 * `{userIds, room, here}`) carries a message's resolved mentions, so history
 * returns them with no join; null for the usual message that mentions
 * nobody (adding a nullable column rewrites no row). `message_mentions` has
 * one row per mentioned user of a message (never its author), keyed
 * `(user_id, room_id, seq)`: the room list counts a user's mentions after
 * their read position with one index range per room. The index on
 * `(room_id, seq)` finds a message's rows when an edit or a deletion drops
 * them. Portable types only (text, integer).
 */
export const mentions: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("messages").addColumn("mentions", "text").execute();
    await db.schema
      .createTable("message_mentions")
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("message_id", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("message_mentions_pk", ["user_id", "room_id", "seq"])
      .execute();
    await db.schema.createIndex("message_mentions_message").on("message_mentions").columns(["room_id", "seq"]).execute();
  },
};
