/**
 * Replies and threads in the client state: pure rules, unit-tested.
 *
 * A reply's `message.created` carries `replyTo` (its thread's root), so the
 * root's count, last reply time and repliers are bumped from it: the server
 * sends no event of its own for the root's summary. A copy of the root
 * fetched after the reply was stored already counts it; the bump therefore
 * only applies to a reply newer than the root's `lastReplyAt`, so no reply
 * is counted twice. The summary's three fields move together: of two copies
 * of a root, the one with the later `lastReplyAt` has the right repliers
 * (`withHeldSummary`).
 *
 * Where a reply shows: a thread reply (`inThread`) in its thread only,
 * unless also sent to the room; a quote-reply in the timeline (and in its
 * thread, as before): `inTimeline` (shared protocol) decides.
 */
import { THREAD_REPLIERS, type Author, type Message, type ReactionAddedEvent, type ReactionRemovedEvent } from "@shared/protocol/index.js";
import { withHeldReactions, withReactionEvent } from "./reactions";
import { mergeMessages } from "./timeline";

/** An open (or once opened) thread: its root and the replies loaded so far, ascending by seq. */
export interface ThreadState {
  readonly roomId: string;
  /** The root as last fetched (the timeline's copy, when it holds one, is newer). */
  readonly root: Message | null;
  readonly replies: readonly Message[];
  readonly loaded: boolean;
  /** More replies exist after the last one here. */
  readonly hasMore: boolean;
  readonly loading: boolean;
  readonly error: string | null;
}

export const emptyThread = (roomId: string): ThreadState => ({ roomId, root: null, replies: [], loaded: false, hasMore: false, loading: false, error: null });

/**
 * `root` with `reply` counted (its author first among the repliers, once,
 * at most THREAD_REPLIERS), or `root` itself when the reply is not newer
 * than its last one.
 */
export function countReply(root: Message, reply: Message): Message {
  if ((root.lastReplyAt ?? "") >= reply.createdAt) return root;
  return { ...root, replyCount: (root.replyCount ?? 0) + 1, lastReplyAt: reply.createdAt, repliers: withReplier(root.repliers ?? [], reply.author) };
}

/** `repliers` with `author` moved (or added) to the front, each person once, at most THREAD_REPLIERS. */
export function withReplier(repliers: readonly Author[], author: Author): Author[] {
  return [author, ...repliers.filter((r) => r.id !== author.id)].slice(0, THREAD_REPLIERS);
}

/**
 * `incoming` (an event's copy, a page's copy) replacing `held`, with the
 * root's summary that is right: the copy with the later `lastReplyAt`
 * counts more replies; an event's copy carries no `repliers` (absent is not
 * "none" there), so the held ones stay when the two copies agree.
 */
export function withHeldSummary(held: Message, incoming: Message): Message {
  const heldLast = held.lastReplyAt ?? "";
  const incomingLast = incoming.lastReplyAt ?? "";
  if (heldLast > incomingLast) {
    return { ...incoming, replyCount: Math.max(held.replyCount ?? 0, incoming.replyCount ?? 0), lastReplyAt: held.lastReplyAt ?? null, ...(held.repliers ? { repliers: held.repliers } : {}) };
  }
  if (incoming.repliers === undefined && held.repliers !== undefined && heldLast === incomingLast) return { ...incoming, repliers: held.repliers };
  return incoming;
}

/** Bumps the root of `reply` in a list of messages, if the list holds it; returns `messages` itself otherwise. */
export function bumpRootIn(messages: readonly Message[], reply: Message): readonly Message[] {
  const rootId = reply.replyTo?.id;
  if (!rootId) return messages;
  let changed = false;
  const next = messages.map((m) => {
    if (m.id !== rootId) return m;
    const bumped = countReply(m, reply);
    if (bumped !== m) changed = true;
    return bumped;
  });
  return changed ? next : messages;
}

/** Replies in `messages` that quote `rootId` now say it was deleted (its text is gone). */
export function markQuotesDeleted(messages: readonly Message[], rootId: string): readonly Message[] {
  let changed = false;
  const next = messages.map((m) => {
    if (m.replyTo?.id !== rootId || m.replyTo.deleted) return m;
    changed = true;
    return { ...m, replyTo: { ...m.replyTo, preview: "", deleted: true } };
  });
  return changed ? next : messages;
}

/** A thread after a page of its replies arrived (the first page also brings the root). */
export function threadLoaded(thread: ThreadState, root: Message, replies: readonly Message[], hasMore: boolean): ThreadState {
  // A root held already keeps its reactions: the events applied to it since are as new as the page (reactions.ts).
  const held = thread.root?.id === root.id ? thread.root : null;
  return { ...thread, root: held ? withHeldSummary(held, withHeldReactions(held, root)) : root, replies: mergeMessages(thread.replies, replies), loaded: true, hasMore, loading: false, error: null };
}

/** A new reply (live event or our own ack) joins its thread; the thread's root copy counts it. */
export function threadWithReply(thread: ThreadState, reply: Message): ThreadState {
  const replies = mergeMessages(thread.replies, [reply]);
  const root = thread.root ? countReply(thread.root, reply) : null;
  return replies === thread.replies && root === thread.root ? thread : { ...thread, replies, root };
}

/** An edit or deletion of the root or of a reply held by the thread. */
export function threadWithChange(thread: ThreadState, message: Message): ThreadState {
  let { root, replies } = thread;
  // An event's copy carries no reactions: the held ones stay (reactions.ts), so an edit of the root keeps them.
  if (root && root.id === message.id) root = withHeldSummary(root, withHeldReactions(root, message));
  if (replies.some((m) => m.id === message.id)) replies = mergeMessages(replies, [message]);
  if (message.deletedAt && root && root.id === message.id) replies = markQuotesDeleted(replies, message.id);
  return root === thread.root && replies === thread.replies ? thread : { ...thread, root, replies };
}

/**
 * A `reaction.added` / `reaction.removed` applied to the thread's root or
 * reply it is about, with the timeline's rule (set semantics, nothing for a
 * deleted message: reactions.ts). Returns `thread` itself when the event is
 * about a message it does not hold, so the other threads do not re-render.
 */
export function threadWithReaction(thread: ThreadState, event: ReactionAddedEvent | ReactionRemovedEvent): ThreadState {
  if (event.roomId !== thread.roomId) return thread;
  let { root, replies } = thread;
  if (root && root.id === event.messageId) root = withReactionEvent([root], event)[0] ?? root;
  replies = withReactionEvent(replies, event);
  return root === thread.root && replies === thread.replies ? thread : { ...thread, root, replies };
}
