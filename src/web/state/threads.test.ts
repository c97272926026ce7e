import { describe, expect, it } from "vitest";
import type { Message, Room, RoomEvent, Self } from "@shared/protocol/index.js";
import { INITIAL_CHAT_STATE, chatReducer, type ChatAction, type ChatState } from "./chatReducer";
import { countReply, markQuotesDeleted } from "./threads";

/** Replies and threads in the reducer: root counters from reply events, once; threads kept live. */

const me: Self = { id: "me", username: "me", displayName: "Me", createdAt: "2025-01-01T00:00:00Z", email: "me@x.io" };

const room = (id: string, lastSeq: number): Room => ({
  id,
  kind: "public",
  name: id,
  topic: "",
  createdAt: "2025-01-01T00:00:00Z",
  lastSeq,
  lastActivityAt: "2025-01-01T00:00:00Z",
  memberCount: 2,
  role: "member",
  peer: null,
  lastMessage: null,
  lastReadSeq: lastSeq,
  unreadCount: 0,
});

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
