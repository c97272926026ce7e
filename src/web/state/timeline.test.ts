import { describe, expect, it } from "vitest";
import type { Message } from "@shared/protocol/index.js";
import { countUnread, mergeMessages } from "./timeline";

function message(seq: number, authorId = "u1", body = `m${seq}`): Message {
  return {
    id: `id${seq}`,
    roomId: "r1",
    seq,
    author: { id: authorId, username: authorId, displayName: authorId },
    body,
    clientId: null,
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, seq)).toISOString(),
  };
}

describe("mergeMessages", () => {
  it("appends a live message newer than everything held", () => {
    const merged = mergeMessages([message(1), message(2)], [message(3)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it("prepends an older page and keeps ascending order", () => {
    const merged = mergeMessages([message(5), message(6)], [message(2), message(3), message(4)]);
    expect(merged.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6]);
  });

  it("never holds a seq twice when a page overlaps live messages", () => {
    const merged = mergeMessages([message(9), message(10)], [message(8), message(9), message(10)]);
    expect(merged.map((m) => m.seq)).toEqual([8, 9, 10]);
  });

  it("returns the same list when nothing is new, so renders can be skipped", () => {
    const held = [message(1), message(2)];
    expect(mergeMessages(held, [message(2)])).toBe(held);
    expect(mergeMessages(held, [])).toBe(held);
  });

  it("slots an out-of-order message into place (seq gaps come from member events)", () => {
    const merged = mergeMessages([message(1), message(4)], [message(3)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 3, 4]);
  });
});

describe("countUnread", () => {
  it("counts only others' messages after the read position", () => {
    const messages = [message(1, "me"), message(2, "them"), message(3, "them"), message(4, "me")];
    expect(countUnread(messages, 1, "me")).toBe(2);
    expect(countUnread(messages, 2, "me")).toBe(1);
    expect(countUnread(messages, 4, "me")).toBe(0);
  });
});
