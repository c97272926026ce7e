import { describe, expect, it } from "vitest";
import type { Message, Room, RoomEvent } from "@shared/protocol/index.js";
import { INITIAL_CHAT_STATE, chatReducer, resumeCursor, type ChatAction, type ChatState } from "./chatReducer";
import { me, room } from "./testFixtures";

function message(roomId: string, seq: number, authorId = "them", clientId: string | null = null): Message {
  return {
    id: `${roomId}-${seq}`,
    roomId,
    seq,
    author: { id: authorId, username: authorId, displayName: authorId },
    body: `message ${seq}`,
    clientId,
    createdAt: new Date(Date.UTC(2025, 0, 2, 0, seq)).toISOString(),
  };
}

function created(roomId: string, seq: number, authorId = "them", clientId: string | null = null): RoomEvent {
  return { type: "message.created", roomId, seq, message: message(roomId, seq, authorId, clientId) };
}

function run(state: ChatState, ...actions: ChatAction[]): ChatState {
  return actions.reduce(chatReducer, state);
}

function signedIn(...rooms: Room[]): ChatState {
  return run(INITIAL_CHAT_STATE, { type: "session.started", me }, { type: "rooms.loaded", rooms });
}

describe("chatReducer: room events", () => {
  it("updates preview, activity and unread count once per seq", () => {
    let state = signedIn(room("r1", 3));
    const event = created("r1", 4);
    state = run(state, { type: "room.event", event }, { type: "room.event", event });
    const r1 = state.rooms.r1!.room;
    expect(r1.unreadCount).toBe(1);
    expect(r1.lastMessage?.seq).toBe(4);
    expect(r1.lastSeq).toBe(4);
    expect(r1.lastActivityAt).toBe(event.type === "message.created" ? event.message.createdAt : "");
  });

  it("ignores events at or below the seq the room list already covers", () => {
    const state = signedIn(room("r1", 5));
    const after = run(state, { type: "room.event", event: created("r1", 5) }, { type: "room.event", event: created("r1", 2) });
    expect(after).toBe(state);
  });

  it("applies a replay that arrives after a newer live event (reconnect race)", () => {
    let state = signedIn(room("r1", 5));
    state = run(state, { type: "history.loading", roomId: "r1", page: "latest" });
    state = run(
      state,
      { type: "room.event", event: created("r1", 8) },
      { type: "room.event", event: created("r1", 6) },
      { type: "room.event", event: created("r1", 7) },
      { type: "room.event", event: created("r1", 8) },
    );
    expect(state.timelines.r1!.messages.map((m) => m.seq)).toEqual([6, 7, 8]);
    expect(state.rooms.r1!.room.unreadCount).toBe(3);
    expect(resumeCursor(state)).toEqual({ r1: 8 });
  });

  it("does not count my own messages, nor messages in the open visible room, as unread", () => {
    let state = signedIn(room("r1", 0), room("r2", 0));
    state = run(
      state,
      { type: "room.event", event: created("r1", 1, "me") },
      { type: "room.activated", roomId: "r2" },
      { type: "room.event", event: created("r2", 1) },
      { type: "page.visibility", visible: false },
      { type: "room.event", event: created("r2", 2) },
    );
    expect(state.rooms.r1!.room.unreadCount).toBe(0);
    expect(state.rooms.r1!.room.lastReadSeq).toBe(1);
    expect(state.rooms.r2!.room.unreadCount).toBe(1);
  });

  it("keeps events for a room not tracked yet and replays those newer than its HTTP copy", () => {
    let state = signedIn();
    state = run(state, { type: "room.event", event: created("r9", 1) }, { type: "room.event", event: created("r9", 2) });
    expect(state.rooms.r9).toBeUndefined();
    state = run(state, { type: "room.upserted", room: room("r9", 1, { lastReadSeq: 0, unreadCount: 1, lastMessage: message("r9", 1) }) });
    expect(state.rooms.r9!.room.lastMessage?.seq).toBe(2);
    expect(state.rooms.r9!.room.unreadCount).toBe(2);
    expect(state.orphans.r9).toBeUndefined();
  });

  it("tracks member counts and drops the room when I am the one who left", () => {
    let state = signedIn(room("r1", 1));
    state = run(state, {
      type: "room.event",
      event: {
        type: "member.joined",
        roomId: "r1",
        seq: 2,
        member: { user: { id: "bo", username: "bo", displayName: "Bo", createdAt: "" }, role: "member", joinedAt: "2025-02-01T00:00:00Z" },
      },
    });
    expect(state.rooms.r1!.room.memberCount).toBe(3);
    expect(state.rooms.r1!.room.lastActivityAt).toBe("2025-02-01T00:00:00Z");
    state = run(state, { type: "room.activated", roomId: "r1" }, { type: "room.event", event: { type: "member.left", roomId: "r1", seq: 3, userId: "me" } });
    expect(state.rooms.r1).toBeUndefined();
    expect(state.activeRoomId).toBeNull();
  });
});

