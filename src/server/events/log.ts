import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import type { RoomEvent } from "@shared/protocol/frames.js";

/**
 * The room event log (DESIGN.md invariant 4): every change visible in a
 * room takes the room's next seq in the transaction that stores it, and its
 * frame is stored as broadcast, so resume replays exactly what went live.
 */

export interface AppendedEvent<E extends RoomEvent = RoomEvent> {
  roomId: string;
  seq: number;
  event: E;
  /** The event serialized once; the same text goes to the log, the bus and every socket. */
  frame: string;
}

/**
 * Takes the room's next seq and stores the event `build(seq)`. Call inside
 * a transaction. Seqs start at 1 and have no gaps: the increment and the
 * insert commit or roll back together.
 * @throws Error when the room does not exist (a bug: callers check first).
 */
export async function appendRoomEvent<E extends RoomEvent>(
  trx: Kysely<Database>,
  roomId: string,
  at: string,
  build: (seq: number) => E,
  /** A message created by this event becomes the room's latest, in the same statement. */
  lastMessageId?: string,
): Promise<AppendedEvent<E>> {
  const row = await trx
    .updateTable("rooms")
    .set((eb) =>
      lastMessageId === undefined
        ? { last_seq: eb("last_seq", "+", 1), last_activity_at: at }
        : { last_seq: eb("last_seq", "+", 1), last_activity_at: at, last_message_id: lastMessageId },
    )
    .where("id", "=", roomId)
    .returning("last_seq")
    .executeTakeFirstOrThrow();
  const seq = Number(row.last_seq);
  const event = build(seq);
  const frame = JSON.stringify(event);
  await trx.insertInto("room_events").values({ room_id: roomId, seq, type: event.type, frame, created_at: at }).execute();
  return { roomId, seq, event, frame };
}

/** Stored frames of a room with seq in (afterSeq, upToSeq], ascending, at most `limit`. */
export async function readRoomEvents(
  db: Kysely<Database>,
  roomId: string,
  afterSeq: number,
  upToSeq: number,
  limit: number,
): Promise<{ seq: number; frame: string }[]> {
  const rows = await db
    .selectFrom("room_events")
    .select(["seq", "frame"])
    .where("room_id", "=", roomId)
    .where("seq", ">", afterSeq)
    .where("seq", "<=", upToSeq)
    .orderBy("seq", "asc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), frame: r.frame }));
}
