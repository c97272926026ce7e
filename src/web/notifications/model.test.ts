import { describe, expect, it } from "vitest";
import type { Room, RoomNotifications } from "@shared/protocol/index.js";
import { DEFAULT_NOTIFICATION_SETTINGS } from "@shared/protocol/index.js";
import {
  DND_CHOICES,
  MUTE_CHOICES,
  isDndOn,
  isMuted,
  messageLinkOf,
  muteLabel,
  nextChangeAt,
  roomLevelChoices,
  shouldShow,
  sidebarOrder,
  tomorrowMorning,
  untilLabel,
} from "./model";

const NOW = new Date(2026, 11, 7, 9, 30, 0); // local time: Monday 7 Dec 2026, 09:30
const nowMs = NOW.getTime();
const inMs = (ms: number) => new Date(nowMs + ms).toISOString();

function room(id: string, lastActivityAt: string, notifications?: RoomNotifications, kind: Room["kind"] = "public"): Room {
  return {
    id,
    kind,
    name: id,
    topic: "",
    createdAt: "2026-01-01T00:00:00.000Z",
    lastSeq: 1,
    lastReadSeq: 0,
    unreadCount: 3,
    mentionCount: 0,
    memberCount: 2,
    role: "member",
    lastActivityAt,
    lastMessage: null,
    ...(notifications ? { notifications } : {}),
  } as Room;
}

const muted = (mutedUntil: string | null): RoomNotifications => ({ level: "default", muted: true, mutedUntil });

describe("mute and do not disturb", () => {
  it("a mute counts until its end; a past end reads as not muted; null is until unmuted", () => {
    expect(isMuted(room("a", "x"), nowMs)).toBe(false);
    expect(isMuted(room("a", "x", muted(inMs(60_000))), nowMs)).toBe(true);
    expect(isMuted(room("a", "x", muted(inMs(-1))), nowMs)).toBe(false);
    expect(isMuted(room("a", "x", muted(null)), nowMs)).toBe(true);
    expect(isMuted(room("a", "x", { level: "all", muted: false, mutedUntil: null }), nowMs)).toBe(false);
  });

  it("do not disturb is on while its end is ahead", () => {
    expect(isDndOn(null, nowMs)).toBe(false);
    expect(isDndOn({ ...DEFAULT_NOTIFICATION_SETTINGS, dndUntil: inMs(1000) }, nowMs)).toBe(true);
    expect(isDndOn({ ...DEFAULT_NOTIFICATION_SETTINGS, dndUntil: inMs(-1000) }, nowMs)).toBe(false);
  });

  it("the choices end 30 min, 1 h, 8 h ahead, or tomorrow at 08:00 local time", () => {
    const ends = Object.fromEntries(DND_CHOICES.map((c) => [c.id, Date.parse(c.until(NOW)) - nowMs]));
    expect(ends).toEqual({ "30m": 30 * 60_000, "1h": 3_600_000, "8h": 8 * 3_600_000, tomorrow: tomorrowMorning(NOW).getTime() - nowMs });
    expect(MUTE_CHOICES.map((c) => c.id)).toEqual(["1h", "8h", "tomorrow"]);
    const morning = tomorrowMorning(new Date(2026, 11, 31, 23, 50));
    expect([morning.getFullYear(), morning.getMonth(), morning.getDate(), morning.getHours(), morning.getMinutes()]).toEqual([2027, 0, 1, 8, 0]);
  });

  it("says until when: today by the time, tomorrow by name, later by date", () => {
    const time = (d: Date) => d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    const today = new Date(2026, 11, 7, 14, 0);
    expect(untilLabel(today.toISOString(), NOW)).toBe(`until ${time(today)}`);
    const tomorrow = tomorrowMorning(NOW);
    expect(untilLabel(tomorrow.toISOString(), NOW)).toBe(`until tomorrow ${time(tomorrow)}`);
    expect(untilLabel(new Date(2026, 11, 20, 8, 0).toISOString(), NOW)).toMatch(/^until .*20.* /);
    expect(muteLabel(room("a", "x", muted(null)), NOW)).toBe("Muted until you unmute");
    expect(muteLabel(room("a", "x", muted(today.toISOString())), NOW)).toBe(`Muted until ${time(today)}`);
    expect(muteLabel(room("a", "x"), NOW)).toBeNull();
  });

  it("the next change is the earliest end ahead (rooms' mutes and do not disturb)", () => {
    const rooms = [room("a", "x", muted(inMs(5000))), room("b", "x", muted(null)), room("c", "x", muted(inMs(-5)))];
    expect(nextChangeAt(rooms, null, nowMs)).toBe(nowMs + 5000);
    expect(nextChangeAt(rooms, { ...DEFAULT_NOTIFICATION_SETTINGS, dndUntil: inMs(100) }, nowMs)).toBe(nowMs + 100);
    expect(nextChangeAt([room("b", "x", muted(null))], null, nowMs)).toBeNull();
  });
});

