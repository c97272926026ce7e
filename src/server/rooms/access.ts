import type { Kysely, Selectable } from "kysely";
import type { Database, RoomMembersTable, RoomsTable } from "../store/schema.js";
import { forbidden, notFound } from "../errors.js";
import { prepared } from "../store/prepared.js";
import { rows, runSteps, type Steps } from "../store/steps.js";

/**
 * Membership and role checks, run on every read and write over HTTP and
 * WebSocket alike (DESIGN.md invariant 2). A private or direct room answers
 * not_found to a non-member: its existence is not theirs to learn.
 */

export type RoomRow = Selectable<RoomsTable>;
export type MemberRow = Selectable<RoomMembersTable>;

// Prepared: every read and write of a room runs these first (Kysely's builder would cost as much as SQLite here).
const roomQuery = prepared<{ roomId: string }, RoomRow>((db, p) => db.selectFrom("rooms").selectAll().where("id", "=", p.roomId));
const memberQuery = prepared<{ roomId: string; userId: string }, MemberRow>((db, p) =>
  db.selectFrom("room_members").selectAll().where("room_id", "=", p.roomId).where("user_id", "=", p.userId),
);

/** The room, if the caller may know it exists, with the caller's membership (or null). */
export function findVisibleRoom(db: Kysely<Database>, userId: string, roomId: string): Promise<{ room: RoomRow; member: MemberRow | null }> {
  return runSteps(db, visibleRoom(db, userId, roomId));
}

/** `findVisibleRoom` as steps (store/steps.ts). @throws AppError not_found */
export function* visibleRoom(db: Kysely<Database>, userId: string, roomId: string): Steps<{ room: RoomRow; member: MemberRow | null }> {
  const [room] = yield* rows(roomQuery.query(db, { roomId }));
  if (!room) throw notFound("No such room.");
  const [member] = yield* rows(memberQuery.query(db, { roomId, userId }));
  return { room, member: visibleMember(room, member) };
}

/**
 * The visibility rule, apart from how the rows were read (here one by
 * one, in membership-reads.ts a turn's at once): a room exists for a caller
 * if it is public or they are a member.
 * @throws AppError not_found (no room, or a private or direct one the caller is not in)
 */
export function visibleMember(room: RoomRow | undefined, member: MemberRow | undefined): MemberRow | null {
  if (!room) throw notFound("No such room.");
  if (!member && room.kind !== "public") throw notFound("No such room.");
  return member ?? null;
}

/** `visibleMember`, and a member: @throws AppError as visibleMember, and forbidden (public, not joined) */
export function joinedMember(room: RoomRow | undefined, member: MemberRow | undefined): MemberRow {
  const found = visibleMember(room, member);
  if (!found) throw forbidden("Join the room first.");
  return found;
}

/**
 * The room and the caller's membership.
 * @throws AppError not_found (no room, or a private one the caller is not in), forbidden (public, not joined)
 */
export function requireMember(db: Kysely<Database>, userId: string, roomId: string): Promise<{ room: RoomRow; member: MemberRow }> {
  return runSteps(db, membership(db, userId, roomId));
}

/** `requireMember` as steps (store/steps.ts). @throws AppError as requireMember */
export function* membership(db: Kysely<Database>, userId: string, roomId: string): Steps<{ room: RoomRow; member: MemberRow }> {
  const { room, member } = yield* visibleRoom(db, userId, roomId);
  return { room, member: joinedMember(room, member ?? undefined) };
}

/** @throws AppError as requireMember, and forbidden unless the caller is owner or admin */
export function* requireModerator(db: Kysely<Database>, userId: string, roomId: string): Steps<{ room: RoomRow; member: MemberRow }> {
  const found = yield* membership(db, userId, roomId);
  if (found.member.role !== "owner" && found.member.role !== "admin") {
    throw forbidden("Only the room's owner or an admin may do that.");
  }
  return found;
}

/** What a send needs to know about its author and room, read in one query. */
export interface SenderView {
  author: { id: string; username: string; displayName: string };
}

/**
 * The membership check of a message send, fused with the author's profile
 * into one query: a send is the hottest write, and each statement saved is
 * a few percent of its cost.
 * @throws AppError not_found (no room, or not visible), forbidden (public, not joined)
 */
const senderQuery = prepared<{ userId: string; roomId: string }, { id: string; username: string; display_name: string; kind: string | null; role: string | null }>(
  (db, p) =>
    db
      .selectFrom("users")
      .leftJoin("rooms", (join) => join.on("rooms.id", "=", p.roomId))
      .leftJoin("room_members", (join) => join.onRef("room_members.room_id", "=", "rooms.id").on("room_members.user_id", "=", p.userId))
      .select(["users.id", "users.username", "users.display_name", "rooms.kind", "room_members.role"])
      .where("users.id", "=", p.userId),
);

export function* requireSender(db: Kysely<Database>, userId: string, roomId: string): Steps<SenderView> {
  const [row] = yield* rows(senderQuery.query(db, { userId, roomId }));
  if (!row || !row.kind) throw notFound("No such room.");
  if (!row.role) {
    if (row.kind === "public") throw forbidden("Join the room first.");
    throw notFound("No such room.");
  }
  return { author: { id: row.id, username: row.username, displayName: row.display_name } };
}

/** User ids one membership query names at most. */
const MEMBERS_AMONG_CHUNK = 500;

/**
 * Which of `userIds` are members of `roomId` now, in one query per 500 ids:
 * the gateway's batched check of who may get a room's live traffic while it
 * cannot trust its own subscriptions (the bus between nodes is down).
 */
export async function membersAmong(db: Kysely<Database>, roomId: string, userIds: readonly string[]): Promise<Set<string>> {
  const members = new Set<string>();
  for (let i = 0; i < userIds.length; i += MEMBERS_AMONG_CHUNK) {
    const chunk = userIds.slice(i, i + MEMBERS_AMONG_CHUNK);
    const found = await db.selectFrom("room_members").select("user_id").where("room_id", "=", roomId).where("user_id", "in", chunk).execute();
    for (const r of found) members.add(r.user_id);
  }
  return members;
}
