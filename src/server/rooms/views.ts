import { sql, type Kysely, type OperandExpression } from "kysely";
import type { Database } from "../store/schema.js";
import type { Room, User } from "@shared/protocol/entities.js";
import { toUser, userColumns } from "../users/users.js";
import { toMessage } from "../messages/queries.js";
import { roomNotificationsOf } from "../notifications/preferences.js";

/** Unread counts stop here; the sidebar shows "99+" past it. */
export const UNREAD_CAP = 100;

/**
 * Which rooms to build views of: a subquery that yields room ids (one
 * column), never a bound list of them. A user may be in thousands of rooms,
 * and one SQL parameter per room once broke the room list past SQLite's
 * 32,766-parameter cap; a subquery binds the same few parameters however
 * many rooms it yields. Build one with `myRoomIds`, `publicRoomIds` or
 * `roomIdOf`.
 */
export type RoomIds = OperandExpression<string>;

/** Every room `userId` is a member of (one parameter: the user id; index room_members_user). */
export const myRoomIds = (db: Kysely<Database>, userId: string): RoomIds =>
  db.selectFrom("room_members as m").select("m.room_id").where("m.user_id", "=", userId);

/** The `limit` public rooms with the most recent activity. */
export const publicRoomIds = (db: Kysely<Database>, limit: number): RoomIds =>
  db
    .selectFrom("rooms as pub")
    .select("pub.id")
    // A literal, not a parameter, so SQLite can use the partial index rooms_public_activity.
    .where("pub.kind", "=", sql.lit("public"))
    .orderBy("pub.last_activity_at", "desc")
    .limit(limit);

/** One room by id (whether the caller may see it is the caller's check: findVisibleRoom). */
export const roomIdOf = (db: Kysely<Database>, roomId: string): RoomIds =>
  db.selectFrom("rooms as one").select("one.id").where("one.id", "=", roomId);

/**
 * The other member of each direct room among `ids` (a subquery, or a short
 * list of ids), by room id: who a direct room is named after for `userId`.
 * One query; rooms that are not direct are left out.
 */
export async function directPeers(db: Kysely<Database>, userId: string, ids: RoomIds | readonly string[]): Promise<Map<string, User>> {
  const peers = await db
    .selectFrom("room_members as peer")
    .innerJoin("rooms", "rooms.id", "peer.room_id")
    .innerJoin("users", "users.id", "peer.user_id")
    .select(["peer.room_id", ...userColumns.map((c) => `users.${c}` as const)])
    .where("peer.room_id", "in", ids)
    .where("rooms.kind", "=", sql.lit("direct"))
    .where("peer.user_id", "!=", userId)
    .execute();
  return new Map(peers.map((p) => [p.room_id, toUser(p)]));
}

/**
 * Builds `userId`'s view of the rooms `ids` selects: room, the caller's
 * membership with its unread count and notification settings, last
 * message, member count, and the peer of a direct room; most recent activity first. Three queries however
 * many rooms there are, each binding only the parameters of `ids` and the
 * user id.
 */
