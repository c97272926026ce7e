/** The chat store's side of issue 19: settings and rooms' levels kept live from answers and frames. */
import { describe, expect, it } from "vitest";
import { DEFAULT_NOTIFICATION_SETTINGS, type RoomEvent } from "@shared/protocol/index.js";
import { INITIAL_CHAT_STATE, chatReducer, type ChatAction, type ChatState } from "@web/state/chatReducer";
import { me, room } from "@web/state/testFixtures";

function run(state: ChatState, ...actions: ChatAction[]): ChatState {
  return actions.reduce(chatReducer, state);
}

const quiet = { level: "nothing", muted: true, mutedUntil: null } as const;

describe("notification settings in the chat store", () => {
  it("keeps the account's settings while signed in, forgets them at sign-out", () => {
    const settings = { ...DEFAULT_NOTIFICATION_SETTINGS, roomLevel: "all" as const };
    expect(run(INITIAL_CHAT_STATE, { type: "notifications.settings", settings }).notificationSettings).toBeNull();
    const signedIn = run(INITIAL_CHAT_STATE, { type: "session.started", me }, { type: "notifications.settings", settings });
    expect(signedIn.notificationSettings).toEqual(settings);
    expect(run(signedIn, { type: "session.ended" }).notificationSettings).toBeNull();
  });

  it("applies a room's new level and mute (room.notifications.updated) to that room only, and ignores rooms not held", () => {
    const state = run(INITIAL_CHAT_STATE, { type: "session.started", me }, { type: "rooms.loaded", rooms: [room("a", 3), room("b", 3)] });
    const next = run(state, { type: "room.notifications", roomId: "a", notifications: quiet });
    expect(next.rooms.a!.room.notifications).toEqual(quiet);
    expect(next.rooms.b!.room.notifications).toBeUndefined();
    expect(next.rooms.a!.cursor).toBe(state.rooms.a!.cursor);
    expect(run(state, { type: "room.notifications", roomId: "gone", notifications: quiet })).toBe(state);
  });

  it("a muted room keeps counting unread messages", () => {
    let state = run(INITIAL_CHAT_STATE, { type: "session.started", me }, { type: "rooms.loaded", rooms: [room("a", 3)] });
    state = run(state, { type: "room.notifications", roomId: "a", notifications: quiet });
    const event: RoomEvent = {
      type: "message.created",
      roomId: "a",
      seq: 4,
      message: { id: "m4", roomId: "a", seq: 4, author: { id: "them", username: "them", displayName: "them" }, body: "hi", clientId: null, createdAt: "2025-01-02T00:00:00Z" },
    };
    state = run(state, { type: "room.event", event });
    expect(state.rooms.a!.room.unreadCount).toBe(1);
    expect(state.rooms.a!.room.notifications).toEqual(quiet);
  });

  it("a fresh copy of a room (GET /rooms) brings its level and mute; a copy without them keeps the held ones", () => {
    let state = run(INITIAL_CHAT_STATE, { type: "session.started", me }, { type: "rooms.loaded", rooms: [room("a", 3)] });
    state = run(state, { type: "rooms.loaded", rooms: [room("a", 3, { notifications: quiet })] });
    expect(state.rooms.a!.room.notifications).toEqual(quiet);
    state = run(state, { type: "room.upserted", room: room("a", 3) });
    expect(state.rooms.a!.room.notifications).toEqual(quiet);
  });
});
