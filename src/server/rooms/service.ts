import type { Kysely } from "kysely";
import type { Deps, Actor } from "../deps.js";
import type { Database } from "../store/schema.js";
import type { Member, MemberRole, Room, User } from "@shared/protocol/entities.js";
import type { CreateRoomRequest } from "@shared/protocol/http.js";
import type { RoomReadEvent } from "@shared/protocol/frames.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError, forbidden, notFound } from "../errors.js";
import { newId, nowIso } from "../store/ids.js";
import { getUser, toUser, userColumns } from "../users/users.js";
import { appendRoomEvent } from "../events/log.js";
import type { RoomWriter } from "../events/writer.js";
import type { RoomEnvelope } from "../bus/bus.js";
import { findVisibleRoom, requireModerator, visibleRoom, type RoomRow } from "./access.js";
import { myRoomIds, publicRoomIds, roomIdOf, roomViews } from "./views.js";
import { requireMemberSlot, requireRoomSlot, type Who } from "./limits.js";
import { rows, type Steps } from "../store/steps.js";
import { MembershipReads } from "./membership-reads.js";
import { ReadPositions } from "./positions.js";

/**
 * Rooms and their members: create, discover, join, leave, add members,
 * direct rooms, read positions. Each change that members can see is a
 * seq-stamped room event written through the RoomWriter.
 */
