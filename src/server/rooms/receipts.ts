import type { Kysely } from "kysely";
import type { Deps, Actor } from "../deps.js";
import type { Database } from "../store/schema.js";
import type { ReceiptsUpdatedEvent, RoomReadEvent } from "@shared/protocol/frames.js";
import type { ReadAllResponse, ReceiptsResponse } from "@shared/protocol/http.js";
import type { RoomService } from "./service.js";
import { storePositions } from "./positions.js";
import { systemClock, type Clock } from "../presence/clock.js";

/** Positions that moved in one room since its last receipts.updated frame, by user id. */
interface Pending {
  reads: Map<string, number>;
  delivered: Map<string, number>;
}

/**
 * Read and delivery receipts (issue 9). Positions are stored per member
 * (room_members.last_read_seq, .last_delivered_seq) and only move forward,
 * never past the room's head. Delivered is moved by the clients (the
 * `room.delivered` command or POST /rooms/:roomId/delivered, sent batched
 * when they receive events), not by the server per frame written: that would
 * cost a write per delivery on the fan-out path. Delivered positions are
 * written in one transaction per interval (just before the frame that
 * announces them), not one write per report; until then `positions` overlays
 * them, so an answer is never behind what was acked.
 *
 * Announcements are ephemeral (no seq, invariant 4) and aggregated: changes
 * are gathered per room and published as at most one `receipts.updated`
 * frame per room per `receiptsIntervalMs`, through the bus's `room.ephemeral`
 * envelope (the room's subscribed sockets: members only, framed once). So a
 * room of 100 readers costs each member one frame per interval, not 100.
 * Memory: one entry per (room, member) whose position moved in the current
 * interval.
 */
