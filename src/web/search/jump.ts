/**
 * "Open this message in its conversation": the search panel asks, the
 * room's view does it (loads the page around the message, scrolls to it,
 * highlights it). The request waits here until the view of its room takes
 * it, because that view may not exist yet: opening a result usually
 * switches rooms, and the new RoomView mounts after the route changes.
 */

import { inTimeline, type Message } from "@shared/protocol/index.js";

/**
 * A message to show: where it is, and for a reply kept in its thread, the
 * thread's root. Without `messageId` (a link `#/rooms/<id>/<seq>`: only the
 * seq is known), the view loads the page around the seq and finds the
 * message there (`jumpTargetOfMessage`).
 */
export interface JumpTarget {
  roomId: string;
  messageId?: string;
  seq: number;
  /** Set for a thread reply not shown in the timeline: the root is shown there and the thread opened. */
  thread?: { rootId: string; rootSeq: number };
}

export class JumpRequests {
  private pending: JumpTarget | null = null;
  private readonly listeners = new Set<() => void>();

  /** Asks the view of `target.roomId` to show the message (replaces any request not yet taken). */
  request(target: JumpTarget): void {
    this.pending = target;
    for (const listener of [...this.listeners]) listener();
  }

  /** The request for `roomId`, if any, which is then no longer pending. */
  take(roomId: string): JumpTarget | null {
    const target = this.pending;
    if (!target || target.roomId !== roomId) return null;
    this.pending = null;
    return target;
  }

  /** Calls `listener` on each request; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The target that shows `message` (a thread reply kept in its thread: its root, and the thread opened). */
export function jumpTargetOfMessage(message: Message): JumpTarget {
  const base = { roomId: message.roomId, messageId: message.id, seq: message.seq };
  if (!inTimeline(message) && message.replyTo) return { ...base, thread: { rootId: message.replyTo.id, rootSeq: message.replyTo.seq } };
  return base;
}
