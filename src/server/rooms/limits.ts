import type { Kysely, SelectQueryBuilder } from "kysely";
import type { Database } from "../store/schema.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";
import { rows as rowsOf, type Steps } from "../store/steps.js";

/**
 * Membership bounds (DESIGN.md invariant 7): how many rooms one user may be
 * in (`roomsPerUser`, direct rooms included) and how many members one room
 * may have (`membersPerRoom`). Without them anyone could add anyone to any
 * number of rooms, and every read that walks a user's rooms (the room
 * list, a socket's subscriptions) would grow without end. Checked inside
 * the RoomWriter's transaction, before the work's first write, so a refusal
 * changes nothing. Counts stop at the bound: a check costs at most `limit`
 * index entries, even for data stored before the bound existed.
 */

/** Whose bound a refusal names: the caller, or the person named in the body (a member to add, a DM's peer). */
export type Who = "caller" | "body.userId";

/**
 * How many rows `rows` yields, counting at most `cap` of them (a LIMIT in
 * a subquery: the cost stops at the bound). Shared by every bound that
 * counts stored rows (here, and reactionsPerMessage).
 */
export function* countUpTo(
  trx: Kysely<Database>,
  rows: SelectQueryBuilder<Database, keyof Database, object>,
  cap: number,
): Steps<number> {
  const [row] = yield* rowsOf(trx.selectFrom(rows.limit(cap).as("capped")).select((eb) => eb.fn.countAll<number>().as("n")).compile());
  return Number(row?.n ?? 0);
}

/** Memberships of `userId`, counted up to `cap`. */
const roomsOf = (trx: Kysely<Database>, userId: string, cap: number): Steps<number> =>
  countUpTo(trx, trx.selectFrom("room_members").select("room_id").where("user_id", "=", userId), cap);

/** Members of `roomId`, counted up to `cap`. */
const membersOf = (trx: Kysely<Database>, roomId: string, cap: number): Steps<number> =>
  countUpTo(trx, trx.selectFrom("room_members").select("user_id").where("room_id", "=", roomId), cap);

/**
 * Refuses when `userId` already is in `limit` rooms (so one more would pass
 * the bound). Call inside the write transaction, before writing.
 * @throws AppError limit_reached (409), details `[{path: who, message}]`
 */
export function* requireRoomSlot(trx: Kysely<Database>, userId: string, limit: number, who: Who): Steps<void> {
  if ((yield* roomsOf(trx, userId, limit)) < limit) return;
  const message =
    who === "caller"
      ? `You are in ${limit} rooms, the most one person may be in; leave one first.`
      : `That person is in ${limit} rooms, the most one person may be in.`;
  throw new AppError(ErrorCode.LimitReached, message, {
    details: [{ path: who, message: `Member of ${limit} rooms; the limit (roomsPerUser) is ${limit}.` }],
  });
}

/**
 * Refuses when `roomId` already has `limit` members. Call inside the write
 * transaction of a work submitted with its room (RoomWriter.submitRoomSteps,
 * whose lock makes the count exact on PostgreSQL), before writing.
 * @throws AppError limit_reached (409), details `[{path: "params.roomId", message}]`
 */
export function* requireMemberSlot(trx: Kysely<Database>, roomId: string, limit: number): Steps<void> {
  if ((yield* membersOf(trx, roomId, limit)) < limit) return;
  throw new AppError(ErrorCode.LimitReached, `This room has ${limit} members, the most a room may have.`, {
    details: [{ path: "params.roomId", message: `${limit} members; the limit (membersPerRoom) is ${limit}.` }],
  });
}
