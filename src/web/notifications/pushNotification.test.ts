import { describe, expect, it } from "vitest";
import type { Notification, PushPayload } from "@shared/protocol/notifications.js";
import { GENERIC_TAG, NOTIFICATION_BADGE, NOTIFICATION_ICON, appPath, notificationFromPush, openMessage, windowForClick } from "./pushNotification";

const ORIGIN = "https://chat.example.org";

const notification: Notification = {
  roomId: "r 1",
  messageId: "m1",
  seq: 42,
  reason: "direct",
  title: "alice",
  body: "alice: lunch at noon?",
  tag: "room:r 1",
  url: "/#/rooms/r%201/42",
  createdAt: "2026-12-07T09:00:00.000Z",
};
const push = (payload: PushPayload) => JSON.stringify(payload);

describe("notificationFromPush", () => {
  it("a message: the conversation as title, the preview, one tag per conversation, the message's path and time", () => {
    const shown = notificationFromPush(push({ kind: "message", notification }), ORIGIN);
    expect(shown).toEqual({
      kind: "message",
      title: "alice",
      options: {
        body: "alice: lunch at noon?",
        tag: "room:r 1",
        data: { url: "/#/rooms/r%201/42" },
        icon: NOTIFICATION_ICON,
        badge: NOTIFICATION_BADGE,
        timestamp: Date.parse("2026-12-07T09:00:00.000Z"),
        renotify: true,
      },
    });
  });

  it("a collapsed burst says how many; a count of 1 is the message itself", () => {
    expect(notificationFromPush(push({ kind: "message", notification: { ...notification, count: 3 } }), ORIGIN).options.body).toBe("3 new messages");
    expect(notificationFromPush(push({ kind: "message", notification: { ...notification, count: 1 } }), ORIGIN).options.body).toBe("alice: lunch at noon?");
  });

  it("previews off: the body the server wrote, nothing added", () => {
    const shown = notificationFromPush(push({ kind: "message", notification: { ...notification, body: "New message from alice" } }), ORIGIN);
    expect(shown.options.body).toBe("New message from alice");
  });

  it("the test button's push: its title, body and tag; a click opens the app", () => {
    const shown = notificationFromPush(push({ kind: "test", title: "Parley", body: "Notifications work on this device.", tag: "parley-test" }), ORIGIN);
    expect(shown).toMatchObject({ kind: "test", title: "Parley", options: { body: "Notifications work on this device.", tag: "parley-test", data: { url: "/" } } });
  });

  it("anything unreadable still shows a generic notification (a silent push is penalised by browsers)", () => {
    const unreadable = [null, "", "not json", "{}", "[]", '{"kind":"message"}', push({ kind: "message", notification: { ...notification, seq: -1 } }), '"text"'];
    for (const text of unreadable) {
      const shown = notificationFromPush(text, ORIGIN);
      expect(shown, String(text)).toEqual({
        kind: "unreadable",
        title: "Parley",
        options: { body: "New activity", tag: GENERIC_TAG, data: { url: "/" }, icon: NOTIFICATION_ICON, badge: NOTIFICATION_BADGE },
      });
    }
  });

  it("a url off this origin is never opened: the app's start instead", () => {
    for (const url of ["https://evil.example/#/rooms/r/1", "//evil.example/x", "javascript:alert(1)", "http://chat.example.org/#/rooms/r/1"]) {
      expect(notificationFromPush(push({ kind: "message", notification: { ...notification, url } }), ORIGIN).options.data.url, url).toBe("/");
    }
  });
});

describe("appPath", () => {
  it("keeps a same-origin path with its query and hash; relative paths resolve against the origin", () => {
    expect(appPath("/#/rooms/r/5", ORIGIN)).toBe("/#/rooms/r/5");
    expect(appPath(`${ORIGIN}/?a=1#/rooms/r/5`, ORIGIN)).toBe("/?a=1#/rooms/r/5");
    expect(appPath("#/rooms/r/5", ORIGIN)).toBe("/#/rooms/r/5");
  });
  it("anything else is the app's start", () => {
    for (const url of [undefined, null, 3, "", "https://other.example/", "http://[::1"]) expect(appPath(url, ORIGIN)).toBe("/");
  });
});

describe("windowForClick", () => {
  const w = (url: string, focused = false, visibilityState: DocumentVisibilityState = "hidden") => ({ url, focused, visibilityState });
  it("none open: null (the worker opens one)", () => {
    expect(windowForClick([], ORIGIN)).toBeNull();
    expect(windowForClick([w("https://other.example/")], ORIGIN)).toBeNull();
  });
  it("the focused window first, then a visible one, then any", () => {
    expect(windowForClick([w(`${ORIGIN}/`), w(`${ORIGIN}/`, false, "visible"), w(`${ORIGIN}/#/rooms/a`, true, "visible")], ORIGIN)).toBe(2);
    expect(windowForClick([w(`${ORIGIN}/`), w(`${ORIGIN}/`, false, "visible")], ORIGIN)).toBe(1);
    expect(windowForClick([w("https://other.example/", true, "visible"), w(`${ORIGIN}/`)], ORIGIN)).toBe(1);
  });
});

it("openMessage is the page's navigation request", () => {
  expect(openMessage("/#/rooms/r/5")).toEqual({ type: "parley.open", url: "/#/rooms/r/5" });
});
