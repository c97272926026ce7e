import DataLoader from "dataloader";
import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";

/** A member's read or delivered position moving forward to `seq`. */
export interface PositionMove {
  roomId: string;
  userId: string;
  seq: number;
}

/** User ids bound in one UPDATE at most. */
const USERS_PER_UPDATE = 500;

/**
 * Stores positions moving forward, in one transaction with one UPDATE per
 * distinct (room, seq) rather than one per member: the members of a room
 * mostly acknowledge the same last message, so a room's hundred reports of
 * one interval become one or a few statements. Each UPDATE is guarded so a
 * position never moves back, whatever another node or an earlier batch
 * stored meanwhile.
 */
export async function storePositions(db: Kysely<Database>, column: "last_read_seq" | "last_delivered_seq", moves: Iterable<PositionMove>): Promise<void> {
  const usersByTarget = new Map<string, { roomId: string; seq: number; userIds: string[] }>();
  for (const { roomId, userId, seq } of moves) {
    const key = `${roomId}\u0000${seq}`;
    let group = usersByTarget.get(key);
    if (!group) usersByTarget.set(key, (group = { roomId, seq, userIds: [] }));
    group.userIds.push(userId);
  }
  if (usersByTarget.size === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const { roomId, seq, userIds } of usersByTarget.values()) {
      for (let i = 0; i < userIds.length; i += USERS_PER_UPDATE) {
        await trx
          .updateTable("room_members")
          .set({ [column]: seq })
          .where("room_id", "=", roomId)
          .where("user_id", "in", userIds.slice(i, i + USERS_PER_UPDATE))
          .where(column, "<", seq)
          .execute();
      }
    }
  });
}

/**
 * Read positions (`room.read`, POST /rooms/:roomId/read) stored together:
 * the moves asked during one event-loop turn are written by one
 * `storePositions` transaction (DataLoader's batching, as
 * rooms/membership-reads.ts), and each caller is answered once its move is
 * stored. Each client reports reads of what it is shown, so a busy room
 * makes many at once; one transaction each was, with the membership
 * checks, what stalled the issue 16 soak's event loop.
 * @throws the database's error, to every caller of the failed batch
 */
export class ReadPositions {
  private readonly loader: DataLoader<PositionMove, true>;

  constructor(db: Kysely<Database>) {
    this.loader = new DataLoader(
      async (moves) => {
        await storePositions(db, "last_read_seq", moves);
        return moves.map(() => true as const);
      },
      { cache: false, batchScheduleFn: (run) => setImmediate(run), name: "read-positions" },
    );
  }

  /** Resolves once `userId`'s read position in `roomId` is at least `seq`, stored. */
  async store(roomId: string, userId: string, seq: number): Promise<void> {
    await this.loader.load({ roomId, userId, seq });
  }
}
