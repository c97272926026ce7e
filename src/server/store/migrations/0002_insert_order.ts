import { sql, type Kysely, type Migration } from "kysely";
import type { StoreDialect } from "../dialect.js";

/**
 * Stores messages and room events in insertion order, keyed (room_id, seq)
 * by an index, and indexes room activity for public rooms only.
 *
 * 0001 clustered both tables by (room_id, seq) (SQLite WITHOUT ROWID). That
 * made every send write a leaf page of each table in its own room's part
 * of the tree: with many rooms busy at once (direct messages) a group
 * commit of N sends wrote about 5N pages to the WAL, and an event row of
 * ~400 bytes is past the size WITHOUT ROWID suits (under 1/20 of a page:
 * https://www.sqlite.org/withoutrowid.html#when_to_use_without_rowid).
 * In insertion order a batch appends to the same last page of each table
 * and only the small (room_id, seq) index entries scatter. Measured on the
 * send path with 500 direct rooms, batches of 8: WAL bytes per message
 * 26 → 14 KB, CPU per message −20 to −25 %.
 *
 * `rooms_kind_activity` moved on every message of every room; only the
 * public-room directory reads it, so it now holds public rooms only.
 *
 * PostgreSQL tables are heaps already: only the index changes there.
 */
export const insertOrder = (dialect: StoreDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex("rooms_kind_activity").execute();
    await db.schema
      .createIndex("rooms_public_activity")
      .on("rooms")
      .column("last_activity_at")
      .where(sql.ref("kind"), "=", sql.lit("public"))
      .execute();

    // Only SQLite clustered them (dialect.clusterByPrimaryKey in 0001).
    if (dialect.name !== "sqlite") return;

    await db.schema
      .createTable("messages_new")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("author_id", "text", (c) => c.notNull().references("users.id"))
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("client_id", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("messages_pk", ["room_id", "seq"])
      .execute();
    // Oldest first, so the new table's order is the order they were sent in.
    await sql`insert into messages_new (room_id, seq, id, author_id, body, client_id, created_at)
      select room_id, seq, id, author_id, body, client_id, created_at from messages order by created_at, room_id, seq`.execute(db);
    await db.schema.dropTable("messages").execute();
    await db.schema.alterTable("messages_new").renameTo("messages").execute();
    await db.schema.createIndex("messages_client_id").on("messages").columns(["room_id", "author_id", "client_id"]).unique().execute();

    await db.schema
      .createTable("room_events_new")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("frame", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("room_events_pk", ["room_id", "seq"])
      .execute();
    await sql`insert into room_events_new (room_id, seq, type, frame, created_at)
      select room_id, seq, type, frame, created_at from room_events order by created_at, room_id, seq`.execute(db);
    await db.schema.dropTable("room_events").execute();
    await db.schema.alterTable("room_events_new").renameTo("room_events").execute();
  },
});
