import { describe, expect, it } from "vitest";
import type { Mentions, Message, Room, RoomEvent, Self } from "@shared/protocol/index.js";
import { INITIAL_CHAT_STATE, chatReducer, type ChatAction, type ChatState } from "./chatReducer";
import { countsAsMention, withSettingsFrom } from "./rooms";

/** The client's mention count: bumped live by a message that mentions me, reset by reading. */

const me: Self = { id: "me", username: "me", displayName: "Me", createdAt: "2025-01-01T00:00:00Z", email: "me@x.io" };
const NONE: Mentions = { userIds: [], room: false, here: false };

function room(id: string, lastSeq: number, overrides: Partial<Room> = {}): Room {
  return {
    id, kind: "public", name: id, topic: "", createdAt: "2025-01-01T00:00:00Z", lastSeq, lastActivityAt: "2025-01-01T00:00:00Z",
    memberCount: 2, role: "member", peer: null, lastMessage: null, lastReadSeq: lastSeq, unreadCount: 0, mentionCount: 0, ...overrides,
  };
}

function message(roomId: string, seq: number, mentions: Mentions | undefined, authorId = "them", body = `message ${seq}`): Message {
  return {
    id: `${roomId}-${seq}`, roomId, seq, author: { id: authorId, username: authorId, displayName: authorId }, body, clientId: null,
    createdAt: new Date(Date.UTC(2025, 0, 2, 0, seq)).toISOString(), editedAt: null, deletedAt: null,
    ...(mentions ? { mentions } : {}),
  };
}

const created = (m: Message): ChatAction => ({ type: "room.event", event: { type: "message.created", roomId: m.roomId, seq: m.seq, message: m } });
const run = (state: ChatState, ...actions: ChatAction[]): ChatState => actions.reduce(chatReducer, state);
const signedIn = (...rooms: Room[]): ChatState => run(INITIAL_CHAT_STATE, { type: "session.started", me }, { type: "rooms.loaded", rooms });
const mentionCount = (state: ChatState, id: string): number | undefined => state.rooms[id]?.room.mentionCount;

describe("countsAsMention", () => {
  it("counts @me and @room by others, not @here, not my own, not a deleted message", () => {
    expect(countsAsMention(message("r", 1, { ...NONE, userIds: ["me"] }), "me")).toBe(true);
    expect(countsAsMention(message("r", 1, { ...NONE, room: true }), "me")).toBe(true);
    expect(countsAsMention(message("r", 1, { ...NONE, here: true }), "me")).toBe(false);
    expect(countsAsMention(message("r", 1, { ...NONE, userIds: ["bob"] }), "me")).toBe(false);
    expect(countsAsMention(message("r", 1, undefined), "me")).toBe(false);
    expect(countsAsMention(message("r", 1, { ...NONE, userIds: ["me"] }, "me"), "me")).toBe(false);
    expect(countsAsMention({ ...message("r", 1, { ...NONE, userIds: ["me"] }), deletedAt: "2025-01-03T00:00:00Z" }, "me")).toBe(false);
  });
});

describe("chatReducer: mention counts", () => {
  it("a new message that mentions me bumps the count once per seq; others do not", () => {
    let state = signedIn(room("r1", 3), room("r2", 0));
    state = run(state, { type: "room.activated", roomId: "r2" });
    const mention = message("r1", 4, { ...NONE, userIds: ["me"] });
    state = run(state, created(mention), created(mention), created(message("r1", 5, undefined)), created(message("r1", 6, { ...NONE, userIds: ["bob"] })));
    expect(mentionCount(state, "r1")).toBe(1);
    expect(state.rooms.r1?.room.unreadCount).toBe(3);
    state = run(state, created(message("r1", 7, { ...NONE, room: true })));
    expect(mentionCount(state, "r1")).toBe(2);
  });

  it("does not count a mention in the room I am looking at", () => {
    let state = signedIn(room("r1", 3));
    state = run(state, { type: "room.activated", roomId: "r1" }, created(message("r1", 4, { ...NONE, userIds: ["me"] })));
    expect(mentionCount(state, "r1")).toBe(0);
  });

  it("reading resets it (read moved to the end)", () => {
    let state = signedIn(room("r1", 3));
    state = run(state, created(message("r1", 4, { ...NONE, userIds: ["me"] })), created(message("r1", 5, { ...NONE, userIds: ["me"] })));
    expect(mentionCount(state, "r1")).toBe(2);
    state = run(state, { type: "room.readMoved", roomId: "r1", lastReadSeq: 5 });
    expect(mentionCount(state, "r1")).toBe(0);
  });

  it("counts exactly from the timeline when reading part way, and follows an edit that adds or removes the mention", () => {
    let state = signedIn(room("r1", 3));
    state = run(state, { type: "history.loaded", roomId: "r1", page: "latest", messages: [message("r1", 3, undefined)], hasMore: false });
    const a = message("r1", 4, { ...NONE, userIds: ["me"] });
    const b = message("r1", 5, undefined);
    state = run(state, created(a), created(b));
    expect(mentionCount(state, "r1")).toBe(1);
    // b is edited to mention me.
    const bEdited: Message = { ...message("r1", 5, { ...NONE, userIds: ["me"] }), editedAt: "2025-01-03T00:00:00Z" };
    state = run(state, { type: "room.event", event: { type: "message.edited", roomId: "r1", seq: 6, message: bEdited } satisfies RoomEvent });
    expect(mentionCount(state, "r1")).toBe(2);
    // a is edited not to.
    const aEdited: Message = { ...message("r1", 4, undefined, "them", "no more"), editedAt: "2025-01-03T00:01:00Z" };
    state = run(state, { type: "room.event", event: { type: "message.edited", roomId: "r1", seq: 7, message: aEdited } });
    expect(mentionCount(state, "r1")).toBe(1);
    // Read up to a: b still mentions me.
    state = run(state, { type: "room.readMoved", roomId: "r1", lastReadSeq: 4 });
    expect(mentionCount(state, "r1")).toBe(1);
  });

  it("a fresh HTTP copy replaces the count only when it has read further", () => {
    const held = room("r1", 5, { lastReadSeq: 3, mentionCount: 2 });
    expect(withSettingsFrom(held, room("r1", 5, { lastReadSeq: 3, mentionCount: 7 })).mentionCount).toBe(2);
    expect(withSettingsFrom(held, room("r1", 5, { lastReadSeq: 5, mentionCount: 0 })).mentionCount).toBe(0);
  });
});
