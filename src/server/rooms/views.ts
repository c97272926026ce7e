import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import type { Room, Message } from "@shared/protocol/entities.js";
import { toUser, userColumns } from "../users/users.js";
import { getMessagesByIds } from "../messages/queries.js";
import type { RoomRow } from "./access.js";

/** Unread counts stop here; the sidebar shows "99+" past it. */
export const UNREAD_CAP = 100;

/**
 * Builds the caller's view of rooms: membership with unread counts, member
 * counts, last messages and peers of direct rooms, in four queries however
 * many rooms there are.
 */
export async function roomViews(db: Kysely<Database>, userId: string, rooms: RoomRow[]): Promise<Room[]> {
  if (rooms.length === 0) return [];
  const ids = rooms.map((r) => r.id);

  const [mine, counts, lastMessages, peers] = await Promise.all([
    db
      .selectFrom("room_members")
      .select((eb) => [
        "room_members.room_id",
        "room_members.role",
        "room_members.last_read_seq",
        // Messages by others after the read position, counted over at most UNREAD_CAP rows per room
        // (a correlated subquery with a LIMIT: SQLite and PostgreSQL both run it, one index range each).
        eb
          .selectFrom(
            eb
              .selectFrom("messages")
              .select("messages.seq")
              .whereRef("messages.room_id", "=", "room_members.room_id")
              .whereRef("messages.seq", ">", "room_members.last_read_seq")
              .where("messages.author_id", "!=", userId)
              .limit(UNREAD_CAP)
              .as("unread_rows"),
          )
          .select((sub) => sub.fn.countAll<number>().as("n"))
          .as("unread"),
      ])
      .where("room_members.user_id", "=", userId)
      .where("room_members.room_id", "in", ids)
      .execute(),
    db.selectFrom("room_members").select((eb) => ["room_id", eb.fn.countAll<number>().as("n")]).where("room_id", "in", ids).groupBy("room_id").execute(),
    getMessagesByIds(db, rooms.map((r) => r.last_message_id).filter((id): id is string => id !== null)),
    db
      .selectFrom("room_members")
      .innerJoin("users", "users.id", "room_members.user_id")
      .select(["room_members.room_id", ...userColumns.map((c) => `users.${c}` as const)])
      .where("room_members.room_id", "in", rooms.filter((r) => r.kind === "direct").map((r) => r.id).concat([""]))
      .where("room_members.user_id", "!=", userId)
      .execute(),
  ]);
  const membership = new Map(mine.map((m) => [m.room_id, m]));
  const memberCount = new Map(counts.map((c) => [c.room_id, Number(c.n)]));
  const lastById = new Map<string, Message>(lastMessages.map((m) => [m.id, m]));
  const peerByRoom = new Map(peers.map((p) => [p.room_id, toUser(p)]));

  return rooms.map((r) => {
    const m = membership.get(r.id);
    const peer = peerByRoom.get(r.id) ?? null;
    return {
      id: r.id,
      kind: r.kind,
      name: r.kind === "direct" ? (peer?.displayName ?? r.name) : r.name,
      topic: r.topic,
      createdAt: r.created_at,
      lastSeq: Number(r.last_seq),
      lastActivityAt: r.last_activity_at,
      memberCount: memberCount.get(r.id) ?? 0,
      role: m?.role ?? null,
      peer,
      lastMessage: m && r.last_message_id ? (lastById.get(r.last_message_id) ?? null) : null,
      lastReadSeq: m ? Number(m.last_read_seq) : 0,
      unreadCount: m ? Number(m.unread ?? 0) : 0,
    };
  });
}
