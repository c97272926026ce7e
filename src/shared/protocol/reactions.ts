import { z } from "zod";
import { idText } from "./text.js";
import { RGI_EMOJI } from "./rgi-emoji.js";

/**
 * Reactions (ext): one emoji per person per emoji per message, added and
 * removed as room events with a seq (DESIGN.md invariant 4). Everything
 * about them on the wire is here: the emoji rule, the aggregated Reaction a
 * message carries, the commands, the events, the HTTP shapes, and the one
 * rule for applying an event to a message's reactions (server tests and the
 * web client's reducer use the same function).
 */

/** Longest emoji accepted, in UTF-16 code units: more than the longest RGI emoji (kiss with skin tones: 15); a cheap first bound. */
export const MAX_EMOJI_UNITS = 32;

const VS16 = "\uFE0F";
/** The five skin tones (Emoji_Modifier), lightest first: Emojibase's and Unicode's order. */
const SKIN_TONES = ["\u{1F3FB}", "\u{1F3FC}", "\u{1F3FD}", "\u{1F3FE}", "\u{1F3FF}"] as const;
const MODIFIER_BASE = /\p{Emoji_Modifier_Base}/u;

/**
 * `emoji` with one skin tone per person in it: `tones[i]` goes after its
 * i-th Emoji_Modifier_Base code point, which then drops the VS16 that
 * followed it (☝️ → ☝🏻, 🏌️‍♂️ → 🏌🏻‍♂️). Null when the counts differ.
 * The rule behind RGI_EMOJI's "~" and "≈" marks (rgi-emoji.ts).
 */
export function withSkinTones(emoji: string, tones: readonly string[]): string | null {
  const points = [...emoji];
  let out = "";
  let used = 0;
  for (let i = 0; i < points.length; i++) {
    const point = points[i]!;
    out += point;
    if (!MODIFIER_BASE.test(point)) continue;
    if (used === tones.length) return null;
    out += tones[used++]!;
    if (points[i + 1] === VS16) i++;
  }
  return used === tones.length ? out : null;
}

/** A VS16 after a character that is an emoji by default: Emojibase writes it where Unicode has a variation sequence; UTS #51's fully-qualified form has none. */
const VS16_AFTER_EMOJI_PRESENTATION = /(\p{Emoji_Presentation})\uFE0F/gu;

interface RgiTable {
  /** Every emoji, fully-qualified. */
  all: ReadonlySet<string>;
  /** An emoji without any VS16 → its widest accepted form (Emojibase's: every VS16 it may have) and its fully-qualified form. */
  byBareForm: ReadonlyMap<string, { widest: string; qualified: string }>;
}
let rgi: RgiTable | null = null;

/** RGI_EMOJI decoded, once, on first use (the web client, which never validates a command, never pays for it). */
function decoded(): RgiTable {
  if (rgi) return rgi;
  const widest: string[] = [];
  for (const entry of RGI_EMOJI.split(/\s+/)) {
    if (entry === "") continue;
    const mark = entry.at(-1);
    if (mark !== "~" && mark !== "≈") {
      widest.push(entry);
      continue;
    }
    const emoji = entry.slice(0, -1);
    widest.push(emoji);
    const combos = mark === "~" ? SKIN_TONES.map((t) => [t]) : SKIN_TONES.flatMap((a) => SKIN_TONES.map((b) => [a, b]));
    for (const tones of combos) {
      const toned = withSkinTones(emoji, tones);
      if (toned === null) throw new Error(`rgi-emoji.ts: ${entry} takes no ${tones.length} skin tone(s); regenerate it`);
      widest.push(toned);
    }
  }
  const all = new Set<string>();
  const byBareForm = new Map<string, { widest: string; qualified: string }>();
  for (const form of widest) {
    const qualified = form.replace(VS16_AFTER_EMOJI_PRESENTATION, "$1");
    all.add(qualified);
    byBareForm.set(form.replace(/\uFE0F/g, ""), { widest: form, qualified });
  }
  return (rgi = { all, byBareForm });
}

