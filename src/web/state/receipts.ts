/**
 * Read and delivery receipts as the client holds them: per room, every
 * member's read and delivered position (GET /rooms/:roomId/receipts when the
 * room is opened, then `receipts.updated` frames) and the members' names for
 * "read by". Ephemeral, kept apart from the chat reducer; shaped for
 * useSyncExternalStore. Positions only move forward here too: a late
 * HTTP answer cannot undo a newer frame.
 */
import type { ReceiptsUpdatedEvent } from "@shared/protocol/index.js";

export interface RoomReceipts {
  readonly reads: Readonly<Record<string, number>>;
  readonly delivered: Readonly<Record<string, number>>;
  /** Display names by user id (the room's members when it was opened). */
  readonly names: Readonly<Record<string, string>>;
}

const EMPTY: RoomReceipts = { reads: {}, delivered: {}, names: {} };

/** What one of my messages (at `seq`) has reached: the others who read it, and whether any other got it. */
export interface ReceiptState {
  readonly delivered: boolean;
  /** Display names of the members (not me) who read it, sorted. */
  readonly readers: readonly string[];
}

/** Receipt of my message at `seq`: a read implies delivery (max of the two positions). */
export function receiptOf(r: RoomReceipts | undefined, seq: number, meId: string): ReceiptState {
  if (!r) return { delivered: false, readers: [] };
  const readers: string[] = [];
  let delivered = false;
  for (const [userId, read] of Object.entries(r.reads)) {
    if (userId === meId || read < seq) continue;
    readers.push(r.names[userId] ?? "someone");
  }
  if (readers.length > 0) delivered = true;
  else for (const [userId, d] of Object.entries(r.delivered)) if (userId !== meId && d >= seq) delivered = true;
  readers.sort((a, b) => a.localeCompare(b));
  return { delivered, readers };
}

/**
 * The seq of my newest message that someone else has read, among
 * `messages` (the open room's timeline, ascending or not): where "Read by
 * N" goes, as in Messenger, instead of under every message read. Deleted
 * messages carry no receipt, so they are skipped. Null when no message of
 * mine here is read yet.
 */
export function lastReadMineSeq(
  r: RoomReceipts | undefined,
  messages: readonly { seq: number; author: { id: string }; deletedAt?: string | null | undefined }[],
  meId: string,
): number | null {
  if (!r) return null;
  let furthest = -1;
  for (const [userId, read] of Object.entries(r.reads)) if (userId !== meId && read > furthest) furthest = read;
  let found: number | null = null;
  for (const m of messages) {
    if (m.author.id !== meId || m.deletedAt || m.seq > furthest) continue;
    if (found === null || m.seq > found) found = m.seq;
  }
  return found;
}

/** Merges positions keeping the higher one per user. */
function forward(held: Readonly<Record<string, number>>, incoming: Readonly<Record<string, number>>): Readonly<Record<string, number>> {
  let out: Record<string, number> | null = null;
  for (const [userId, seq] of Object.entries(incoming)) {
    if ((held[userId] ?? -1) >= seq) continue;
    out ??= { ...held };
    out[userId] = seq;
  }
  return out ?? held;
}

export class ReceiptsStore {
  private rooms: Readonly<Record<string, RoomReceipts>> = {};
  private readonly listeners = new Set<() => void>();

  getSnapshot = (): Readonly<Record<string, RoomReceipts>> => this.rooms;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The full picture of a room (on open): merged forward with what frames brought meanwhile. */
  load(roomId: string, reads: Record<string, number>, delivered: Record<string, number>, names: Record<string, string>): void {
    const held = this.rooms[roomId] ?? EMPTY;
    this.put(roomId, { reads: forward(held.reads, reads), delivered: forward(held.delivered, delivered), names: { ...held.names, ...names } });
  }

  /** A `receipts.updated` frame: only the positions that moved. */
  apply(event: ReceiptsUpdatedEvent): void {
    const held = this.rooms[event.roomId] ?? EMPTY;
    const reads = forward(held.reads, event.reads);
    const delivered = forward(held.delivered, event.delivered);
    if (reads === held.reads && delivered === held.delivered) return;
    this.put(event.roomId, { ...held, reads, delivered });
  }

  reset(): void {
    this.rooms = {};
    this.emit();
  }

  private put(roomId: string, r: RoomReceipts): void {
    this.rooms = { ...this.rooms, [roomId]: r };
    this.emit();
  }

  private emit(): void {
    for (const l of [...this.listeners]) l();
  }
}
