import { describe, expect, it } from "vitest";
import { incomingSentence } from "./announcer";

describe("what the announcer says about incoming messages", () => {
  it("says one message as 'author: text'", () => {
    expect(incomingSentence([{ authorName: "Bob", body: "Lunch at noon?" }])).toBe("Bob: Lunch at noon?");
  });

  it("says a burst as a count and the last message, not the whole history", () => {
    const burst = Array.from({ length: 12 }, (_, i) => ({ authorName: "Bob", body: `m${i + 1}` }));
    expect(incomingSentence(burst)).toBe("12 new messages. Bob: m12");
  });

  it("cuts a long text, by characters (an emoji is not split)", () => {
    const said = incomingSentence([{ authorName: "Bob", body: "😀".repeat(5) }], 3);
    expect(said).toBe("Bob: 😀😀😀…");
    expect(incomingSentence([])).toBe("");
  });
});
