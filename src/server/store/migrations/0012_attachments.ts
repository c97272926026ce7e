import type { Kysely, Migration } from "kysely";

/**
 * Attachments (issue 17).
 *
 * `uploads`: one row per uploaded file, the source of truth for who may
 * read it. `state` is `pending` from the upload until a send names it (only
 * `owner_id` may read or send it then), `attached` once part of message
 * `message_id` in room `room_id` (readable by that room's members), and
 * `deleted` once its message was deleted or it was swept: the row stays
 * until its stored objects (`storage_key`, `thumbnail_key`) are removed, so
 * a failed removal is retried by the sweeper. Sizes are bigint: a quota
 * sums them past 2 GiB.
 *
 * `messages.attachments`: the message's attachments as JSON (the wire's
 * `Attachment[]`), null for none, so history reads them with the message,
 * with no join; deleting the message blanks it as it blanks the text.
 */
export const attachments: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("uploads")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("owner_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("room_id", "text")
      .addColumn("message_id", "text")
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("mime", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("size", "bigint", (c) => c.notNull())
      .addColumn("width", "integer")
      .addColumn("height", "integer")
      .addColumn("duration_ms", "integer")
      .addColumn("waveform", "text")
      .addColumn("voice", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("storage_key", "text", (c) => c.notNull())
      .addColumn("thumbnail_key", "text")
      .addColumn("thumbnail_width", "integer")
      .addColumn("thumbnail_height", "integer")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("attached_at", "text")
      .addColumn("deleted_at", "text")
      .execute();
    // Quota and upload rate: an owner's uploads by time.
    await db.schema.createIndex("uploads_owner").on("uploads").columns(["owner_id", "created_at"]).execute();
    // A message's files (sending, deleting); the sweeper's pending and deleted rows by age.
    await db.schema.createIndex("uploads_message").on("uploads").column("message_id").execute();
    await db.schema.createIndex("uploads_state").on("uploads").columns(["state", "created_at"]).execute();
    await db.schema.alterTable("messages").addColumn("attachments", "text").execute();
  },
};
