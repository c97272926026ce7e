/**
 * Reactions in the client's timeline: how a `reaction.added` /
 * `reaction.removed` event changes the message it is about, and which copy
 * of a message's reactions wins when another copy of the message arrives.
 *
 * The rule that keeps them right: a message's reactions change only through
 * events, applied in seq order by the room's cursor, with set semantics
 * (`withReaction`: adding what is there or removing what is not changes
 * nothing). A history page brings the reactions of the messages the
 * timeline does not hold yet; for a message it holds, the held reactions
 * win, since every event after the message came in has been (or will be)
 * applied to them, and an event replayed over a newer page converges to
 * the same state by last-write-wins per (emoji, user).
 */
import type { Message, ReactionAddedEvent, ReactionRemovedEvent } from "@shared/protocol/index.js";
import { withReaction } from "@shared/protocol/index.js";

/** `messages` after a reaction event; the same array when the message is not held, is deleted, or nothing changed. */
export function withReactionEvent(messages: readonly Message[], event: ReactionAddedEvent | ReactionRemovedEvent): readonly Message[] {
  const index = messages.findIndex((m) => m.id === event.messageId);
  if (index === -1) return messages;
  const message = messages[index]!;
  if (message.deletedAt) return messages; // a deleted message has no reactions (the server dropped them)
  const held = message.reactions ?? [];
  const reactions = withReaction(held, event.emoji, event.userId, event.type === "reaction.added");
  if (reactions === held && message.reactions !== undefined) return messages;
  const next = [...messages];
  next[index] = { ...message, reactions: [...reactions] };
  return next;
}

/**
 * `incoming` (an edit, a tombstone, a page's copy) replacing `held`, with
 * the reactions that are right: none for a deleted message, else the held
 * ones when it has any record of them (they are as new as the events
 * applied), else the incoming ones.
 */
export function withHeldReactions(held: Message, incoming: Message): Message {
  if (incoming.deletedAt) return incoming.reactions?.length === 0 ? incoming : { ...incoming, reactions: [] };
  if (held.reactions === undefined || held.reactions === incoming.reactions) return incoming;
  return { ...incoming, reactions: held.reactions };
}
