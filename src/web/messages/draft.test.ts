import { describe, expect, it } from "vitest";
import { MAX_BODY_CHARS, MessageBodySchema } from "@shared/protocol/index.js";
import { COUNTER_FROM_CHARS, checkDraft, draftCounter } from "./draft";

describe("checkDraft", () => {
  it("refuses an empty or blank draft", () => {
    expect(checkDraft("")).toMatchObject({ ok: false, reason: "empty" });
    expect(checkDraft("  \n\t ")).toMatchObject({ ok: false, reason: "empty" });
  });

  it("accepts exactly the limit after trimming and sends the trimmed body", () => {
    const text = `  ${"a".repeat(MAX_BODY_CHARS)}\n`;
    expect(checkDraft(text)).toEqual({ ok: true, body: "a".repeat(MAX_BODY_CHARS) });
  });

  it("refuses one character over the limit and says by how much", () => {
    const result = checkDraft("a".repeat(MAX_BODY_CHARS + 1));
    expect(result).toMatchObject({ ok: false, reason: "too_long" });
    if (!result.ok) expect(result.message).toContain("1 over");
  });

  it("agrees with the server's schema on the boundaries", () => {
    for (const text of ["", " ", "x", " x ", "a".repeat(MAX_BODY_CHARS), "a".repeat(MAX_BODY_CHARS + 1)]) {
      expect(checkDraft(text).ok).toBe(MessageBodySchema.safeParse(text).success);
    }
  });

  it("refuses a draft of only invisible characters, and bidi overrides, with the server's words", () => {
    expect(checkDraft("\u200b\u200d ")).toEqual({ ok: false, reason: "invalid", message: "Message has no visible character." });
    expect(checkDraft("see \u202egpj.exe")).toMatchObject({ ok: false, reason: "invalid" });
    for (const text of ["\u200b", "a\u0000", "\u202e", "\u{1F469}\u200d\u{1F4BB}", "e\u0301"]) {
      expect(checkDraft(text).ok).toBe(MessageBodySchema.safeParse(text).success);
    }
  });

  it("sends the NFC form", () => {
    expect(checkDraft("e\u0301")).toEqual({ ok: true, body: "\u00e9" });
  });

  it("keeps inner newlines (Shift+Enter) in the body", () => {
    expect(checkDraft("line 1\nline 2")).toEqual({ ok: true, body: "line 1\nline 2" });
  });
});

describe("draftCounter", () => {
  it("stays hidden far from the limit and shows near and over it", () => {
    expect(draftCounter("hello")).toBeNull();
    expect(draftCounter("a".repeat(COUNTER_FROM_CHARS))).toEqual({ used: COUNTER_FROM_CHARS, limit: MAX_BODY_CHARS, over: false });
    expect(draftCounter("a".repeat(MAX_BODY_CHARS + 2))).toMatchObject({ over: true });
  });
});