describe("the sidebar's order", () => {
  it("muted rooms go after the others, each part by most recent activity", () => {
    const rooms = [
      room("quiet-new", "2026-12-07T09:00:00.000Z", muted(null)),
      room("old", "2026-12-01T09:00:00.000Z"),
      room("new", "2026-12-06T09:00:00.000Z"),
      room("quiet-old", "2026-12-02T09:00:00.000Z", muted(inMs(60_000))),
      room("was-quiet", "2026-12-03T09:00:00.000Z", muted(inMs(-60_000))),
    ];
    expect(sidebarOrder(rooms, nowMs).map((r) => r.id)).toEqual(["new", "was-quiet", "old", "quiet-new", "quiet-old"]);
  });
});

describe("a room's level choices", () => {
  it("Default says what it means for the room's kind, after the account's settings", () => {
    const group = room("g", "x");
    expect(roomLevelChoices(group, null).map((c) => c.label)).toEqual(["Default (Mentions only)", "All messages", "Mentions only", "Nothing"]);
    expect(roomLevelChoices(group, { ...DEFAULT_NOTIFICATION_SETTINGS, roomLevel: "nothing" })[0]!.label).toBe("Default (Nothing)");
    const direct = room("d", "x", undefined, "direct");
    // A conversation of two: "mentions" is every message, so it is not offered twice.
    expect(roomLevelChoices(direct, null).map((c) => c.value)).toEqual(["default", "all", "nothing"]);
    expect(roomLevelChoices(direct, null)[0]!.label).toBe("Default (All messages)");
    expect(roomLevelChoices(direct, { ...DEFAULT_NOTIFICATION_SETTINGS, directLevel: "mentions" })[0]!.label).toBe("Default (All messages)");
  });
});

describe("when a tab shows a notification", () => {
  it("only with the permission, and only when no tab of the user is focused", () => {
    const base = { permission: "granted" as const, thisTabFocused: false, otherTabFocused: false };
    expect(shouldShow(base)).toBe(true);
    expect(shouldShow({ ...base, thisTabFocused: true })).toBe(false);
    expect(shouldShow({ ...base, otherTabFocused: true })).toBe(false);
    for (const permission of ["default", "denied", "unsupported"] as const) expect(shouldShow({ ...base, permission })).toBe(false);
  });
});

describe("a notification's link", () => {
  const origin = "https://chat.example";
  it("reads the app's hash route and the path form, with and without a seq", () => {
    expect(messageLinkOf("/#/rooms/r%201/42", origin)).toEqual({ roomId: "r 1", seq: 42 });
    expect(messageLinkOf(`${origin}/#/rooms/abc/7`, origin)).toEqual({ roomId: "abc", seq: 7 });
    expect(messageLinkOf("/#/rooms/abc", origin)).toEqual({ roomId: "abc", seq: null });
    expect(messageLinkOf("/rooms/abc?seq=9", origin)).toEqual({ roomId: "abc", seq: 9 });
  });
  it("nothing for another origin, a malformed route or a seq that is not one", () => {
    for (const url of ["https://evil.example/#/rooms/abc/1", "/#/nope", "/#/rooms/abc/0", "/#/rooms/%/1", "javascript:alert(1)", "/rooms/abc?seq=x"]) {
      expect(messageLinkOf(url, origin), url).toBeNull();
    }
  });
});
