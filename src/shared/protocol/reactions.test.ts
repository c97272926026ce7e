import { describe, expect, it } from "vitest";
import data from "emojibase-data/en/compact.json";
import { EmojiSchema, isSingleEmoji, MAX_EMOJI_UNITS, normalizeEmoji, rgiEmoji, withReaction, type Reaction } from "./reactions.js";

/** Invisible tag characters (U+E0020–E007E) spelling `text`: what a tag sequence hides. */
const tags = (text: string): string => [...text].map((c) => String.fromCodePoint(0xe0000 + c.codePointAt(0)!)).join("");
const CANCEL_TAG = "\u{E007F}";
const VS16 = "\uFE0F";
const ZWJ = "\u200D";

describe("normalizeEmoji: fully-qualified RGI emoji only (Unicode's emoji-test.txt, through Emojibase)", () => {
  // [input, what is stored]: a fully-qualified emoji is itself; a minimally- or unqualified one (VS16 left out) is its
  // fully-qualified form, so that "❤" and "❤️" are one reaction.
  const accepted: readonly (readonly [string, string])[] = [
    ["👍", "👍"],
    ["👍️", "👍"],
    ["👍🏽", "👍🏽"],
    ["😀", "😀"],
    ["❤️", "❤️"],
    ["❤", "❤️"],
    ["☺", "☺️"],
    ["©️", "©️"],
    ["©", "©️"],
    ["👨‍👩‍👧", "👨‍👩‍👧"],
    ["👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦"],
    ["🧑🏻‍❤️‍💋‍🧑🏼", "🧑🏻‍❤️‍💋‍🧑🏼"],
    ["🧑🏻‍❤‍💋‍🧑🏼", "🧑🏻‍❤️‍💋‍🧑🏼"],
    ["🏳️‍🌈", "🏳️‍🌈"],
    ["🏳‍🌈", "🏳️‍🌈"],
    ["👁‍🗨", "👁️‍🗨️"],
    ["👁️‍🗨", "👁️‍🗨️"],
    ["🏌️‍♂️", "🏌️‍♂️"],
    ["🏌🏻‍♂️", "🏌🏻‍♂️"],
    ["🤝🏻", "🤝🏻"],
    ["🫱🏻‍🫲🏿", "🫱🏻‍🫲🏿"],
    ["🇫🇷", "🇫🇷"],
    ["🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"],
    ["1️⃣", "1️⃣"],
    ["1⃣", "1️⃣"],
    ["#️⃣", "#️⃣"],
    ["🫨", "🫨"],
  ];
  it.each(accepted)("accepts %s as %s", (input, stored) => {
    expect(normalizeEmoji(input)).toBe(stored);
    expect(isSingleEmoji(input)).toBe(true);
    expect(EmojiSchema.parse(input)).toBe(stored);
  });

  const refused: readonly (readonly [string, string])[] = [
    ["15 variation selectors after 👍", "👍" + VS16.repeat(15)],
    ["a variation selector 🎉 does not take", "🎉" + VS16],
    ["two variation selectors after 👍", "👍" + VS16 + VS16],
    ["a variation selector after a skin tone", "👍🏽" + VS16],
    ["a second variation selector", "❤️" + VS16],
    ["VS16 doubled inside a sequence", "🏳" + VS16 + VS16 + ZWJ + "🌈"],
    ["text presentation (VS15)", "❤\uFE0E"],
    ["tags spelling text after 👍", "👍" + tags("ssn=123-45-6789") + CANCEL_TAG],
    ["tags spelling text after 👍, no cancel tag", "👍" + tags("ssn=123-45-6789")],
    ["a black flag with arbitrary tags", "🏴" + tags("ssn=123") + CANCEL_TAG],
    ["a subdivision flag that is not RGI", "🏴" + tags("usca") + CANCEL_TAG],
    ["👍 ZWJ 👍 ZWJ 👍", ["👍", "👍", "👍"].join(ZWJ)],
    ["👍 ZWJ 👍", "👍" + ZWJ + "👍"],
    ["a trailing ZWJ", "👍" + ZWJ],
    ["two skin tones on one hand", "👍🏽🏽"],
    ["a skin tone on what takes none", "🎉🏽"],
    ["a pair of regional indicators that is no region", "🇦🇦"],
    ["a lone regional indicator", "🇫"],
    ["two flags", "🇫🇷🇫🇷"],
    ["two emoji", "👍👍"],
    ["a skin tone alone", "\u{1F3FB}"],
    ["a hair component alone", "\u{1F9B0}"],
    ["a lone tag", "\u{E0067}"],
    ["a lone ZWJ", ZWJ],
    ["a lone VS16", VS16],
    ["a digit", "1"],
    ["a digit with VS16 but no keycap mark", "1" + VS16],
    ["#", "#"],
    ["a letter", "a"],
    ["text", "ok"],
    ["a space after", "👍 "],
    ["a space before", " 👍"],
    ["text around", "a👍"],
    ["a combining mark", "👍\u0301"],
    ["a lone surrogate", "\uD83D"],
    ["empty", ""],
    ["over the length bound", "👍".repeat(MAX_EMOJI_UNITS)],
  ];
  it.each(refused)("refuses %s", (_, input) => {
    expect(normalizeEmoji(input)).toBeNull();
    expect(isSingleEmoji(input)).toBe(false);
    const parsed = EmojiSchema.safeParse(input);
    expect(parsed.success).toBe(false);
  });

  it("every way of writing 👍 that the old rule let through is refused or is 👍 itself: one reaction per emoji per person", () => {
    const lookalikes = [
      "👍",
      ...Array.from({ length: 15 }, (_, i) => "👍" + VS16.repeat(i + 1)),
      "👍" + tags("a") + CANCEL_TAG,
      "👍" + tags("ssn=123-45-6789") + CANCEL_TAG,
      "👍" + ZWJ + "👍",
      "👍" + ZWJ + "👍" + ZWJ + "👍",
      "👍\u{E0020}",
      "👍" + VS16 + ZWJ + VS16,
    ];
    expect(new Set(lookalikes.map((e) => normalizeEmoji(e)).filter((e) => e !== null))).toEqual(new Set(["👍"]));
  });

  it("accepts every emoji the picker offers, skin tones included, as its fully-qualified form: exactly Emojibase's set, no more", () => {
    const offered = data.filter((e) => e.group !== undefined && e.group !== 2).flatMap((e) => [e.unicode, ...(e.skins ?? []).map((s) => s.unicode)]);
    expect(offered.length).toBeGreaterThan(3900);
    // Emojibase writes a VS16 after 152 emoji-by-default characters (👍️, ⌚️): UTS #51's fully-qualified form has none.
    const qualified = (emoji: string) => emoji.replace(/(\p{Emoji_Presentation})\uFE0F/gu, "$1");
    expect(offered.filter((emoji) => normalizeEmoji(emoji) !== qualified(emoji))).toEqual([]);
    expect(offered.filter((emoji) => normalizeEmoji(qualified(emoji)) !== qualified(emoji))).toEqual([]);
    // The table is Emojibase's set: an upgrade of emojibase-data that adds emoji fails here until
    // `npx tsx scripts/rgi-emoji.ts` regenerates src/shared/protocol/rgi-emoji.ts.
    expect([...rgiEmoji()].sort()).toEqual([...new Set(offered.map(qualified))].sort());
    expect(rgiEmoji().size).toBe(offered.length);
  });

  it("one emoji, one reaction: no two of its accepted spellings give different forms, none takes a lone VS16 twice", () => {
    for (const emoji of rgiEmoji()) {
      expect(normalizeEmoji(emoji + VS16 + VS16), emoji).toBeNull();
      expect(normalizeEmoji(emoji.replace(/\uFE0F/g, "")), emoji).toBe(emoji);
    }
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

  it("changes nothing for an event whose emoji was blanked (a deleted message's, replayed by resume)", () => {
    const one = withReaction([], "👍", "ada", true);
    expect(withReaction(one, "", "bob", true)).toBe(one);
    expect(withReaction(one, "", "ada", false)).toBe(one);
    expect(withReaction([], "", "ada", true)).toEqual([]);
  });
});
