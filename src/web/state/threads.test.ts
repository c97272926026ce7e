import { describe, expect, it } from "vitest";
import type { Message, RoomEvent } from "@shared/protocol/index.js";
import { INITIAL_CHAT_STATE, chatReducer, type ChatAction, type ChatState } from "./chatReducer";
import { inTimeline } from "@shared/protocol/index.js";
import { countReply, markQuotesDeleted, withReplier } from "./threads";
import { me, room } from "./testFixtures";

/** Replies and threads in the reducer: root counters from reply events, once; threads kept live. */

const at = (minute: number) => new Date(Date.UTC(2025, 0, 2, 0, minute)).toISOString();

function msg(seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    roomId: "r1",
    seq,
    author: { id: "them", username: "them", displayName: "Them" },
    body: `message ${seq}`,
    clientId: null,
    createdAt: at(seq),
    editedAt: null,
    deletedAt: null,
    replyTo: null,
    replyCount: 0,
    lastReplyAt: null,
    ...overrides,
  };
}

const replyTo = (root: Message) => ({ id: root.id, seq: root.seq, author: root.author, preview: root.body, deleted: false });
const reply = (seq: number, root: Message, overrides: Partial<Message> = {}) => msg(seq, { replyTo: replyTo(root), ...overrides });
const created = (message: Message): ChatAction => ({ type: "room.event", event: { type: "message.created", roomId: message.roomId, seq: message.seq, message } });
const run = (state: ChatState, ...actions: ChatAction[]) => actions.reduce(chatReducer, state);

function withTimeline(...messages: Message[]): ChatState {
  return run(
    INITIAL_CHAT_STATE,
    { type: "session.started", me },
    { type: "rooms.loaded", rooms: [room("r1", messages.at(-1)?.seq ?? 0)] },
    { type: "history.loaded", roomId: "r1", page: "latest", messages, hasMore: false },
  );
}
const held = (state: ChatState, id: string) => state.timelines.r1!.messages.find((m) => m.id === id)!;

describe("replies in the timeline", () => {
  it("a reply's message.created bumps its root's count and last reply time, once even when replayed", () => {
    const root = msg(1);
    const r = reply(2, root);
    let state = withTimeline(root);
    state = run(state, created(r), created(r));
    expect(held(state, "m1")).toMatchObject({ replyCount: 1, lastReplyAt: r.createdAt });
    expect(held(state, "m2").replyTo).toEqual(replyTo(root));
  });

  it("a root fetched after a reply already counts it: the late event does not count it again", () => {
    const root = msg(1, { replyCount: 1, lastReplyAt: at(2) });
    const state = run(withTimeline(root), created(reply(2, msg(1))));
    expect(held(state, "m1")).toMatchObject({ replyCount: 1, lastReplyAt: at(2) });
  });

  it("our own reply's ack does not count it; its event does", () => {
    const root = msg(1);
    const mine = reply(2, root, { author: { id: "me", username: "me", displayName: "Me" }, clientId: "c1" });
    let state = run(withTimeline(root), { type: "message.acked", message: mine });
    expect(held(state, "m1").replyCount).toBe(0);
    state = run(state, created(mine));
    expect(held(state, "m1").replyCount).toBe(1);
  });

  it("deleting a root turns its replies' quotes into 'deleted', without its text", () => {
    const root = msg(1, { body: "secret" });
    const r = reply(2, root);
    const tombstone = { ...root, body: "", deletedAt: at(3) };
    const event: RoomEvent = { type: "message.deleted", roomId: "r1", seq: 3, messageId: root.id, deletedBy: "them", message: tombstone };
    const state = run(withTimeline(root, r), { type: "room.event", event });
    expect(held(state, "m2").replyTo).toMatchObject({ deleted: true, preview: "" });
    expect(JSON.stringify(state.timelines.r1)).not.toContain("secret");
  });
});