/** Every fully-qualified RGI emoji that a reaction may be (components such as a lone skin tone are not emoji to react with). */
export function rgiEmoji(): ReadonlySet<string> {
  return decoded().all;
}

/**
 * The reaction an emoji stands for: its fully-qualified form (UTS #51,
 * emoji-test.txt) when `text` is an emoji of Unicode's RGI set written
 * fully-qualified, minimally-qualified or unqualified (VS16 left out), or
 * with a VS16 that Unicode's emoji-variation-sequences allows after an
 * emoji-by-default character (👍️: Emojibase's form, which the picker
 * sends); else null. "❤" and "❤️" are both "❤️", "👍️" is "👍", "1⃣" is
 * "1️⃣", "🏳‍🌈" is "🏳️‍🌈"; skin tones, ZWJ sequences, flags, subdivision
 * flags and keycaps of the set pass. Refused: anything not in the set,
 * which includes a VS16 where none may be or twice (👍 + 15 VS16), tag
 * characters other than an RGI subdivision flag's (hidden text), ZWJ
 * sequences Unicode does not list (👍‍👍), lone components, text. The set
 * is Emojibase's (emojibase-data), compiled into rgi-emoji.ts by
 * scripts/rgi-emoji.ts.
 */
export function normalizeEmoji(text: string): string | null {
  if (text.length === 0 || text.length > MAX_EMOJI_UNITS) return null;
  const found = decoded().byBareForm.get(text.replace(/\uFE0F/g, ""));
  if (found === undefined) return null;
  // `text` must be the widest form with some VS16 left out: none added where it has none, none twice.
  const { widest, qualified } = found;
  let i = 0;
  for (let j = 0; j < widest.length; j++) {
    if (text.charCodeAt(i) === widest.charCodeAt(j)) i++;
    else if (widest[j] !== VS16) return null;
  }
  return i === text.length ? qualified : null;
}

/** True when `text` is one RGI emoji, in any qualification (normalizeEmoji). */
export function isSingleEmoji(text: string): boolean {
  return normalizeEmoji(text) !== null;
}

/**
 * An emoji in a command or a path: validated and normalized to its
 * fully-qualified form (normalizeEmoji), so one emoji is one reaction
 * however it was typed. An event or a Reaction carries a plain string:
 * the server validated it ("" in the stored event of a deleted message).
 */
export const EmojiSchema = z
  .string()
  .max(MAX_EMOJI_UNITS, `An emoji is at most ${MAX_EMOJI_UNITS} UTF-16 code units.`)
  .refine(isSingleEmoji, "Must be a single emoji of Unicode's RGI set (fully-qualified, e.g. 👍, 👍🏽, ❤️, 🇫🇷, 1️⃣, 👨‍👩‍👧).")
  .overwrite((text) => normalizeEmoji(text) ?? text)
  .meta({ description: "A single emoji of Unicode's RGI set, e.g. 👍 or 👍🏽; percent-encoded in a path. Stored fully-qualified: ❤ is ❤️.", examples: ["👍"] });

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

/** `userId` reacted to message `messageId` with `emoji`; `emoji` "" once the message is deleted (its stored event, replayed by resume: apply nothing). */
export const ReactionAddedEventSchema = z.object({
  type: z.literal("reaction.added"),
  roomId: z.string(),
  seq: z.number().int().positive(),
  messageId: z.string(),
  emoji: z.string(),
  userId: z.string(),
});
export type ReactionAddedEvent = z.infer<typeof ReactionAddedEventSchema>;

/** `userId` took back their `emoji` reaction to message `messageId`; `emoji` "" once the message is deleted, as for reaction.added. */
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
 * An emoji "" (the stored event of a deleted message's reaction, replayed
 * by resume) changes nothing.
 */
export function withReaction(reactions: readonly Reaction[], emoji: string, userId: string, added: boolean): readonly Reaction[] {
  if (emoji === "") return reactions;
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
