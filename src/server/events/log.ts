import type { Insertable, Kysely } from "kysely";
import type { Database, RoomEventsTable } from "../store/schema.js";
import { prepared } from "../store/prepared.js";
import { rows, type Steps } from "../store/steps.js";
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

const bumpSeq = prepared<{ roomId: string; at: string }, { last_seq: number }>((db, p) =>
  db
    .updateTable("rooms")
    .set((eb) => ({ last_seq: eb("last_seq", "+", 1), last_activity_at: p.at }))
    .where("id", "=", p.roomId)
    .returning("last_seq"),
);

const bumpSeqWithMessage = prepared<{ roomId: string; at: string; lastMessageId: string }, { last_seq: number }>((db, p) =>
  db
    .updateTable("rooms")
    .set((eb) => ({ last_seq: eb("last_seq", "+", 1), last_activity_at: p.at, last_message_id: p.lastMessageId }))
    .where("id", "=", p.roomId)
    .returning("last_seq"),
);

const insertEvent = prepared<Insertable<RoomEventsTable>, never>((db, p) =>
  db.insertInto("room_events").values({ room_id: p.room_id, seq: p.seq, type: p.type, frame: p.frame, created_at: p.created_at }),
);

/**
 * Takes the room's next seq and stores the event `build(seq)`, as steps
 * (store/steps.ts: `runSteps(trx, appendRoomEvent(trx, …))` from async code). Call inside
 * a transaction. Seqs start at 1 and have no gaps: the increment and the
 * insert commit or roll back together.
 * @throws Error when the room does not exist (a bug: callers check first).
 */
export function* appendRoomEvent<E extends RoomEvent>(
  trx: Kysely<Database>,
  roomId: string,
  at: string,
  build: (seq: number) => E,
  /** A message created by this event becomes the room's latest, in the same statement. */
  lastMessageId?: string,
): Steps<AppendedEvent<E>> {
  const [row] =
    lastMessageId === undefined
      ? yield* rows(bumpSeq.query(trx, { roomId, at }))
      : yield* rows(bumpSeqWithMessage.query(trx, { roomId, at, lastMessageId }));
  if (!row) throw new Error(`appendRoomEvent: no room ${roomId}`);
  const seq = Number(row.last_seq);
  const event = build(seq);
  const frame = JSON.stringify(event);
  yield* rows(insertEvent.query(trx, { room_id: roomId, seq, type: event.type, frame, created_at: at }));
  return { roomId, seq, event, frame };
}

/** A stored room event as catch-ups read it: its seq, its type (`member.left`, …) and its frame as broadcast. */
export interface StoredRoomEvent {
  seq: number;
  type: string;
  frame: string;
}

/** Reads stored frames of a room with seq in (afterSeq, upToSeq], ascending, at most `limit`. */
export type RoomEventReader = (roomId: string, afterSeq: number, upToSeq: number, limit: number) => Promise<StoredRoomEvent[]>;

/**
 * The log as far as it is durable: `readRoomEvents` stopping at
 * `readableSeq(roomId)` (RoomWriter.readableSeq), so a catch-up never sends
 * an event whose batch still waits for its fsync.
 */
export const durableRoomEvents =
  (db: Kysely<Database>, readableSeq: (roomId: string) => number): RoomEventReader =>
  (roomId, afterSeq, upToSeq, limit) =>
    readRoomEvents(db, roomId, afterSeq, Math.min(upToSeq, readableSeq(roomId)), limit);

/** Stored events of a room with seq in (afterSeq, upToSeq], ascending, at most `limit`. */
export async function readRoomEvents(
  db: Kysely<Database>,
  roomId: string,
  afterSeq: number,
  upToSeq: number,
  limit: number,
): Promise<StoredRoomEvent[]> {
  const rows = await db
    .selectFrom("room_events")
    .select(["seq", "type", "frame"])
    .where("room_id", "=", roomId)
    .where("seq", ">", afterSeq)
    .where("seq", "<=", upToSeq)
    .orderBy("seq", "asc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), type: r.type, frame: r.frame }));
}
