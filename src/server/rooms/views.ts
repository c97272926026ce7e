import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import type { Room, Message } from "@shared/protocol/entities.js";
import { toUser, userColumns } from "../users/users.js";
import { getMessagesByIds } from "../messages/queries.js";
import type { RoomRow } from "./access.js";

/** Unread counts stop here; the sidebar shows "99+" past it. */
export const UNREAD_CAP = 100;

/**
 * Builds the caller's view of rooms: membership, member counts, last
 * messages and peers of direct rooms in four queries however many rooms
 * there are, then one bounded unread count per room the caller is in.
 */
export async function roomViews(db: Kysely<Database>, userId: string, rooms: RoomRow[]): Promise<Room[]> {
  if (rooms.length === 0) return [];
  const ids = rooms.map((r) => r.id);

  const [mine, counts, lastMessages, peers] = await Promise.all([
    db.selectFrom("room_members").select(["room_id", "role", "last_read_seq"]).where("user_id", "=", userId).where("room_id", "in", ids).execute(),
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
  const unread = await unreadCounts(db, userId, [...membership.values()]);

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
      unreadCount: unread.get(r.id) ?? 0,
    };
  });
}

/** Messages by others after the caller's read position, per room, capped at UNREAD_CAP. */
async function unreadCounts(
  db: Kysely<Database>,
  userId: string,
  memberships: { room_id: string; last_read_seq: number }[],
): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  await Promise.all(
    memberships.map(async (m) => {
      const rows = await db
        .selectFrom("messages")
        .select("seq")
        .where("room_id", "=", m.room_id)
        .where("seq", ">", m.last_read_seq)
        .where("author_id", "!=", userId)
        .limit(UNREAD_CAP)
        .execute();
      result.set(m.room_id, rows.length);
    }),
  );
  return result;
}
