/**
 * A room's timeline as held by the client: a window of its messages,
 * ascending by seq, growing at the bottom with live events and at the top
 * with older pages.
 *
 * Opening a message found by search (or any message far back) loads the
 * page around it (`around=<seq>`) instead of every page in between: the
 * window is then *detached* from the present (`hasNewer`), grows at the
 * bottom by newer pages as one scrolls down, and takes no live messages
 * until it reaches the present again (they would leave a gap in it); the
 * client then fetches what arrived meanwhile (ChatClient.catchUp).
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
  /** Detached from the present: the server has messages newer than the last one here (an `around` page). */
  readonly hasNewer: boolean;
  /** A page is being fetched. */
  readonly loading: PageKind | null;
  /**
   * Counts the times the window was replaced (an `around` page far away, the
   * newest page over a detached window). A page asked for the window before
   * (an older or newer page still on its way) is dropped: it would leave a
   * gap, or detach the new window again.
   */
  readonly window: number;
  /** Why the last page failed to load, if it did. */
  readonly error: string | null;
}

/** Which page: the newest, older than the first held, newer than the last held, or the page around a seq. */
export type PageKind = "latest" | "older" | "newer" | "around";

export const EMPTY_TIMELINE: Timeline = { messages: [], loaded: false, hasOlder: false, hasNewer: false, loading: null, error: null, window: 0 };

/**
 * The timeline with a page of history placed in it (ascending `messages`):
 * - older: prepended; `hasMore` says whether still older ones exist;
 * - latest: merged; on a detached window it replaces the window instead
 *   (nothing joins it to the present), which is attached again;
 * - newer: appended (scrolling down a detached window); `hasMore` says
 *   whether it is still detached;
 * - around: merged when it overlaps the window held (one window still),
 *   else it replaces it; `hasMore` says whether older ones exist,
 *   `hasMoreAfter` whether newer ones do (then the window is detached).
 * Held copies newer than the page's (an edit applied meanwhile) win, as in
 * mergeMessages.
 */
export function withPage(t: Timeline, kind: PageKind, page: readonly Message[], hasMore: boolean, hasMoreAfter = false): Timeline {
  const done = { ...t, loaded: true, loading: null, error: null };
  const first = page[0]?.seq;
  const last = page[page.length - 1]?.seq;
  switch (kind) {
    case "older":
      return { ...done, messages: mergeMessages(t.messages, page), hasOlder: hasMore };
    case "newer":
      return { ...done, messages: mergeMessages(t.messages, page), hasNewer: hasMore };
    case "latest":
      if (t.hasNewer && first !== undefined) {
        return { ...done, messages: windowOf(t.messages, page, first, Infinity), hasOlder: hasMore, hasNewer: false, window: t.window + 1 };
      }
      return { ...done, messages: mergeMessages(t.messages, page), hasOlder: t.loaded ? t.hasOlder : hasMore };
    case "around": {
      if (first === undefined || last === undefined) return done;
      const heldFirst = t.messages[0]?.seq;
      const heldLast = t.messages[t.messages.length - 1]?.seq;
      const overlaps = t.loaded && heldFirst !== undefined && heldLast !== undefined && first <= heldLast && last >= heldFirst;
      if (overlaps) {
        return {
          ...done,
          messages: mergeMessages(t.messages, page),
          hasOlder: first < heldFirst ? hasMore : t.hasOlder,
          hasNewer: last > heldLast ? hasMoreAfter : t.hasNewer && hasMoreAfter,
        };
      }
      return {
        ...done,
        messages: windowOf(t.messages, page, first, hasMoreAfter ? last : Infinity),
        hasOlder: hasMore,
        hasNewer: hasMoreAfter,
        window: t.window + 1,
      };
    }
  }
}

/** The page merged with the held messages, keeping only seqs in [from, to] (a new window). */
function windowOf(held: readonly Message[], page: readonly Message[], from: number, to: number): readonly Message[] {
  return mergeMessages(held, page).filter((m) => m.seq >= from && m.seq <= to);
}

/** Whether the timeline holds the message of seq `seq` (shown or kept for its thread). */
export function holdsSeq(t: Timeline, seq: number): boolean {
  return t.messages.some((m) => m.seq === seq);
}

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
