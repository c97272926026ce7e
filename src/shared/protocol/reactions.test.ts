import { describe, expect, it } from "vitest";
import data from "emojibase-data/en/compact.json";
import { EmojiSchema, isSingleEmoji, MAX_EMOJI_UNITS, withReaction, type Reaction } from "./reactions.js";

describe("isSingleEmoji", () => {
  it("accepts one emoji of every kind: plain, skin tone, VS16, ZWJ sequences, flags, subdivision flags, keycaps", () => {
    for (const emoji of ["👍", "👍🏽", "❤️", "❤", "☺", "©️", "👨‍👩‍👧‍👦", "🧑🏻‍❤️‍💋‍🧑🏼", "🏳️‍🌈", "🇫🇷", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "1️⃣", "#️⃣", "🫨"]) {
      expect(isSingleEmoji(emoji), emoji).toBe(true);
    }
  });

  it("refuses text, several emoji, lone parts and anything over the length bound", () => {
    for (const text of ["", "a", "ok", "👍👍", "👍 ", " 👍", "a👍", "🇫", "🇫🇷🇫🇷", "1", "#", "\u200D", "\uFE0F", "\u{1F3FB}", "\u{1F9B0}", "\u{E0067}", "<", "👍\u0301", "\uD83D"]) {
      expect(isSingleEmoji(text), JSON.stringify(text)).toBe(false);
    }
    expect(isSingleEmoji("👍".repeat(MAX_EMOJI_UNITS))).toBe(false);
    expect(EmojiSchema.safeParse("x".repeat(MAX_EMOJI_UNITS + 1)).success).toBe(false);
  });

  it("accepts every emoji the picker offers (emojibase-data, skin tones included)", () => {
    const offered = data.filter((e) => e.group !== undefined && e.group !== 2).flatMap((e) => [e.unicode, ...(e.skins ?? []).map((s) => s.unicode)]);
    expect(offered.length).toBeGreaterThan(3000);
    expect(offered.filter((emoji) => !isSingleEmoji(emoji))).toEqual([]);
  });
});

describe("withReaction", () => {
  const none: readonly Reaction[] = [];
  it("adds and removes with set semantics: the same change twice returns the same list", () => {
    const one = withReaction(none, "👍", "ada", true);
    expect(one).toEqual([{ emoji: "👍", count: 1, userIds: ["ada"] }]);
    expect(withReaction(one, "👍", "ada", true)).toBe(one);
    const two = withReaction(withReaction(one, "🎉", "bob", true), "👍", "bob", true);
    expect(two).toEqual([
      { emoji: "👍", count: 2, userIds: ["ada", "bob"] },
      { emoji: "🎉", count: 1, userIds: ["bob"] },
    ]);
    expect(withReaction(two, "😮", "ada", false)).toBe(two);
    expect(withReaction(two, "👍", "carol", false)).toBe(two);
    // The first reactor leaving keeps the emoji in its place.
    expect(withReaction(two, "👍", "ada", false)).toEqual([
      { emoji: "👍", count: 1, userIds: ["bob"] },
      { emoji: "🎉", count: 1, userIds: ["bob"] },
    ]);
    expect(withReaction(withReaction(one, "👍", "ada", false), "👍", "ada", false)).toEqual([]);
  });
});
