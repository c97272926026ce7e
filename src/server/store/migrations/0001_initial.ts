import type { Kysely, Migration } from "kysely";
import type { StoreDialect } from "../dialect.js";

/**
 * Accounts, sessions, tokens, rooms, members, messages and the room event
 * log. Portable types only (text, integer): both dialects run this file.
 * Messages and room events are keyed (room_id, seq) and clustered on it
 * where the dialect can, so one room's rows share pages.
 */
export const initial = (dialect: StoreDialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("users")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("username", "text", (c) => c.notNull())
      .addColumn("username_key", "text", (c) => c.notNull().unique())
      .addColumn("email", "text", (c) => c.notNull())
      .addColumn("email_key", "text", (c) => c.notNull().unique())
      .addColumn("display_name", "text", (c) => c.notNull())
      .addColumn("password_hash", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("sessions")
      .addColumn("token_hash", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("csrf_token", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("sessions_user").on("sessions").column("user_id").execute();

    await db.schema
      .createTable("api_tokens")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("last_used_at", "text")
      .execute();

    await db.schema
      .createTable("rooms")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("topic", "text", (c) => c.notNull().defaultTo(""))
      .addColumn("direct_key", "text", (c) => c.unique())
      .addColumn("created_by", "text", (c) => c.notNull().references("users.id"))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("last_seq", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("last_activity_at", "text", (c) => c.notNull())
      .addColumn("last_message_id", "text")
      .execute();
    await db.schema.createIndex("rooms_kind_activity").on("rooms").columns(["kind", "last_activity_at"]).execute();

    await db.schema
      .createTable("room_members")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("role", "text", (c) => c.notNull())
      .addColumn("joined_at", "text", (c) => c.notNull())
      .addColumn("last_read_seq", "integer", (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint("room_members_pk", ["room_id", "user_id"])
      .execute();
    await db.schema.createIndex("room_members_user").on("room_members").column("user_id").execute();

    await db.schema
      .createTable("messages")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("author_id", "text", (c) => c.notNull().references("users.id"))
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("client_id", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("messages_pk", ["room_id", "seq"])
      .$call((t) => dialect.clusterByPrimaryKey(t))
      .execute();
    // A retried send finds its first copy here (DESIGN.md invariant 3).
    await db.schema
      .createIndex("messages_client_id")
      .on("messages")
      .columns(["room_id", "author_id", "client_id"])
      .unique()
      .execute();

    await db.schema
      .createTable("room_events")
      .addColumn("room_id", "text", (c) => c.notNull().references("rooms.id").onDelete("cascade"))
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("frame", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("room_events_pk", ["room_id", "seq"])
      .$call((t) => dialect.clusterByPrimaryKey(t))
      .execute();
  },
});