export class RoomService {
  /** Membership checks of the many-at-a-time socket commands (read, delivered, typing), read per turn. */
  readonly membership: MembershipReads;
  private readonly readPositions: ReadPositions;

  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
  ) {
    this.membership = new MembershipReads(deps.store.db);
    this.readPositions = new ReadPositions(deps.store.db);
  }

  /** Told when a member's read position moved (room, user, new seq): the receipts aggregator (rooms/receipts.ts). */
  onRead: ((roomId: string, userId: string, seq: number) => void) | null = null;

  private get db() {
    return this.deps.store.db;
  }

  /**
   * My rooms, most recent activity first. Keyed on my membership (a
   * subquery on my user id), so no parameter is bound per room: see RoomIds.
   */
  async listMine(actor: Actor): Promise<Room[]> {
    return roomViews(this.db, actor.userId, myRoomIds(this.db, actor.userId));
  }

  /** Public rooms anyone may join, most recent activity first (at most 200). */
  async listPublic(actor: Actor): Promise<Room[]> {
    return roomViews(this.db, actor.userId, publicRoomIds(this.db, 200));
  }

  /** @throws AppError not_found for a private room the caller is not in */
  async get(actor: Actor, roomId: string): Promise<Room> {
    await findVisibleRoom(this.db, actor.userId, roomId);
    const [view] = await roomViews(this.db, actor.userId, roomIdOf(this.db, roomId));
    if (!view) throw notFound("No such room.");
    return view;
  }

  /**
   * Creates a public or private room; the creator is its owner.
   * @throws AppError limit_reached (the caller is in roomsPerUser rooms already)
   */
  async create(actor: Actor, input: CreateRoomRequest): Promise<Room> {
    const roomId = newId();
    const { roomsPerUser } = this.deps.config;
    await this.writer.submitSteps(function* (trx) {
      yield* requireRoomSlot(trx, actor.userId, roomsPerUser, "caller");
      const at = nowIso();
      yield* insertRoom(trx, { id: roomId, kind: input.kind, name: input.name, topic: input.topic ?? "", directKey: null, createdBy: actor.userId, at });
      const joined = yield* addMemberRow(trx, roomId, actor.userId, "owner", at);
      return { result: null, publish: [joined] };
    });
    return this.get(actor, roomId);
  }

  /**
   * Joins a public room; joining one already joined changes nothing.
   * @throws AppError not_found (no room, or a private or direct one the caller is not in),
   *   limit_reached (the caller is in roomsPerUser rooms, or the room has membersPerRoom members)
   */
  async join(actor: Actor, roomId: string): Promise<Room> {
    const deps = this.deps;
    await this.writer.submitRoomSteps(roomId, function* (trx) {
      // visibleRoom answers not_found for a private or direct room the caller is not in.
      const { member } = yield* visibleRoom(trx, actor.userId, roomId);
      if (member) return { result: null, publish: [] };
      yield* requireSlots(deps, trx, roomId, actor.userId, "caller");
      return { result: null, publish: [yield* addMemberRow(trx, roomId, actor.userId, "member", nowIso())] };
    });
    return this.get(actor, roomId);
  }

  /**
   * Leaves a room; leaving a public room one is not in changes nothing.
   * @throws AppError not_found, forbidden (direct rooms cannot be left)
   */
  async leave(actor: Actor, roomId: string): Promise<void> {
    await this.writer.submitRoomSteps(roomId, function* (trx) {
      const { room, member } = yield* visibleRoom(trx, actor.userId, roomId);
      if (!member) return { result: null, publish: [] };
      if (room.kind === "direct") throw forbidden("A direct conversation cannot be left.");
      yield* rows(trx.deleteFrom("room_members").where("room_id", "=", roomId).where("user_id", "=", actor.userId).compile());
      const left = yield* appendRoomEvent(trx, roomId, nowIso(), (seq) => ({
        type: "member.left" as const,
        roomId,
        seq,
        userId: actor.userId,
      }));
      const envelope: RoomEnvelope = { kind: "room", roomId, seq: left.seq, frame: left.frame, removeUserIds: [actor.userId] };
      return { result: null, publish: [envelope] };
    });
  }

  /**
   * An owner or admin adds someone. Adding a current member changes nothing
   * and answers `created: false`.
   * @throws AppError not_found (room or user), forbidden (not owner/admin, or a direct room),
   *   limit_reached (that user is in roomsPerUser rooms, or the room has membersPerRoom members)
   */
  async addMember(actor: Actor, roomId: string, userId: string): Promise<{ member: Member; created: boolean }> {
    const deps = this.deps;
    return this.writer.submitRoomSteps<{ member: Member; created: boolean }>(roomId, function* (trx) {
      const { room } = yield* requireModerator(trx, actor.userId, roomId);
      if (room.kind === "direct") throw forbidden("A direct conversation has exactly two members.");
      const user = yield* getUser(trx, userId);
      const [existing] = yield* rows(trx.selectFrom("room_members").select(["role", "joined_at"]).where("room_id", "=", roomId).where("user_id", "=", userId).compile());
      if (existing) return { result: { member: { user, role: existing.role, joinedAt: existing.joined_at }, created: false }, publish: [] };
      yield* requireSlots(deps, trx, roomId, userId, "body.userId");
      const at = nowIso();
      const joined = yield* addMemberRow(trx, roomId, userId, "member", at, user);
      return { result: { member: { user, role: "member", joinedAt: at }, created: true }, publish: [joined] };
    });
  }

  /** The room's last durable seq (RoomWriter.readableSeq) when the caller is a member now, else null. */
  async headForMember(actor: Actor, roomId: string): Promise<number | null> {
    const row = await this.db
      .selectFrom("room_members")
      .innerJoin("rooms", "rooms.id", "room_members.room_id")
      .select("rooms.last_seq")
      .where("room_members.room_id", "=", roomId)
      .where("room_members.user_id", "=", actor.userId)
      .executeTakeFirst();
    return row ? Math.min(Number(row.last_seq), this.writer.readableSeq(roomId)) : null;
  }

  /**
   * Rooms the user is in, with each room's last durable seq: what a new
   * socket subscribes to. Not the committed head: an event still waiting
   * for its fsync arrives live once durable, and a socket whose stream began
   * after it would take it for one already sent.
   */
  async subscriptions(userId: string): Promise<{ roomId: string; lastSeq: number }[]> {
    return (await this.subscriptionsOf([userId])).get(userId) ?? [];
  }

  /** `subscriptions` of many users in one query (a bus outage's catch-up: Gateway.resync); users in no room are absent. */
  async subscriptionsOf(userIds: readonly string[]): Promise<Map<string, { roomId: string; lastSeq: number }[]>> {
    const out = new Map<string, { roomId: string; lastSeq: number }[]>();
    if (userIds.length === 0) return out;
    const rows = await this.db
      .selectFrom("room_members")
      .innerJoin("rooms", "rooms.id", "room_members.room_id")
      .select(["room_members.user_id", "rooms.id", "rooms.last_seq"])
      .where("room_members.user_id", "in", userIds)
      .execute();
    for (const r of rows) {
      let rooms = out.get(r.user_id);
      if (!rooms) out.set(r.user_id, (rooms = []));
      rooms.push({ roomId: r.id, lastSeq: Math.min(Number(r.last_seq), this.writer.readableSeq(r.id)) });
    }
    return out;
  }

  /** Members of a room the caller is in (or a public room), by join time. */
  async members(actor: Actor, roomId: string): Promise<Member[]> {
    await findVisibleRoom(this.db, actor.userId, roomId);
    const rows = await this.db
      .selectFrom("room_members")
      .innerJoin("users", "users.id", "room_members.user_id")
      .select([...userColumns.map((c) => `users.${c}` as const), "room_members.role", "room_members.joined_at"])
      .where("room_members.room_id", "=", roomId)
      .orderBy("room_members.joined_at")
      .limit(1000)
      .execute();
    return rows.map((r) => ({ user: toUser(r), role: r.role, joinedAt: r.joined_at }));
  }

  /**
   * The one direct room of the caller and `userId`, created on first use.
   * A new one counts against both people's roomsPerUser; opening an
   * existing one is always allowed.
   * @throws AppError not_found (no such user), validation_failed (oneself),
   *   limit_reached (a new room, and the caller or the peer is in roomsPerUser rooms)
   */
  async openDirect(actor: Actor, userId: string): Promise<Room> {
    if (userId === actor.userId) {
      throw new AppError(ErrorCode.ValidationFailed, "A direct conversation needs another person.", {
        details: [{ path: "body.userId", message: "That is you." }],
      });
    }
    const directKey = [actor.userId, userId].sort().join(":");
    const { roomsPerUser } = this.deps.config;
    const roomId = await this.writer.submitSteps(function* (trx) {
      const [existing] = yield* rows(trx.selectFrom("rooms").select("id").where("direct_key", "=", directKey).compile());
      if (existing) return { result: existing.id, publish: [] };
      const peer = yield* getUser(trx, userId);
      const me = yield* getUser(trx, actor.userId);
      // Both count: otherwise anyone could fill anyone's room list with direct rooms.
      yield* requireRoomSlot(trx, actor.userId, roomsPerUser, "caller");
      yield* requireRoomSlot(trx, peer.id, roomsPerUser, "body.userId");
      const id = newId();
      const at = nowIso();
      yield* insertRoom(trx, { id, kind: "direct", name: `${me.username}, ${peer.username}`, topic: "", directKey, createdBy: actor.userId, at });
      const a = yield* addMemberRow(trx, id, me.id, "member", at, me);
      const b = yield* addMemberRow(trx, id, peer.id, "member", at, peer);
      return { result: id, publish: [a, b] };
    });
    return this.get(actor, roomId);
  }

  /**
   * Whether the caller and `userId` have their direct room already: opening
   * it again creates nothing, so it is not counted as a creation
   * (roomsCreatedPerHour). One look-up on the unique direct_key.
   */
  async directExists(actor: Actor, userId: string): Promise<boolean> {
    const directKey = [actor.userId, userId].sort().join(":");
    const row = await this.db.selectFrom("rooms").select("id").where("direct_key", "=", directKey).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Moves the caller's read position forward (never back, never past the
   * room's last seq) and tells the caller's other sockets.
   * @throws AppError not_found, forbidden (not a member)
   */
  async markRead(actor: Actor, roomId: string, seq: number): Promise<number> {
    const { room, member } = await this.membership.require(actor.userId, roomId);
    const target = Math.min(seq, Number(room.last_seq));
    if (target <= Number(member.last_read_seq)) return Number(member.last_read_seq);
    await this.readPositions.store(roomId, actor.userId, target);
    const event: RoomReadEvent = { type: "room.read", roomId, lastReadSeq: target };
    this.deps.bus.publish({ kind: "user", userId: actor.userId, frame: JSON.stringify(event) });
    this.onRead?.(roomId, actor.userId, target);
    return target;
  }
}