export class ReceiptService {
  private readonly db: Kysely<Database>;
  private readonly bus: Deps["bus"];
  private readonly intervalMs: number;
  private readonly log: Deps["log"];
  private readonly rooms: RoomService;
  private readonly pending = new Map<string, Pending>();
  /** Delivered positions acked but not yet stored (room → user → seq); `writing`: the batch being stored now. */
  private unwritten = new Map<string, Map<string, number>>();
  private writing = new Map<string, Map<string, number>>();
  private timer: unknown = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    deps: Pick<Deps, "store" | "bus" | "config" | "log">,
    rooms: RoomService,
    private readonly clock: Clock = systemClock,
  ) {
    this.db = deps.store.db;
    this.bus = deps.bus;
    this.log = deps.log;
    this.intervalMs = deps.config.receiptsIntervalMs;
    this.rooms = rooms;
    rooms.onRead = (roomId, userId, seq) => this.note(roomId, "reads", userId, seq);
  }

  /**
   * Everything up to `seq` (clamped to the room's head; never moves back)
   * reached one of the caller's devices.
   * @returns the delivered position now stored
   * @throws AppError not_found, forbidden (not a member)
   */
  async markDelivered(actor: Actor, roomId: string, seq: number): Promise<number> {
    const { room, member } = await this.rooms.membership.require(actor.userId, roomId);
    const stored = Math.max(Number(member.last_delivered_seq), this.unstored(roomId, actor.userId));
    const target = Math.min(seq, Number(room.last_seq));
    if (target <= stored) return stored;
    raise(this.unwritten, roomId, actor.userId, target); // stored with the interval's batch, before it is announced
    this.note(roomId, "delivered", actor.userId, target);
    return target;
  }

  /**
   * Marks every room of the caller read up to its head. Each room that moved
   * is announced like a single read: `room.read` to the caller's sockets and
   * the room's next `receipts.updated`.
   * @returns the rooms that moved, with their new read position
   */
  async readAll(actor: Actor): Promise<ReadAllResponse> {
    const userId = actor.userId;
    // Bounded by roomsPerUser; each update is guarded so a position never moves back.
    const moved = await this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom("room_members as m")
        .innerJoin("rooms as r", "r.id", "m.room_id")
        .select(["m.room_id as roomId", "r.last_seq as lastSeq"])
        .where("m.user_id", "=", userId)
        .whereRef("m.last_read_seq", "<", "r.last_seq")
        .execute();
      for (const row of rows) {
        await trx
          .updateTable("room_members")
          .set({ last_read_seq: Number(row.lastSeq) })
          .where("room_id", "=", row.roomId)
          .where("user_id", "=", userId)
          .where("last_read_seq", "<", Number(row.lastSeq))
          .execute();
      }
      return rows;
    });
    const rooms: Record<string, number> = {};
    for (const { roomId, lastSeq } of moved) {
      const seq = Number(lastSeq);
      rooms[roomId] = seq;
      const event: RoomReadEvent = { type: "room.read", roomId, lastReadSeq: seq };
      this.bus.publish({ kind: "user", userId, frame: JSON.stringify(event) });
      this.note(roomId, "reads", userId, seq);
    }
    return { rooms };
  }

  /**
   * Every member's read and delivered position in a room (members only):
   * what a client loads when it opens the room, then keeps live from
   * `receipts.updated`. Bounded by membersPerRoom.
   * @throws AppError not_found, forbidden (not a member)
   */
  async positions(actor: Actor, roomId: string): Promise<ReceiptsResponse> {
    await this.rooms.membership.require(actor.userId, roomId);
    const rows = await this.db
      .selectFrom("room_members")
      .select(["user_id", "last_read_seq", "last_delivered_seq"])
      .where("room_id", "=", roomId)
      .execute();
    const reads: Record<string, number> = {};
    const delivered: Record<string, number> = {};
    for (const r of rows) {
      reads[r.user_id] = Number(r.last_read_seq);
      delivered[r.user_id] = Math.max(Number(r.last_delivered_seq), this.unstored(roomId, r.user_id));
    }
    return { reads, delivered };
  }

  /** Stores and sends what is pending now and stops the timer (shutdown: before the store closes). */
  async close(): Promise<void> {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** A delivered position acked but maybe not stored yet (0: none). */
  private unstored(roomId: string, userId: string): number {
    return Math.max(this.unwritten.get(roomId)?.get(userId) ?? 0, this.writing.get(roomId)?.get(userId) ?? 0);
  }

  /** Records a moved position; the first change of an interval arms the one timer. */
  private note(roomId: string, kind: keyof Pending, userId: string, seq: number): void {
    let p = this.pending.get(roomId);
    if (!p) {
      p = { reads: new Map(), delivered: new Map() };
      this.pending.set(roomId, p);
    }
    const map = p[kind];
    if ((map.get(userId) ?? -1) < seq) map.set(userId, seq);
    if (this.timer === null) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.intervalMs);
    }
  }

  /**
   * Stores the interval's delivered positions in one transaction, then
   * publishes one `receipts.updated` per room with changes, serialized once
   * (invariant 8). Flushes run one after another.
   */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    const batch = [...this.pending];
    this.pending.clear();
    this.writing = this.unwritten;
    this.unwritten = new Map();
    if (this.writing.size > 0) {
      try {
        const moves = [...this.writing].flatMap(([roomId, users]) => [...users].map(([userId, seq]) => ({ roomId, userId, seq })));
        await storePositions(this.db, "last_delivered_seq", moves);
      } catch (error) {
        // Ephemeral: a lost batch only delays ticks until the clients report again.
        this.log.warn({ err: error }, "storing delivered positions failed");
      }
      this.writing = new Map();
    }
    for (const [roomId, p] of batch) {
      const event: ReceiptsUpdatedEvent = {
        type: "receipts.updated",
        roomId,
        reads: Object.fromEntries(p.reads),
        delivered: Object.fromEntries(p.delivered),
      };
      this.bus.publish({ kind: "room.ephemeral", roomId, frame: JSON.stringify(event) });
    }
  }
}

/** Sets map[a][b] to `seq` unless it already holds as much. */
function raise(map: Map<string, Map<string, number>>, a: string, b: string, seq: number): void {
  let inner = map.get(a);
  if (!inner) {
    inner = new Map();
    map.set(a, inner);
  }
  if ((inner.get(b) ?? -1) < seq) inner.set(b, seq);
}
