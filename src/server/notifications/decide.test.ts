import { describe, expect, it } from "vitest";
import { MUTED_FOREVER } from "@shared/protocol/notifications.js";
import { decide, type MemberFacts, type MessageFacts } from "./decide.js";

const NOW = Date.parse("2026-12-07T09:00:00.000Z");
const past = "2026-12-07T08:59:59.000Z";
const future = "2026-12-07T09:30:00.000Z";

const msg = (over: Partial<MessageFacts> = {}): MessageFacts => ({ authorId: "alice", roomKind: "public", mentions: undefined, threadOnly: false, ...over });
const bob = (over: Partial<MemberFacts> = {}): MemberFacts => ({
  userId: "bob",
  notifyLevel: null,
  mutedUntil: null,
  roomLevel: null,
  directLevel: null,
  dndUntil: null,
  connected: false,
  ...over,
});
const mentioning = (userIds: string[], room = false, here = false) => ({ userIds, room, here });

describe("decide", () => {
  it("defaults: a room message notifies nobody, a mention and every direct message do", () => {
    expect(decide(msg(), bob(), NOW)).toBeNull();
    expect(decide(msg({ roomKind: "private" }), bob(), NOW)).toBeNull();
    expect(decide(msg({ mentions: mentioning(["bob"]) }), bob(), NOW)).toBe("mention");
    expect(decide(msg({ mentions: mentioning(["carol"]) }), bob(), NOW)).toBeNull();
    expect(decide(msg({ roomKind: "direct" }), bob(), NOW)).toBe("direct");
  });

  it("the author is never notified, whatever the level or mention", () => {
    const own = msg({ authorId: "bob", mentions: mentioning(["bob"], true, true) });
    expect(decide(own, bob({ notifyLevel: "all", connected: true }), NOW)).toBeNull();
    expect(decide(msg({ authorId: "bob", roomKind: "direct" }), bob(), NOW)).toBeNull();
  });

  it("each level of a room: all, mentions, nothing; a room's level beats the account's default", () => {
    expect(decide(msg(), bob({ notifyLevel: "all" }), NOW)).toBe("message");
    expect(decide(msg(), bob({ notifyLevel: "mentions" }), NOW)).toBeNull();
    expect(decide(msg({ mentions: mentioning(["bob"]) }), bob({ notifyLevel: "nothing" }), NOW)).toBeNull();
    expect(decide(msg({ mentions: mentioning([], true) }), bob({ notifyLevel: "nothing" }), NOW)).toBeNull();
    // Account default all: every room message; a room set to mentions overrides it.
    expect(decide(msg(), bob({ roomLevel: "all" }), NOW)).toBe("message");
    expect(decide(msg(), bob({ roomLevel: "all", notifyLevel: "mentions" }), NOW)).toBeNull();
    expect(decide(msg({ mentions: mentioning(["bob"]) }), bob({ roomLevel: "nothing" }), NOW)).toBeNull();
  });

  it("direct rooms: default all; `mentions` still notifies every message; nothing silences", () => {
    expect(decide(msg({ roomKind: "direct" }), bob({ notifyLevel: "mentions" }), NOW)).toBe("direct");
    expect(decide(msg({ roomKind: "direct" }), bob({ directLevel: "mentions" }), NOW)).toBe("direct");
    expect(decide(msg({ roomKind: "direct" }), bob({ directLevel: "nothing" }), NOW)).toBeNull();
    expect(decide(msg({ roomKind: "direct" }), bob({ directLevel: "nothing", notifyLevel: "all" }), NOW)).toBe("direct");
    // The account's room default does not apply to direct rooms, nor the direct default to rooms.
    expect(decide(msg({ roomKind: "direct" }), bob({ roomLevel: "nothing" }), NOW)).toBe("direct");
    expect(decide(msg(), bob({ directLevel: "all" }), NOW)).toBeNull();
  });

  it("@room notifies every member at all or mentions; @here only the connected ones", () => {
    expect(decide(msg({ mentions: mentioning([], true) }), bob(), NOW)).toBe("room");
    expect(decide(msg({ mentions: mentioning([], false, true) }), bob({ connected: false }), NOW)).toBeNull();
    expect(decide(msg({ mentions: mentioning([], false, true) }), bob({ connected: true }), NOW)).toBe("room");
    // At level all, @here of an offline member is still a message.
    expect(decide(msg({ mentions: mentioning([], false, true) }), bob({ notifyLevel: "all" }), NOW)).toBe("message");
    // A mention of me is the stronger reason.
    expect(decide(msg({ mentions: mentioning(["bob"], true) }), bob(), NOW)).toBe("mention");
  });

  it("mute: for a while (ahead) silences; expired reads as unmuted; forever silences", () => {
    const direct = msg({ roomKind: "direct", mentions: mentioning(["bob"]) });
    expect(decide(direct, bob({ mutedUntil: future }), NOW)).toBeNull();
    expect(decide(direct, bob({ mutedUntil: MUTED_FOREVER }), NOW)).toBeNull();
    expect(decide(direct, bob({ mutedUntil: past }), NOW)).toBe("direct");
    expect(decide(msg({ mentions: mentioning(["bob"], true) }), bob({ mutedUntil: future }), NOW)).toBeNull();
  });

  it("do not disturb silences everything until its end, then reads as off", () => {
    const direct = msg({ roomKind: "direct" });
    expect(decide(direct, bob({ dndUntil: future }), NOW)).toBeNull();
    expect(decide(msg({ mentions: mentioning(["bob"]) }), bob({ dndUntil: future, notifyLevel: "all" }), NOW)).toBeNull();
    expect(decide(direct, bob({ dndUntil: past }), NOW)).toBe("direct");
    // Exactly at the end: over.
    expect(decide(direct, bob({ dndUntil: new Date(NOW).toISOString() }), NOW)).toBe("direct");
  });

  it("a reply kept in its thread: level all alone does not notify; a mention or a direct room does", () => {
    expect(decide(msg({ threadOnly: true }), bob({ notifyLevel: "all" }), NOW)).toBeNull();
    expect(decide(msg({ threadOnly: true, mentions: mentioning(["bob"]) }), bob(), NOW)).toBe("mention");
    expect(decide(msg({ threadOnly: true, roomKind: "direct" }), bob(), NOW)).toBe("direct");
  });
});