export async function roomViews(db: Kysely<Database>, userId: string, ids: RoomIds): Promise<Room[]> {
  const [rows, counts, peers] = await Promise.all([
    db
      .selectFrom("rooms")
      .leftJoin("room_members as mine", (join) => join.onRef("mine.room_id", "=", "rooms.id").on("mine.user_id", "=", userId))
      // The room's newest message and its author, for the preview (rooms.last_message_id; messages.id is unique).
      .leftJoin("messages as lm", "lm.id", "rooms.last_message_id")
      .leftJoin("users as lm_author", "lm_author.id", "lm.author_id")
      .selectAll("rooms")
      .select((eb) => [
        "mine.role",
        "mine.last_read_seq",
        // The caller's notification level and mute (issue 19): two more columns of the same row, no query more.
        "mine.notify_level",
        "mine.muted_until",
        // Messages by others after the read position, counted over at most UNREAD_CAP rows per room
        // (a correlated subquery with a LIMIT: SQLite and PostgreSQL both run it, one index range each).
        eb
          .selectFrom(
            eb
              .selectFrom("messages")
              .select("messages.seq")
              .whereRef("messages.room_id", "=", "mine.room_id")
              .whereRef("messages.seq", ">", "mine.last_read_seq")
              .where("messages.author_id", "!=", userId)
              // A deleted message is not unread: there is nothing left to read.
              .where("messages.deleted_at", "is", null)
              // Nor is a thread reply kept in its thread (0010): the timeline does not show it (its mentions still count).
              .where((w) => w.or([w("messages.in_thread", "=", 0), w("messages.also_in_room", "=", 1)]))
              .limit(UNREAD_CAP)
              .as("unread_rows"),
          )
          .select((sub) => sub.fn.countAll<number>().as("n"))
          .as("unread"),
        // Mentions of me after the read position (0007), counted like unread: at most UNREAD_CAP rows of one
        // range of the message_mentions primary key (user_id, room_id, seq). Deleted messages have no rows.
        eb
          .selectFrom(
            eb
              .selectFrom("message_mentions")
              .select("message_mentions.seq")
              .where("message_mentions.user_id", "=", userId)
              .whereRef("message_mentions.room_id", "=", "mine.room_id")
              .whereRef("message_mentions.seq", ">", "mine.last_read_seq")
              .limit(UNREAD_CAP)
              .as("mention_rows"),
          )
          .select((sub) => sub.fn.countAll<number>().as("n"))
          .as("mentioned"),
        "lm.id as lm_id",
        "lm.seq as lm_seq",
        "lm.body as lm_body",
        "lm.client_id as lm_client_id",
        "lm.created_at as lm_created_at",
        "lm.edited_at as lm_edited_at",
        "lm.deleted_at as lm_deleted_at",
        "lm.attachments as lm_attachments",
        "lm_author.id as lm_author_id",
        "lm_author.username as lm_author_username",
        "lm_author.display_name as lm_author_display_name",
      ])
      .where("rooms.id", "in", ids)
      .orderBy("rooms.last_activity_at", "desc")
      .orderBy("rooms.id", "desc")
      .execute(),
    db
      .selectFrom("room_members")
      .select((eb) => ["room_members.room_id", eb.fn.countAll<number>().as("n")])
      .where("room_members.room_id", "in", ids)
      .groupBy("room_members.room_id")
      .execute(),
    directPeers(db, userId, ids),
  ]);
  const memberCount = new Map(counts.map((c) => [c.room_id, Number(c.n)]));
  const nowMs = Date.now();

  return rows.map((r) => {
    const member = r.role !== null;
    const peer = peers.get(r.id) ?? null;
    const lastMessage =
      member && r.lm_id !== null && r.lm_author_id !== null
        ? toMessage({
            id: r.lm_id,
            room_id: r.id,
            seq: Number(r.lm_seq),
            body: r.lm_body ?? "",
            client_id: r.lm_client_id,
            created_at: r.lm_created_at ?? "",
            edited_at: r.lm_edited_at ?? null,
            deleted_at: r.lm_deleted_at ?? null,
            author_id: r.lm_author_id,
            author_username: r.lm_author_username ?? "",
            author_display_name: r.lm_author_display_name ?? "",
            // A message of files only shows as its files (issue 17).
            attachments: r.lm_attachments ?? null,
          })
        : null;
    return {
      id: r.id,
      kind: r.kind,
      name: r.kind === "direct" ? (peer?.displayName ?? r.name) : r.name,
      topic: r.topic,
      createdAt: r.created_at,
      lastSeq: Number(r.last_seq),
      lastActivityAt: r.last_activity_at,
      memberCount: memberCount.get(r.id) ?? 0,
      role: r.role,
      peer,
      lastMessage,
      lastReadSeq: member ? Number(r.last_read_seq) : 0,
      unreadCount: member ? Number(r.unread ?? 0) : 0,
      mentionCount: member ? Number(r.mentioned ?? 0) : 0,
      // A muted room keeps its unread and mention counts (the client shows them quieter).
      ...(member ? { notifications: roomNotificationsOf({ notify_level: r.notify_level ?? null, muted_until: r.muted_until ?? null }, nowMs) } : {}),
    };
  });
}
