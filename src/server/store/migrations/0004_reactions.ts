import type { Kysely, Migration } from "kysely";

/**
 * Reactions: one row per (message_id, emoji, user_id), the primary key, so
 * a person holds one reaction per emoji per message and the database says
 * so even if a check were skipped. The key leads with message_id and then
 * emoji: a history page reads its messages' reactions by message id, and
 * "is this emoji on the message yet?" (the distinct-emoji bound) is a
 * prefix lookup. `room_id` (indexed with `seq`) serves lookups by room and
 * the cascade when a room goes; `seq` is the room seq of the reaction.added
 * event that made the row, `group_seq` the seq that put the emoji on the
 * message (the first reaction of its group, copied to every row joining it):
 * a message's emoji sort by it, so that they keep their place while anyone
 * holds them, as a client that applies the events keeps them. Portable
 * types only (text, integer).
 */
export const reactions: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("reactions")
      .addColumn("message_id", "text", (c) => c.notNull())
      .addColumn("emoji", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("group_seq", "integer", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("reactions_pk", ["message_id", "emoji", "user_id"])
      .execute();
    await db.schema.createIndex("reactions_room_seq").on("reactions").columns(["room_id", "seq"]).execute();
  },
};
