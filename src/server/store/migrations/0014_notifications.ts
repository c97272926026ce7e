import type { Kysely, Migration } from "kysely";

/**
 * Notifications (issue 19).
 *
 * `room_members.notify_level` (null = `default`: the account's default for
 * the room's kind) and `room_members.muted_until` (ISO time, or
 * MUTED_FOREVER; null = not muted): a member's settings for one room, read
 * with the membership by the notification decider. Nullable columns: adding
 * them rewrites no row in either database.
 *
 * `notification_settings`: a user's account-wide settings, one row once
 * they change anything (no row = the defaults); `email_sent_at` is when
 * their last email digest went out (one per --email-digest-delay-ms).
 *
 * `push_subscriptions`: Web Push subscriptions (RFC 8030), one per browser
 * endpoint (unique: a browser that subscribes again for another account
 * moves to it).
 *
 * `email_notifications`: the direct messages and mentions waiting for a
 * user's next email digest, written after the commit by the dispatcher
 * (never on the send path), removed once mailed or read.
 *
 * `installation_secrets`: secrets every node of an installation must share
 * (the VAPID key pair with PostgreSQL, the key that signs unsubscribe
 * links), created once by whichever node starts first.
 */
export const notifications: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("room_members").addColumn("notify_level", "text").execute();
    await db.schema.alterTable("room_members").addColumn("muted_until", "text").execute();
    await db.schema
      .createTable("notification_settings")
      .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
      .addColumn("room_level", "text", (c) => c.notNull())
      .addColumn("direct_level", "text", (c) => c.notNull())
      .addColumn("dnd_until", "text")
      .addColumn("email", "integer", (c) => c.notNull())
      .addColumn("email_sent_at", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createTable("push_subscriptions")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("endpoint", "text", (c) => c.notNull().unique())
      .addColumn("p256dh", "text", (c) => c.notNull())
      .addColumn("auth", "text", (c) => c.notNull())
      .addColumn("label", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("last_push_at", "text")
      .execute();
    await db.schema.createIndex("push_subscriptions_user").on("push_subscriptions").column("user_id").execute();
    await db.schema
      .createTable("email_notifications")
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("message_id", "text", (c) => c.notNull())
      .addColumn("room_id", "text", (c) => c.notNull())
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("email_notifications_pk", ["user_id", "message_id"])
      .execute();
    // The digest job's scan: whose oldest waiting item is older than the delay.
    await db.schema.createIndex("email_notifications_created").on("email_notifications").columns(["created_at"]).execute();
    await db.schema
      .createTable("installation_secrets")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
  },
};
