import { z } from "zod";
import { idText } from "./text.js";

/**
 * Reactions (ext): one emoji per person per emoji per message, added and
 * removed as room events with a seq (DESIGN.md invariant 4). Everything
 * about them on the wire is here: the emoji rule, the aggregated Reaction a
 * message carries, the commands, the events, the HTTP shapes, and the one
 * rule for applying an event to a message's reactions (server tests and the
 * web client's reducer use the same function).
 */

/** Longest emoji accepted, in UTF-16 code units: room for the longest ZWJ sequences (kiss, couple with skin tones: 15). */
export const MAX_EMOJI_UNITS = 32;

/**
 * Characters an emoji may be built from: pictographs, modifiers (skin
 * tones), and components (Emoji_Component: ZWJ, VS16, the keycap mark,
 * regional indicators, hair styles, tag characters of subdivision flags,
 * and the digits and # * of keycaps).
 */
const EMOJI_PARTS = /^[\p{Extended_Pictographic}\p{Emoji_Presentation}\p{Emoji_Modifier}\p{Emoji_Component}]+$/u;
/**
 * What makes it a picture: a pictograph, or a flag (two regional
 * indicators), or a keycap. The components (regional indicators, skin
 * tones, hair styles) are Emoji_Presentation too, but alone they are parts
 * (a letter, a colour swatch), not emoji: PICTOGRAPH is looked for without them.
 */
const PICTOGRAPH = /[\p{Extended_Pictographic}\p{Emoji_Presentation}]/u;
const COMPONENTS = /\p{Emoji_Component}/gu;
const FLAG = /^\p{Regional_Indicator}{2}$/u;
const KEYCAP = /^[#*0-9]\uFE0F?\u20E3$/u;

const graphemes = typeof Intl !== "undefined" && "Segmenter" in Intl ? new Intl.Segmenter("en", { granularity: "grapheme" }) : null;

/**
 * One emoji: a single grapheme (Intl.Segmenter) made only of emoji
 * characters, with a pictograph in it, or a flag, or a keycap; at most
 * MAX_EMOJI_UNITS UTF-16 units. "👍", "👍🏽", "❤️", "👨‍👩‍👧", "🇫🇷", "1️⃣" pass;
 * "👍👍", "a", "🇫", "", text with an emoji in it do not. No other
 * normalization: "❤" and "❤️" are different reactions, as on every platform
 * that stores what was sent; clients send what their picker shows.
 */
export function isSingleEmoji(text: string): boolean {
  if (text.length === 0 || text.length > MAX_EMOJI_UNITS) return false;
  if (!EMOJI_PARTS.test(text)) return false;
  if (!PICTOGRAPH.test(text.replace(COMPONENTS, "")) && !FLAG.test(text) && !KEYCAP.test(text)) return false;
  if (graphemes === null) return true; // an old browser: the server, which has Segmenter, decides
  let count = 0;
  for (const _ of graphemes.segment(text)) if (++count > 1) return false;
  return count === 1;
}

/** An emoji in a command or a path: validated (an event or a Reaction carries a plain string: the server validated it). */
export const EmojiSchema = z
  .string()
  .max(MAX_EMOJI_UNITS, `An emoji is at most ${MAX_EMOJI_UNITS} UTF-16 code units.`)
  .refine(isSingleEmoji, "Must be a single emoji (one grapheme: a pictograph, a flag or a keycap, with its modifiers).")
  .meta({ description: "A single emoji (one grapheme), e.g. 👍 or 👍🏽; percent-encoded in a path.", examples: ["👍"] });

/**
 * One emoji's reactions on a message: how many people, and who, in the
 * order they reacted. A message's list is in the order its emoji were
 * first used.
 */
export const ReactionSchema = z.object({
  emoji: z.string(),
  count: z.number().int().positive(),
  /** Every reacting user's id, first reactor first; `count` is its length. */
  userIds: z.array(z.string()),
}).meta({ id: "Reaction" });
export type Reaction = z.infer<typeof ReactionSchema>;

// ---- commands (client → server) ----

const CommandId = idText({ label: "Command id", max: 64 });
const RoomId = idText({ label: "Room id", max: 64 });
const MessageId = idText({ label: "Message id", max: 64 });

/** Adds the caller's reaction with `emoji` to a message (idempotent: already there changes nothing). */
export const ReactionAddCommandSchema = z.object({
  type: z.literal("reaction.add"),
  id: CommandId,
  roomId: RoomId,
  messageId: MessageId,
  emoji: EmojiSchema,
});

/** Removes the caller's reaction with `emoji` from a message (idempotent: not there changes nothing). */
export const ReactionRemoveCommandSchema = z.object({
  type: z.literal("reaction.remove"),
  id: CommandId,
  roomId: RoomId,
  messageId: MessageId,
  emoji: EmojiSchema,
});

// ---- room events (server → client, with seq) ----

/** `userId` reacted to message `messageId` with `emoji`. */
export const ReactionAddedEventSchema = z.object({
  type: z.literal("reaction.added"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  messageId: z.string(),
  emoji: z.string(),
  userId: z.string(),
});
export type ReactionAddedEvent = z.infer<typeof ReactionAddedEventSchema>;

/** `userId` took back their `emoji` reaction to message `messageId`. */
export const ReactionRemovedEventSchema = z.object({
  type: z.literal("reaction.removed"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  messageId: z.string(),
  emoji: z.string(),
  userId: z.string(),
});
export type ReactionRemovedEvent = z.infer<typeof ReactionRemovedEventSchema>;

// ---- HTTP ----

/** PUT and DELETE /rooms/:roomId/messages/:messageId/reactions/:emoji (the emoji percent-encoded). */
export const ReactionParamsSchema = z.object({
  roomId: RoomId,
  messageId: MessageId,
  emoji: EmojiSchema,
});

/** The answer to adding or removing a reaction: the message's reactions as they now are. */
export const ReactionsResponseSchema = z.object({
  messageId: z.string(),
  reactions: z.array(ReactionSchema),
}).meta({ id: "ReactionsResponse" });
export type ReactionsResponse = z.infer<typeof ReactionsResponseSchema>;

// ---- the one rule for applying an event ----

/**
 * A message's reactions after `userId` added (`added`) or removed their
 * `emoji`. Set semantics: adding what is there, or removing what is not,
 * returns `reactions` itself, so an event applied twice changes nothing
 * more. A new emoji goes last; an emoji nobody holds any more goes away.
 */
export function withReaction(reactions: readonly Reaction[], emoji: string, userId: string, added: boolean): readonly Reaction[] {
  const index = reactions.findIndex((r) => r.emoji === emoji);
  const held = index === -1 ? undefined : reactions[index]!;
  const has = held?.userIds.includes(userId) ?? false;
  if (added === has) return reactions;
  if (added) {
    if (!held) return [...reactions, { emoji, count: 1, userIds: [userId] }];
    const userIds = [...held.userIds, userId];
    return reactions.map((r, i) => (i === index ? { emoji, count: userIds.length, userIds } : r));
  }
  const userIds = held!.userIds.filter((id) => id !== userId);
  if (userIds.length === 0) return reactions.filter((_, i) => i !== index);
  return reactions.map((r, i) => (i === index ? { emoji, count: userIds.length, userIds } : r));
}