describe("threads", () => {
  it("a loaded thread takes live replies in seq order, and edits or deletions of its messages", () => {
    const root = msg(1);
    const first = reply(2, root);
    let state = run(withTimeline(root), { type: "thread.loading", roomId: "r1", rootId: "m1" });
    expect(state.threads.m1).toMatchObject({ loading: true });
    state = run(state, { type: "thread.loaded", roomId: "r1", rootId: "m1", root: { ...root, replyCount: 1, lastReplyAt: first.createdAt }, replies: [first], hasMore: false });
    const second = reply(4, root);
    state = run(state, created(msg(3)), created(second));
    expect(state.threads.m1!.replies.map((m) => m.id)).toEqual(["m2", "m4"]);
    expect(state.threads.m1!.root).toMatchObject({ replyCount: 2, lastReplyAt: second.createdAt });
    const edited = { ...first, body: "changed", editedAt: at(5) };
    state = run(state, { type: "room.event", event: { type: "message.edited", roomId: "r1", seq: 5, message: edited } });
    expect(state.threads.m1!.replies[0]!.body).toBe("changed");
    // A reply to another root stays out.
    state = run(state, created(reply(6, msg(3))));
    expect(state.threads.m1!.replies).toHaveLength(2);
  });

  it("our own reply shows in the open thread at once, from its ack", () => {
    const root = msg(1);
    let state = run(withTimeline(root), { type: "thread.loaded", roomId: "r1", rootId: "m1", root, replies: [], hasMore: false });
    const mine = reply(2, root, { author: { id: "me", username: "me", displayName: "Me" }, clientId: "c1" });
    state = run(state, { type: "message.acked", message: mine });
    expect(state.threads.m1!.replies.map((m) => m.id)).toEqual(["m2"]);
  });

  it("a failed load keeps its error; leaving the room drops its threads", () => {
    let state = run(withTimeline(msg(1)), { type: "thread.failed", roomId: "r1", rootId: "m1", error: "offline" });
    expect(state.threads.m1).toMatchObject({ loading: false, error: "offline" });
    state = run(state, { type: "room.removed", roomId: "r1" });
    expect(state.threads).toEqual({});
  });
});

describe("reactions in threads", () => {
  const reacted = (seq: number, messageId: string, emoji: string, userId: string, on = true, roomId = "r1"): ChatAction => ({
    type: "room.event",
    event: { type: on ? "reaction.added" : "reaction.removed", roomId, seq, messageId, emoji, userId },
  });
  /** A room r1 with a root m1, its replies m2 and m4, an unrelated m3, and two opened threads (m1's, m3's). */
  function withThreads(): ChatState {
    const root = msg(1, { replyCount: 2, lastReplyAt: at(4), reactions: [] });
    const other = msg(3, { reactions: [] });
    const replies = [reply(2, root, { reactions: [] }), reply(4, root, { reactions: [] })];
    return run(
      withTimeline(root, replies[0]!, other, replies[1]!),
      { type: "thread.loaded", roomId: "r1", rootId: "m1", root, replies, hasMore: false },
      { type: "thread.loaded", roomId: "r1", rootId: "m3", root: other, replies: [], hasMore: false },
    );
  }
  const reactionsIn = (state: ChatState, rootId: string, id: string) => {
    const thread = state.threads[rootId]!;
    return (thread.root?.id === id ? thread.root : thread.replies.find((m) => m.id === id))?.reactions;
  };

  it("an added reaction shows on the thread's root and replies; another user joins the same emoji", () => {
    const state = run(withThreads(), reacted(5, "m1", "👍", "them"), reacted(6, "m1", "👍", "me"), reacted(7, "m4", "🎉", "me"));
    expect(reactionsIn(state, "m1", "m1")).toEqual([{ emoji: "👍", count: 2, userIds: ["them", "me"] }]);
    expect(reactionsIn(state, "m1", "m4")).toEqual([{ emoji: "🎉", count: 1, userIds: ["me"] }]);
    expect(reactionsIn(state, "m1", "m2")).toEqual([]);
  });

  it("a removed reaction leaves the thread; taken back by everyone, the emoji is gone", () => {
    let state = run(withThreads(), reacted(5, "m2", "👍", "them"), reacted(6, "m2", "👍", "me"), reacted(7, "m2", "❤️", "me"));
    state = run(state, reacted(8, "m2", "👍", "them", false));
    expect(reactionsIn(state, "m1", "m2")).toEqual([
      { emoji: "👍", count: 1, userIds: ["me"] },
      { emoji: "❤️", count: 1, userIds: ["me"] },
    ]);
    state = run(state, reacted(9, "m2", "👍", "me", false), reacted(10, "m2", "❤️", "me", false));
    expect(reactionsIn(state, "m1", "m2")).toEqual([]);
  });

  it("toggled on and off, the root is back to no reactions; a replayed event changes nothing", () => {
    const on = reacted(5, "m1", "😮", "me");
    let state = run(withThreads(), on);
    const afterAdd = state;
    expect(reactionsIn(state, "m1", "m1")).toEqual([{ emoji: "😮", count: 1, userIds: ["me"] }]);
    state = run(state, on); // the same seq again: the room's cursor drops it
    expect(state).toBe(afterAdd);
    state = run(state, reacted(6, "m1", "😮", "me", false));
    expect(reactionsIn(state, "m1", "m1")).toEqual([]);
    // The timeline's copy followed the same events.
    expect(held(state, "m1").reactions).toEqual([]);
  });

  it("a reaction leaves the threads that do not hold its message untouched (same objects)", () => {
    const before = withThreads();
    const state = run(before, reacted(5, "m3", "👍", "them"));
    expect(reactionsIn(state, "m3", "m3")).toEqual([{ emoji: "👍", count: 1, userIds: ["them"] }]);
    expect(state.threads.m1).toBe(before.threads.m1);
    // Another room's event, whatever its message id, changes no thread of r1.
    const elsewhere = run(state, { type: "rooms.loaded", rooms: [room("r1", 5), room("r2", 0)] }, reacted(1, "m1", "👍", "them", true, "r2"));
    expect(elsewhere.threads).toEqual(state.threads);
  });

  it("an edit of the root, and a reloaded page of the thread, keep the reactions the events gave", () => {
    let state = run(withThreads(), reacted(5, "m1", "👍", "them"), reacted(6, "m2", "❤️", "me"));
    const root = state.threads.m1!.root!;
    const edited = { ...msg(1, { replyCount: 2, lastReplyAt: at(4) }), body: "changed", editedAt: at(7) }; // an event's copy: no reactions
    state = run(state, { type: "room.event", event: { type: "message.edited", roomId: "r1", seq: 7, message: edited } });
    expect(state.threads.m1!.root).toMatchObject({ body: "changed", reactions: root.reactions });
    // A page fetched before those events lands late: the held reactions win.
    state = run(state, { type: "thread.loaded", roomId: "r1", rootId: "m1", root: { ...edited, reactions: [] }, replies: [reply(2, msg(1), { reactions: [] })], hasMore: false });
    expect(reactionsIn(state, "m1", "m1")).toEqual([{ emoji: "👍", count: 1, userIds: ["them"] }]);
    expect(reactionsIn(state, "m1", "m2")).toEqual([{ emoji: "❤️", count: 1, userIds: ["me"] }]);
  });
});