describe("chatReducer: room list", () => {
  it("refreshing a known room changes its settings but not what events maintain", () => {
    let state = signedIn(room("r1", 1));
    state = run(state, { type: "room.event", event: created("r1", 2) });
    // An HTTP copy taken before seq 2 was stored.
    state = run(state, { type: "room.upserted", room: room("r1", 1, { name: "renamed", topic: "new topic", memberCount: 7 }) });
    const r1 = state.rooms.r1!;
    expect(r1.room).toMatchObject({ name: "renamed", topic: "new topic", memberCount: 7, unreadCount: 1 });
    expect(r1.room.lastMessage?.seq).toBe(2);
    expect(r1.cursor.floor).toBe(2);
  });

  it("a full reload drops rooms I no longer belong to", () => {
    let state = signedIn(room("r1", 1), room("r2", 1));
    state = run(state, { type: "room.activated", roomId: "r2" }, { type: "rooms.loaded", rooms: [room("r1", 1)] });
    expect(Object.keys(state.rooms)).toEqual(["r1"]);
    expect(state.activeRoomId).toBeNull();
  });

  it("resume acks move the cursor past events the client could not read", () => {
    let state = signedIn(room("r1", 1));
    state = run(state, { type: "room.event", event: created("r1", 3) }, { type: "rooms.resumed", rooms: { r1: 2 } });
    expect(state.rooms.r1!.cursor).toEqual({ floor: 3, above: [] });
  });
});

describe("chatReducer: timelines and reads", () => {
  it("merges the latest page with live messages that arrived while it loaded", () => {
    let state = signedIn(room("r1", 10));
    state = run(
      state,
      { type: "history.loading", roomId: "r1", page: "latest" },
      { type: "room.event", event: created("r1", 11) },
      { type: "history.loaded", roomId: "r1", page: "latest", messages: [message("r1", 9), message("r1", 10)], hasMore: true },
    );
    const timeline = state.timelines.r1!;
    expect(timeline.messages.map((m) => m.seq)).toEqual([9, 10, 11]);
    expect(timeline).toMatchObject({ loaded: true, hasOlder: true, loading: null });

    state = run(state, { type: "history.loaded", roomId: "r1", page: "older", messages: [message("r1", 7), message("r1", 8)], hasMore: false });
    expect(state.timelines.r1!.messages.map((m) => m.seq)).toEqual([7, 8, 9, 10, 11]);
    expect(state.timelines.r1!.hasOlder).toBe(false);
  });

  it("shows my acked message at once and keeps one copy when its event follows", () => {
    let state = signedIn(room("r1", 1));
    state = run(state, { type: "history.loaded", roomId: "r1", page: "latest", messages: [], hasMore: false });
    const mine = message("r1", 2, "me", "c-1");
    state = run(state, { type: "message.acked", message: mine }, { type: "room.event", event: { type: "message.created", roomId: "r1", seq: 2, message: mine } });
    expect(state.timelines.r1!.messages.map((m) => m.clientId)).toEqual(["c-1"]);
  });

  it("a read elsewhere recounts unread from the timeline", () => {
    let state = signedIn(room("r1", 0, { lastReadSeq: 0 }));
    state = run(
      state,
      { type: "history.loaded", roomId: "r1", page: "latest", messages: [], hasMore: false },
      { type: "room.event", event: created("r1", 1) },
      { type: "room.event", event: created("r1", 2) },
      { type: "room.event", event: created("r1", 3) },
    );
    expect(state.rooms.r1!.room.unreadCount).toBe(3);
    state = run(state, { type: "room.readMoved", roomId: "r1", lastReadSeq: 2 });
    expect(state.rooms.r1!.room.unreadCount).toBe(1);
    state = run(state, { type: "room.readMoved", roomId: "r1", lastReadSeq: 3 });
    expect(state.rooms.r1!.room.unreadCount).toBe(0);
  });
});

