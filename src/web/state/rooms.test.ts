import { describe, expect, it } from "vitest";
import type { Message, Room } from "@shared/protocol/index.js";
import { byRecentActivity, previewOf, roomTitle, withMessage } from "./rooms";

function room(overrides: Partial<Room> = {}): Room {
  return {
    id: "r1",
    kind: "public",
    name: "general",
    topic: "",
    createdAt: "2025-01-01T00:00:00Z",
    lastSeq: 0,
    lastActivityAt: "2025-01-01T00:00:00Z",
    memberCount: 2,
    role: "member",
    peer: null,
    lastMessage: null,
    lastReadSeq: 0,
    unreadCount: 0,
    ...overrides,
  };
}

function message(seq: number, authorId: string, body: string): Message {
  return {
    id: `m${seq}`,
    roomId: "r1",
    seq,
    author: { id: authorId, username: authorId, displayName: authorId === "me" ? "Me" : "Bo" },
    body,
    clientId: null,
    createdAt: `2025-01-02T00:00:0${seq}Z`,
  };
}

describe("room list rules", () => {
  it("orders by latest activity, newest first, then by name", () => {
    const rooms = [
      room({ id: "a", name: "b-room", lastActivityAt: "2025-01-01T00:00:00Z" }),
      room({ id: "b", name: "a-room", lastActivityAt: "2025-01-01T00:00:00Z" }),
      room({ id: "c", name: "z-room", lastActivityAt: "2025-03-01T00:00:00Z" }),
    ];
    expect(rooms.sort(byRecentActivity).map((r) => r.id)).toEqual(["c", "b", "a"]);
  });

  it("previews the last message on one line, naming the author", () => {
    const r = room({ lastMessage: message(1, "bo", "hello\n  there") });
    expect(previewOf(r, "me")).toBe("Bo: hello there");
    expect(previewOf(room({ lastMessage: message(1, "me", "hi") }), "me")).toBe("You: hi");
    expect(previewOf(room({ kind: "direct", lastMessage: message(1, "bo", "psst") }), "me")).toBe("psst");
    expect(previewOf(room({ topic: "All hands" }), "me")).toBe("All hands");
  });

  it("keeps the newest message as preview even if an older one arrives late", () => {
    let r = withMessage(room(), message(3, "bo", "newer"), true);
    r = withMessage(r, message(2, "bo", "older"), true);
    expect(r.lastMessage?.body).toBe("newer");
    expect(r.lastSeq).toBe(3);
    expect(r.unreadCount).toBe(2);
  });

  it("titles a direct room after the other person", () => {
    const peer = { id: "u2", username: "bo", displayName: "Bo Peep", createdAt: "" };
    expect(roomTitle(room({ kind: "direct", name: "x", peer }))).toBe("Bo Peep");
  });
});
