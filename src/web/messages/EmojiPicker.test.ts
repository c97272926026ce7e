import { describe, expect, it } from "vitest";
import data from "emojibase-data/en/compact.json";
import { normalizeEmoji } from "@shared/protocol/index.js";
import { toPickerEmoji } from "./EmojiPicker";

describe("the picker's emoji", () => {
  it("are the server's fully-qualified forms (👍, not Emojibase's 👍️), so a pick matches the chip of its reaction", () => {
    const offered = toPickerEmoji(data, {});
    expect(offered.length).toBeGreaterThan(1800);
    expect(offered.filter((e) => normalizeEmoji(e.emoji) !== e.emoji).map((e) => e.emoji)).toEqual([]);
    expect(offered.find((e) => e.label === "thumbs up")?.emoji).toBe("👍");
    expect(offered.find((e) => e.label === "red heart")?.emoji).toBe("❤️");
  });
});
