/**
 * A room's timeline as held by the client: a window of its messages,
 * ascending by seq, growing at the bottom with live events and at the top
 * with older pages.
 */
import type { Message } from "@shared/protocol/index.js";
import { inTimeline } from "@shared/protocol/index.js";
import { withHeldReactions } from "./reactions";
import { withHeldSummary } from "./threads";

export interface Timeline {
  /** Ascending by seq, one entry per seq. */
  readonly messages: readonly Message[];
  /** The newest page has arrived (before that, only live messages are here). */
  readonly loaded: boolean;
  /** The server has messages older than the first one here. */
  readonly hasOlder: boolean;
  /** A page is being fetched. */
  readonly loading: "latest" | "older" | null;
  /** Why the last page failed to load, if it did. */
  readonly error: string | null;
}

export const EMPTY_TIMELINE: Timeline = { messages: [], loaded: false, hasOlder: false, loading: null, error: null };

/**
 * Merges messages into an ascending list by seq; a seq already present is
 * kept once (the newer copy wins, so a later fetch can correct an older one;
 * its reactions are the held ones, which events keep current: reactions.ts;
 * of a thread's root, the later summary wins: threads.ts).
 * Returns `current` itself when nothing changed, so React can skip renders.
 */
export function mergeMessages(current: readonly Message[], incoming: readonly Message[]): readonly Message[] {
  if (incoming.length === 0) return current;
  const last = current[current.length - 1];
  // Fast path: the usual live message, newer than everything held.
  if (incoming.length === 1 && (last === undefined || incoming[0]!.seq > last.seq)) {
    return [...current, incoming[0]!];
  }
  const bySeq = new Map<number, Message>();
  for (const message of current) bySeq.set(message.seq, message);
  let changed = false;
  for (const message of incoming) {
    const held = bySeq.get(message.seq);
    if (held && (sameMessage(held, message) || isOlderVersion(message, held))) continue;
    bySeq.set(message.seq, held ? withHeldSummary(held, withHeldReactions(held, message)) : message);
    changed = true;
  }
  if (!changed) return current;
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

function sameMessage(a: Message, b: Message): boolean {
  return a.id === b.id && a.body === b.body && a.createdAt === b.createdAt && (a.editedAt ?? null) === (b.editedAt ?? null) && (a.deletedAt ?? null) === (b.deletedAt ?? null);
}

/**
 * `incoming` is an earlier state of the same message than `held`: a page or
 * an answer that left the server before an edit or deletion the client has
 * applied since. It must not bring back the old text.
 */
export function isOlderVersion(incoming: Message, held: Message): boolean {
  if (incoming.id !== held.id) return false;
  if (held.deletedAt) return !incoming.deletedAt;
  if (incoming.deletedAt) return false;
  return (incoming.editedAt ?? "") < (held.editedAt ?? "");
}

/** The seq to ask `before` for the next older page, or null when nothing is held. */
export function olderCursor(timeline: Timeline): number | null {
  return timeline.messages[0]?.seq ?? null;
}

/**
 * Messages by someone other than `userId` with seq above `afterSeq`, deleted
 * ones and thread replies kept in their thread left out (as the server counts).
 */
export function countUnread(messages: readonly Message[], afterSeq: number, userId: string): number {
  let count = 0;
  for (const message of messages) if (message.seq > afterSeq && message.author.id !== userId && !message.deletedAt && inTimeline(message)) count += 1;
  return count;
}
