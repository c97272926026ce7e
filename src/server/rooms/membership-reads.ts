import DataLoader from "dataloader";
import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import { joinedMember, type MemberRow, type RoomRow } from "./access.js";

/** One membership check: is `userId` a member of `roomId`? */
interface Ask {
  userId: string;
  roomId: string;
}

/** What `MembershipReads.require` answers: the room and the caller's membership, as `requireMember`. */
export interface Membership {
  room: RoomRow;
  member: MemberRow;
}

/** Checks answered by one batch at most: each batch costs two queries with up to this many ids bound. */
export const MEMBERSHIP_BATCH_MAX = 250;

/**
 * The membership checks of commands that arrive many at a time over the
 * sockets (`room.delivered`, `room.read`, `typing`), read together: every
 * check asked during one event-loop turn is answered by two queries (the
 * rooms by id, then the memberships asked for), not two per check. The
 * issue 16 soak found these checks the largest cost of a busy server: each
 * client acknowledges what it receives, so one message in a room of N makes
 * up to N checks, and one turn ran a thousand awaited queries back to back
 * (an event-loop stall of 100–180 ms).
 *
 * Batching follows DataLoader (github.com/graphql/dataloader): loads are
 * gathered until the loop's check phase (`setImmediate`), after every
 * socket read of the turn has been handled, and nothing is cached (each
 * check reads the database as it is now: invariant 2, a leave is seen by
 * the next command). A check answers as `rooms/access.ts` `requireMember`.
 * @throws AppError not_found (no room, or a private or direct one the caller is not in), forbidden (public, not joined)
 */
export class MembershipReads {
  private readonly loader: DataLoader<Ask, Membership>;

  constructor(
    private readonly db: Kysely<Database>,
    maxBatchSize = MEMBERSHIP_BATCH_MAX,
  ) {
    this.loader = new DataLoader((asks) => this.readBatch(asks), {
      cache: false,
      maxBatchSize,
      batchScheduleFn: (run) => setImmediate(run),
      name: "membership",
    });
  }

  /** The room and `userId`'s membership in it, read with the other checks of this turn. */
  require(userId: string, roomId: string): Promise<Membership> {
    return this.loader.load({ userId, roomId });
  }

  private async readBatch(asks: readonly Ask[]): Promise<(Membership | Error)[]> {
    const usersByRoom = new Map<string, Set<string>>();
    for (const { roomId, userId } of asks) {
      let users = usersByRoom.get(roomId);
      if (!users) usersByRoom.set(roomId, (users = new Set()));
      users.add(userId);
    }
    const roomIds = [...usersByRoom.keys()];
    const rooms = await this.db.selectFrom("rooms").selectAll().where("id", "in", roomIds).execute();
    const roomById = new Map(rooms.map((r) => [r.id, r]));
    const asked = roomIds.filter((id) => roomById.has(id));
    const members =
      asked.length === 0
        ? []
        : await this.db
            .selectFrom("room_members")
            .selectAll()
            // One term per room (its users' ids in a list): the primary key (room_id, user_id) serves each term.
            .where((eb) => eb.or(asked.map((roomId) => eb.and([eb("room_id", "=", roomId), eb("user_id", "in", [...usersByRoom.get(roomId)!])]))))
            .execute();
    const memberOf = new Map(members.map((m) => [`${m.room_id}\u0000${m.user_id}`, m]));
    return asks.map(({ roomId, userId }) => {
      const room = roomById.get(roomId);
      try {
        // The same rule as requireMember (rooms/access.ts), on rows read for the whole turn.
        return { room: room!, member: joinedMember(room, memberOf.get(`${roomId}\u0000${userId}`)) };
      } catch (refusal) {
        return refusal as Error;
      }
    });
  }
}