describe("threads.ts rules", () => {
  it("countReply counts only a reply newer than the last one", () => {
    const root = msg(1, { replyCount: 2, lastReplyAt: at(5) });
    expect(countReply(root, reply(4, root))).toBe(root);
    expect(countReply(root, reply(6, root))).toMatchObject({ replyCount: 3, lastReplyAt: at(6) });
  });

  it("markQuotesDeleted returns the same list when no quote changes", () => {
    const list = [msg(1), reply(2, msg(1))];
    expect(markQuotesDeleted(list, "other")).toBe(list);
    expect(markQuotesDeleted(list, "m1")[1]!.replyTo).toMatchObject({ deleted: true, preview: "" });
  });
});

describe("thread replies (issue 16): kept in the thread, summarized on the root", () => {
  const ann = { id: "ann", username: "ann", displayName: "Ann" };
  const bo = { id: "bo", username: "bo", displayName: "Bo" };
  const cy = { id: "cy", username: "cy", displayName: "Cy" };
  const dee = { id: "dee", username: "dee", displayName: "Dee" };
  const inThread = (seq: number, root: Message, overrides: Partial<Message> = {}) => reply(seq, root, { inThread: true, alsoInRoom: false, ...overrides });
  /** r1 read up to the root (seq 1), not the active room, so new messages by others are unread. */
  const readUpToRoot = (root: Message) => withTimeline(root);
  const roomOf = (state: ChatState) => state.rooms.r1!.room;

  it("the timeline shows a quote-reply and a reply also sent to the room, not a thread-only reply; old replies (no flags) stay", () => {
    const root = msg(1);
    expect(inTimeline(inThread(2, root))).toBe(false);
    expect(inTimeline(inThread(3, root, { alsoInRoom: true }))).toBe(true);
    expect(inTimeline(reply(4, root))).toBe(true);
    expect(inTimeline(msg(5))).toBe(true);
    // A pending send (outbox entry) is judged by the same flags.
    expect(inTimeline({ inThread: true })).toBe(false);
  });

  it("a thread-only reply is not unread in the room and joins its open thread; one also sent to the room is unread", () => {
    const root = msg(1);
    let state = run(readUpToRoot(root), { type: "thread.loaded", roomId: "r1", rootId: "m1", root, replies: [], hasMore: false });
    state = run(state, created(inThread(2, root, { author: bo })));
    expect(roomOf(state)).toMatchObject({ unreadCount: 0, lastSeq: 2 });
    expect(state.threads.m1!.replies.map((m) => m.id)).toEqual(["m2"]);
    state = run(state, created(inThread(3, root, { author: cy, alsoInRoom: true })), created(reply(4, root, { author: ann })));
    expect(roomOf(state).unreadCount).toBe(2);
    // A deletion of the thread-only reply does not take away an unread it never added.
    const tombstone = { ...inThread(2, root, { author: bo }), body: "", deletedAt: at(5) };
    state = run(state, { type: "room.event", event: { type: "message.deleted", roomId: "r1", seq: 5, messageId: "m2", deletedBy: "bo", message: tombstone } });
    expect(roomOf(state).unreadCount).toBe(2);
  });

  it("a thread-only reply that mentions me counts as a mention, though not as unread", () => {
    const root = msg(1);
    const mention = inThread(2, root, { body: "@me look", mentions: { userIds: ["me"], room: false, here: false } });
    const state = run(readUpToRoot(root), created(mention));
    expect(roomOf(state)).toMatchObject({ unreadCount: 0, mentionCount: 1 });
  });

  it("a read elsewhere recounts unread from the timeline without the thread-only replies", () => {
    const root = msg(1);
    let state = run(readUpToRoot(root), created(inThread(2, root)), created(msg(3)), created(inThread(4, root)), created(msg(5)));
    expect(roomOf(state).unreadCount).toBe(2);
    state = run(state, { type: "room.readMoved", roomId: "r1", lastReadSeq: 3 });
    expect(roomOf(state).unreadCount).toBe(1);
  });

  it("each reply moves its author to the front of the root's repliers, once each, at most three; a replay moves nothing", () => {
    const root = msg(1, { repliers: [] });
    const r2 = inThread(2, root, { author: ann });
    let state = run(readUpToRoot(root), created(r2), created(inThread(3, root, { author: bo })), created(reply(4, root, { author: cy })));
    expect(held(state, "m1")).toMatchObject({ replyCount: 3, lastReplyAt: at(4), repliers: [cy, bo, ann] });
    state = run(state, created(inThread(5, root, { author: ann, alsoInRoom: true })), created(inThread(6, root, { author: dee })), created(r2));
    expect(held(state, "m1")).toMatchObject({ replyCount: 5, lastReplyAt: at(6), repliers: [dee, ann, cy] });
  });

  it("an edit of the root (an event: no repliers) keeps the held repliers; a late page with an older summary does not undo a newer one", () => {
    const root = msg(1, { replyCount: 1, lastReplyAt: at(2), repliers: [ann] });
    let state = run(withTimeline(root, inThread(2, root, { author: ann })), { type: "thread.loaded", roomId: "r1", rootId: "m1", root, replies: [], hasMore: false });
    state = run(state, created(inThread(3, root, { author: bo })));
    const edited: Message = { ...msg(1, { replyCount: 2, lastReplyAt: at(3) }), body: "changed", editedAt: at(4) };
    state = run(state, { type: "room.event", event: { type: "message.edited", roomId: "r1", seq: 4, message: edited } });
    expect(held(state, "m1")).toMatchObject({ body: "changed", replyCount: 2, repliers: [bo, ann] });
    expect(state.threads.m1!.root).toMatchObject({ body: "changed", replyCount: 2, repliers: [bo, ann] });
    // A page that left the server before bo's reply: its summary is older than the held one.
    const stale: Message = { ...edited, replyCount: 1, lastReplyAt: at(2), repliers: [ann] };
    state = run(state, { type: "history.loaded", roomId: "r1", page: "latest", messages: [{ ...stale, body: "changed again", editedAt: at(9) }], hasMore: false });
    expect(held(state, "m1")).toMatchObject({ body: "changed again", replyCount: 2, lastReplyAt: at(3), repliers: [bo, ann] });
    state = run(state, { type: "thread.loaded", roomId: "r1", rootId: "m1", root: stale, replies: [], hasMore: false });
    expect(state.threads.m1!.root).toMatchObject({ replyCount: 2, repliers: [bo, ann] });
  });

  it("withReplier puts the author first, once, and keeps three", () => {
    expect(withReplier([], ann)).toEqual([ann]);
    expect(withReplier([bo, ann, cy], ann)).toEqual([ann, bo, cy]);
    expect(withReplier([bo, ann, cy], dee)).toEqual([dee, bo, ann]);
  });
});