/**
 * Refuses a new membership of `userId` in `roomId` past roomsPerUser or
 * membersPerRoom. The writer's room lock (submitRoomSteps; PostgreSQL: the
 * row, FOR UPDATE) keeps two nodes from both taking a room's last seat.
 * @throws AppError limit_reached
 */
function* requireSlots(deps: Deps, trx: Kysely<Database>, roomId: string, userId: string, who: Who): Steps<void> {
  yield* requireMemberSlot(trx, roomId, deps.config.membersPerRoom);
  yield* requireRoomSlot(trx, userId, deps.config.roomsPerUser, who);
}

/** Inserts the membership and its member.joined event; the new member's sockets subscribe with it. */
function* addMemberRow(trx: Kysely<Database>, roomId: string, userId: string, role: MemberRole, at: string, user?: User): Steps<RoomEnvelope> {
  const who = user ?? (yield* getUser(trx, userId));
  yield* rows(trx.insertInto("room_members").values({ room_id: roomId, user_id: userId, role, joined_at: at, last_read_seq: 0 }).compile());
  const joined = yield* appendRoomEvent(trx, roomId, at, (seq) => ({
    type: "member.joined" as const,
    roomId,
    seq,
    member: { user: who, role, joinedAt: at },
  }));
  // A new member has read everything before their arrival.
  yield* rows(trx.updateTable("room_members").set({ last_read_seq: joined.seq }).where("room_id", "=", roomId).where("user_id", "=", userId).compile());
  return { kind: "room", roomId, seq: joined.seq, frame: joined.frame, addUserIds: [userId] };
}

/** A new room row with no events yet (last_seq 0): its first event takes seq 1. */
function* insertRoom(
  trx: Kysely<Database>,
  room: { id: string; kind: RoomRow["kind"]; name: string; topic: string; directKey: string | null; createdBy: string; at: string },
): Steps<void> {
  yield* rows(trx
    .insertInto("rooms")
    .values({
      id: room.id,
      kind: room.kind,
      name: room.name,
      topic: room.topic,
      direct_key: room.directKey,
      created_by: room.createdBy,
      created_at: room.at,
      last_seq: 0,
      last_activity_at: room.at,
      last_message_id: null,
    })
    .compile());
}
