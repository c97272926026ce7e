import { describe, expect, it } from "vitest";
import { mentionParts } from "./mentionText";

const NONE = { userIds: [], room: false, here: false };

describe("mentionParts", () => {
  it("marks my @username (any case), keeping trailing punctuation as text", () => {
    expect(mentionParts("hi @Bob.", "bob", { ...NONE, userIds: ["b"] })).toEqual([
      { kind: "text", text: "hi " },
      { kind: "mention", text: "@Bob" },
      { kind: "text", text: "." },
    ]);
  });

  it("leaves others' names, emails and unflagged @room as text", () => {
    expect(mentionParts("@carol bob@x.io @room", "bob", NONE)).toEqual([{ kind: "text", text: "@carol bob@x.io @room" }]);
    expect(mentionParts("@room now", "bob", { ...NONE, room: true })).toEqual([
      { kind: "mention", text: "@room" },
      { kind: "text", text: " now" },
    ]);
  });

  it("is one text part without mentions", () => {
    expect(mentionParts("@bob", "bob", undefined)).toEqual([{ kind: "text", text: "@bob" }]);
  });
});