describe("chatReducer: the window around a message (search, issue 18)", () => {
  const seqs = (state: ChatState) => state.timelines.r1!.messages.map((m) => m.seq);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => message("r1", from + i));

  function latest(): ChatState {
    return run(signedIn(room("r1", 100)), { type: "history.loaded", roomId: "r1", page: "latest", messages: range(91, 100), hasMore: true });
  }

  it("replaces the window with a page around a message far back, detached from the present", () => {
    const state = run(latest(), { type: "history.loaded", roomId: "r1", page: "around", messages: range(20, 29), hasMore: true, hasMoreAfter: true });
    expect(seqs(state)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    expect(state.timelines.r1).toMatchObject({ hasOlder: true, hasNewer: true, loading: null });
  });

  it("merges a page around a message that overlaps the window held (one window still)", () => {
    const state = run(latest(), { type: "history.loaded", roomId: "r1", page: "around", messages: range(86, 95), hasMore: true, hasMoreAfter: true });
    expect(seqs(state)).toEqual([86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    expect(state.timelines.r1!.hasNewer).toBe(false);
  });

  it("takes no live message while detached, then newer pages attach it again", () => {
    let state = run(latest(), { type: "history.loaded", roomId: "r1", page: "around", messages: range(20, 29), hasMore: true, hasMoreAfter: true });
    state = run(state, { type: "room.event", event: created("r1", 101) });
    expect(seqs(state).at(-1)).toBe(29); // no gap between 29 and 101
    expect(state.rooms.r1!.room.lastMessage?.seq).toBe(101); // the list's preview still moves
    state = run(state, { type: "history.loaded", roomId: "r1", page: "newer", messages: range(30, 39), hasMore: true });
    expect(state.timelines.r1!.hasNewer).toBe(true);
    state = run(state, { type: "history.loaded", roomId: "r1", page: "newer", messages: range(40, 101), hasMore: false });
    expect(state.timelines.r1!.hasNewer).toBe(false);
    expect(seqs(state)).toEqual(range(20, 101).map((m) => m.seq));
    state = run(state, { type: "room.event", event: created("r1", 102) });
    expect(seqs(state).at(-1)).toBe(102);
  });

  it("jumping to the present replaces a detached window with the newest page", () => {
    let state = run(latest(), { type: "history.loaded", roomId: "r1", page: "around", messages: range(20, 29), hasMore: true, hasMoreAfter: true });
    state = run(state, { type: "history.loaded", roomId: "r1", page: "latest", messages: range(95, 100), hasMore: true });
    expect(seqs(state)).toEqual([95, 96, 97, 98, 99, 100]);
    expect(state.timelines.r1).toMatchObject({ hasOlder: true, hasNewer: false });
  });

  it("drops a page asked for a window since replaced (it would leave a gap or detach the new window)", () => {
    let state = run(latest(), { type: "history.loaded", roomId: "r1", page: "around", messages: range(20, 29), hasMore: true, hasMoreAfter: true });
    const asked = state.timelines.r1!.window;
    // Scrolling down asked the next page; meanwhile "Jump to latest" replaced the window.
    state = run(
      state,
      { type: "history.loading", roomId: "r1", page: "newer" },
      { type: "history.loading", roomId: "r1", page: "latest" },
      { type: "history.loaded", roomId: "r1", page: "latest", messages: range(91, 100), hasMore: true },
      { type: "history.loaded", roomId: "r1", page: "newer", messages: range(30, 39), hasMore: true, window: asked },
    );
    expect(seqs(state)).toEqual(range(91, 100).map((m) => m.seq));
    expect(state.timelines.r1).toMatchObject({ hasNewer: false, loading: null });
  });

  it("a page around a recent message that reaches the present keeps the live messages after it", () => {
    let state = run(latest(), { type: "room.event", event: created("r1", 101) });
    state = run(state, { type: "history.loaded", roomId: "r1", page: "around", messages: range(50, 100), hasMore: true, hasMoreAfter: false });
    expect(seqs(state).at(0)).toBe(50);
    expect(seqs(state).at(-1)).toBe(101);
    expect(state.timelines.r1!.hasNewer).toBe(false);
  });

  it("an edit applied while the page was on its way is not undone by it", () => {
    let state = run(latest(), { type: "history.loaded", roomId: "r1", page: "around", messages: range(20, 29), hasMore: true, hasMoreAfter: true });
    const edited = { ...message("r1", 25), body: "v2", editedAt: "2025-01-03T00:00:00.000Z" };
    state = run(state, { type: "room.event", event: { type: "message.edited", roomId: "r1", seq: 102, message: edited } });
    state = run(state, { type: "history.loaded", roomId: "r1", page: "around", messages: range(22, 31), hasMore: true, hasMoreAfter: true });
    expect(state.timelines.r1!.messages.find((m) => m.seq === 25)?.body).toBe("v2");
  });

  it("does not count unread from a detached window (it does not hold the newest messages)", () => {
    const last = message("r1", 10);
    let state = signedIn(room("r1", 10, { lastReadSeq: 0, unreadCount: 10, lastMessage: last }));
    state = run(
      state,
      { type: "history.loaded", roomId: "r1", page: "latest", messages: range(8, 10), hasMore: true },
      { type: "history.loaded", roomId: "r1", page: "around", messages: range(1, 2), hasMore: false, hasMoreAfter: true },
      { type: "room.readMoved", roomId: "r1", lastReadSeq: 2 },
    );
    expect(state.rooms.r1!.room.unreadCount).toBe(10); // left for the server to correct, not recounted from two messages as 0
  });
});

describe("chatReducer: edits and deletions", () => {
  const edited = (m: Message, seq: number, body: string, at: string): RoomEvent => ({
    type: "message.edited",
    roomId: m.roomId,
    seq,
    message: { ...m, body, editedAt: at, deletedAt: null },
  });
  const deleted = (m: Message, seq: number, at: string, by = "them"): RoomEvent => ({
    type: "message.deleted",
    roomId: m.roomId,
    seq,
    messageId: m.id,
    deletedBy: by,
    message: { ...m, body: "", deletedAt: at },
  });
  /** A room with an open timeline holding messages 2 and 3 (by "them"), read up to 1. */
  function withTimeline(): ChatState {
    const m2 = message("r1", 2);
    const m3 = message("r1", 3);
    return run(
      signedIn(room("r1", 3, { lastReadSeq: 1, unreadCount: 2, lastMessage: m3 })),
      { type: "history.loaded", roomId: "r1", page: "latest", messages: [m2, m3], hasMore: false },
    );
  }

  it("an edit replaces the message in place, by its own seq, once, and updates the preview", () => {
    const m3 = message("r1", 3);
    const event = edited(m3, 4, "new text", "2025-01-03T00:00:00.000Z");
    const state = run(withTimeline(), { type: "room.event", event }, { type: "room.event", event });
    const t = state.timelines.r1!;
    expect(t.messages.map((m) => [m.seq, m.body])).toEqual([[2, "message 2"], [3, "new text"]]);
    expect(t.messages[1]!.editedAt).toBe("2025-01-03T00:00:00.000Z");
    const r1 = state.rooms.r1!;
    expect(r1.room.lastMessage?.body).toBe("new text");
    expect(r1.room.lastSeq).toBe(4);
    expect(r1.cursor.floor).toBe(4);
    // An edit is not a new message: nothing more is unread.
    expect(r1.room.unreadCount).toBe(2);
  });

  it("a deletion leaves a tombstone in place, drops it from the unread count, and blanks the preview", () => {
    const m3 = message("r1", 3);
    const event = deleted(m3, 4, "2025-01-03T00:00:00.000Z");
    const state = run(withTimeline(), { type: "room.event", event }, { type: "room.event", event });
    const t = state.timelines.r1!;
    expect(t.messages).toHaveLength(2);
    expect(t.messages[1]).toMatchObject({ id: m3.id, seq: 3, body: "", deletedAt: "2025-01-03T00:00:00.000Z" });
    expect(state.rooms.r1!.room.lastMessage).toMatchObject({ id: m3.id, body: "" });
    expect(state.rooms.r1!.room.unreadCount).toBe(1);
  });

  it("an older copy (a history page or an answer from before the edit or deletion) does not bring the text back", () => {
    const m3 = message("r1", 3);
    let state = run(withTimeline(), { type: "room.event", event: edited(m3, 4, "v2", "2025-01-03T00:00:00.000Z") });
    state = run(state, { type: "message.acked", message: m3 });
    expect(state.timelines.r1!.messages[1]!.body).toBe("v2");
    state = run(state, { type: "room.event", event: deleted(m3, 5, "2025-01-04T00:00:00.000Z") });
    state = run(
      state,
      { type: "history.loaded", roomId: "r1", page: "latest", messages: [{ ...m3, body: "v2", editedAt: "2025-01-03T00:00:00.000Z" }], hasMore: false },
      { type: "room.event", event: edited(m3, 4, "v2", "2025-01-03T00:00:00.000Z") },
    );
    expect(state.timelines.r1!.messages[1]).toMatchObject({ body: "", deletedAt: "2025-01-04T00:00:00.000Z" });
  });

  it("events for a message outside the timeline only move the cursor (and the preview when it is that message)", () => {
    const old = message("r1", 1);
    const state = run(withTimeline(), { type: "room.event", event: deleted(old, 4, "2025-01-03T00:00:00.000Z") });
    expect(state.timelines.r1!.messages.map((m) => m.seq)).toEqual([2, 3]);
    expect(state.rooms.r1!.cursor.floor).toBe(4);
    expect(state.rooms.r1!.room.lastMessage?.body).toBe("message 3");
    // Read already: the unread count does not move.
    expect(state.rooms.r1!.room.unreadCount).toBe(2);
  });

  it("deleting my own message does not change my unread count", () => {
    const mine = message("r1", 3, "me");
    const state = run(withTimeline(), { type: "room.event", event: deleted(mine, 4, "2025-01-03T00:00:00.000Z", "me") });
    expect(state.rooms.r1!.room.unreadCount).toBe(2);
  });
});

describe("chatReducer: reactions", () => {
  const reacted = (seq: number, messageSeq: number, emoji: string, userId: string, added = true): ChatAction => ({
    type: "room.event",
    event: { type: added ? "reaction.added" : "reaction.removed", roomId: "r1", seq, messageId: `r1-${messageSeq}`, emoji, userId },
  });
  const withPage = (...messages: Message[]): ChatState =>
    run(signedIn(room("r1", 10)), { type: "history.loaded", roomId: "r1", page: "latest", messages, hasMore: false });
  const reactionsOf = (state: ChatState, seq: number) => state.timelines.r1!.messages.find((m) => m.seq === seq)?.reactions;

  it("counts per emoji and who reacted, in order; a new emoji goes last; removing the last reactor drops the emoji", () => {
    let state = withPage({ ...message("r1", 5), reactions: [] });
    state = run(state, reacted(11, 5, "👍", "ada"), reacted(12, 5, "🎉", "me"), reacted(13, 5, "👍", "bob"));
    expect(reactionsOf(state, 5)).toEqual([
      { emoji: "👍", count: 2, userIds: ["ada", "bob"] },
      { emoji: "🎉", count: 1, userIds: ["me"] },
    ]);
    state = run(state, reacted(14, 5, "👍", "ada", false), reacted(15, 5, "🎉", "me", false));
    expect(reactionsOf(state, 5)).toEqual([{ emoji: "👍", count: 1, userIds: ["bob"] }]);
    expect(state.rooms.r1!.room.lastSeq).toBe(15);
    // Reactions are not messages: nothing unread.
    expect(state.rooms.r1!.room.unreadCount).toBe(0);
  });

  it("toggling twice leaves nothing; an event applied twice (a replay) counts once", () => {
    let state = withPage({ ...message("r1", 5), reactions: [] });
    state = run(state, reacted(11, 5, "❤️", "ada"), reacted(11, 5, "❤️", "ada"));
    expect(reactionsOf(state, 5)).toEqual([{ emoji: "❤️", count: 1, userIds: ["ada"] }]);
    state = run(state, reacted(12, 5, "❤️", "ada", false), reacted(12, 5, "❤️", "ada", false));
    expect(reactionsOf(state, 5)).toEqual([]);
  });

  it("a reaction to a live message (no reactions field yet) starts its list", () => {
    let state = run(signedIn(room("r1", 4)), { type: "history.loaded", roomId: "r1", page: "latest", messages: [], hasMore: false });
    state = run(state, { type: "room.event", event: created("r1", 5) }, reacted(6, 5, "😂", "me"));
    expect(reactionsOf(state, 5)).toEqual([{ emoji: "😂", count: 1, userIds: ["me"] }]);
  });

  it("an edit keeps the reactions; a deletion clears them, and a reaction event after it changes nothing", () => {
    let state = withPage({ ...message("r1", 5), reactions: [{ emoji: "👍", count: 1, userIds: ["ada"] }] });
    const edited: Message = { ...message("r1", 5), body: "changed", editedAt: "2025-01-03T00:00:00.000Z" };
    state = run(state, { type: "room.event", event: { type: "message.edited", roomId: "r1", seq: 11, message: edited } });
    expect(state.timelines.r1!.messages[0]!.body).toBe("changed");
    expect(reactionsOf(state, 5)).toEqual([{ emoji: "👍", count: 1, userIds: ["ada"] }]);
    // The edit's HTTP answer (no reactions field) keeps them too.
    state = run(state, { type: "message.acked", message: { ...edited, editedAt: "2025-01-03T00:00:01.000Z" } });
    expect(reactionsOf(state, 5)).toEqual([{ emoji: "👍", count: 1, userIds: ["ada"] }]);

    const tombstone: Message = { ...message("r1", 5), body: "", deletedAt: "2025-01-04T00:00:00.000Z" };
    state = run(state, { type: "room.event", event: { type: "message.deleted", roomId: "r1", seq: 12, messageId: "r1-5", deletedBy: "them", message: tombstone } });
    expect(reactionsOf(state, 5)).toEqual([]);
    const before = state.timelines.r1;
    state = run(state, reacted(13, 5, "🎉", "bob"));
    expect(state.timelines.r1).toBe(before);
  });

  it("a page's copy of a held message does not overwrite the reactions events keep; a message not held takes the page's", () => {
    let state = withPage({ ...message("r1", 5), reactions: [] });
    state = run(state, reacted(11, 5, "👍", "ada"));
    // A page that left the server before that event: its copy has no reactions.
    state = run(state, { type: "history.loaded", roomId: "r1", page: "latest", messages: [{ ...message("r1", 5), reactions: [] }, { ...message("r1", 7), reactions: [{ emoji: "😮", count: 1, userIds: ["bob"] }] }], hasMore: false });
    expect(reactionsOf(state, 5)).toEqual([{ emoji: "👍", count: 1, userIds: ["ada"] }]);
    expect(reactionsOf(state, 7)).toEqual([{ emoji: "😮", count: 1, userIds: ["bob"] }]);
    // A page newer than the cursor, then the replay of what it already holds: the same state (last write wins per emoji and user).
    state = run(state, { type: "history.loaded", roomId: "r1", page: "older", messages: [{ ...message("r1", 3), reactions: [{ emoji: "🎉", count: 1, userIds: ["ada"] }] }], hasMore: false });
    state = run(state, reacted(12, 3, "🎉", "ada"), reacted(13, 3, "🎉", "ada", false), reacted(14, 3, "🎉", "ada"));
    expect(reactionsOf(state, 3)).toEqual([{ emoji: "🎉", count: 1, userIds: ["ada"] }]);
  });

  it("an event about a message outside the timeline only moves the cursor", () => {
    const state = withPage({ ...message("r1", 5), reactions: [] });
    const after = run(state, reacted(11, 2, "👍", "ada"));
    expect(after.timelines.r1).toBe(state.timelines.r1);
    expect(resumeCursor(after)).toEqual({ r1: 11 });
  });
});
