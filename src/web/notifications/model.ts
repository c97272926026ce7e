/**
 * The pure rules of the client's notification screens (issue 19): what a
 * room's level and mute read as, the words for them, the end times offered
 * for a mute or do not disturb, the sidebar's order with muted rooms last,
 * whether this tab shows a notification, and where a notification's link
 * leads. The server decides who is notified (shared/protocol/notifications.ts);
 * nothing here second-guesses it.
 */
import {
  DEFAULT_NOTIFICATION_SETTINGS,
  DEFAULT_ROOM_NOTIFICATIONS,
  effectiveLevel,
  isUntilAhead,
  type NotificationSettings,
  type NotifyLevel,
  type Room,
  type RoomNotifications,
  type RoomNotifyLevel,
} from "@shared/protocol/index.js";
import { byRecentActivity } from "@web/state/rooms";
import { parseRoute } from "@web/app/route";

/** A room's settings, the defaults when the server sent none (a server before issue 19). */
export function roomNotificationsOf(room: Room): RoomNotifications {
  return room.notifications ?? DEFAULT_ROOM_NOTIFICATIONS;
}

/** Whether the room is muted at `nowMs`: a mute whose end has passed reads as not muted. */
export function isMuted(room: Room, nowMs: number): boolean {
  const n = roomNotificationsOf(room);
  return n.muted && (n.mutedUntil === null || isUntilAhead(n.mutedUntil, nowMs));
}

/** Whether do not disturb is on at `nowMs`. */
export function isDndOn(settings: NotificationSettings | null, nowMs: number): boolean {
  return settings !== null && isUntilAhead(settings.dndUntil, nowMs);
}

/** The level a room at `default` follows, for the words "Default (Mentions)". */
export function defaultLevelFor(room: Room, settings: NotificationSettings | null): NotifyLevel {
  return effectiveLevel("default", room.kind, settings ?? DEFAULT_NOTIFICATION_SETTINGS);
}

/** What each level says, for rooms (direct rooms treat "mentions" as every message: `notifyReason`). */
export const LEVEL_LABELS: Readonly<Record<NotifyLevel, string>> = {
  all: "All messages",
  mentions: "Mentions only",
  nothing: "Nothing",
};

/** A level's words in a direct conversation, where every message is addressed to me. */
export function levelLabel(level: NotifyLevel, kind: Room["kind"]): string {
  if (kind === "direct" && level === "mentions") return "All messages";
  return LEVEL_LABELS[level];
}

/** The choices of a room's menu: Default says what it means here. */
export function roomLevelChoices(room: Room, settings: NotificationSettings | null): { value: RoomNotifyLevel; label: string }[] {
  const fallback = levelLabel(defaultLevelFor(room, settings), room.kind);
  const choices: { value: RoomNotifyLevel; label: string }[] = [{ value: "default", label: `Default (${fallback})` }, { value: "all", label: LEVEL_LABELS.all }];
  // In a conversation of two "mentions" would mean every message too: not offered twice.
  if (room.kind !== "direct") choices.push({ value: "mentions", label: LEVEL_LABELS.mentions });
  choices.push({ value: "nothing", label: LEVEL_LABELS.nothing });
  return choices;
}

/**
 * 08:00 of the next day, local time: "until tomorrow" for a mute or do not
 * disturb (Slack's choice: the morning, not midnight).
 */
export function tomorrowMorning(now: Date): Date {
  const next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 8, 0, 0, 0);
  return next;
}

/** A choice of end time: its words and the ISO end from `now`. */
export interface UntilChoice {
  id: string;
  label: string;
  until: (now: Date) => string;
}

const HOUR_MS = 60 * 60 * 1000;
const after = (ms: number) => (now: Date) => new Date(now.getTime() + ms).toISOString();

/** How long a room can be muted for (and "until I unmute", which has no end). */
export const MUTE_CHOICES: readonly UntilChoice[] = [
  { id: "1h", label: "Mute for 1 hour", until: after(HOUR_MS) },
  { id: "8h", label: "Mute for 8 hours", until: after(8 * HOUR_MS) },
  { id: "tomorrow", label: "Mute until tomorrow", until: (now) => tomorrowMorning(now).toISOString() },
];

/** Do not disturb's lengths. */
export const DND_CHOICES: readonly UntilChoice[] = [
  { id: "30m", label: "30 minutes", until: after(HOUR_MS / 2) },
  { id: "1h", label: "1 hour", until: after(HOUR_MS) },
  { id: "8h", label: "8 hours", until: after(8 * HOUR_MS) },
  { id: "tomorrow", label: "Until tomorrow", until: (now) => tomorrowMorning(now).toISOString() },
];

/** "until 08:00" today, "until tomorrow 08:00", else "until Mon 3 Dec 08:00". */
export function untilLabel(iso: string, now: Date): string {
  const end = new Date(iso);
  const time = end.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (end.toDateString() === now.toDateString()) return `until ${time}`;
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  if (end.toDateString() === tomorrow.toDateString()) return `until tomorrow ${time}`;
  const day = end.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" });
  return `until ${day} ${time}`;
}

/** A muted room's words: "Muted until 14:00", "Muted until you unmute". */
export function muteLabel(room: Room, now: Date): string | null {
  if (!isMuted(room, now.getTime())) return null;
  const until = roomNotificationsOf(room).mutedUntil;
  return until === null ? "Muted until you unmute" : `Muted ${untilLabel(until, now)}`;
}

/**
 * The sidebar's order: unmuted rooms first, then muted ones, each by most
 * recent activity (a muted room's new messages do not lift it above the rooms
 * one listens to).
 */
export function sidebarOrder(rooms: readonly Room[], nowMs: number): Room[] {
  return [...rooms].sort((a, b) => Number(isMuted(a, nowMs)) - Number(isMuted(b, nowMs)) || byRecentActivity(a, b));
}

/**
 * The next moment a mute or do not disturb ends, after `nowMs`, so the
 * screen can change then (null: none ahead).
 */
export function nextChangeAt(rooms: readonly Room[], settings: NotificationSettings | null, nowMs: number): number | null {
  let next: number | null = null;
  const consider = (iso: string | null) => {
    if (iso === null) return;
    const at = Date.parse(iso);
    if (at > nowMs && (next === null || at < next)) next = at;
  };
  for (const room of rooms) {
    const n = roomNotificationsOf(room);
    if (n.muted) consider(n.mutedUntil);
  }
  consider(settings?.dndUntil ?? null);
  return next;
}

/** What the browser allows: the Notifications API's permission, or "unsupported" without the API. */
export type DesktopPermission = "unsupported" | "default" | "granted" | "denied";

/**
 * Whether this tab shows a notification the server sent: only with the
 * permission, and only when no tab of the user is focused (this one hidden or
 * unfocused, and no other tab said it is focused). Unfocused tabs all show it;
 * the notification's tag (one per conversation) makes the copies one.
 */
export function shouldShow(input: { permission: DesktopPermission; thisTabFocused: boolean; otherTabFocused: boolean }): boolean {
  return input.permission === "granted" && !input.thisTabFocused && !input.otherTabFocused;
}

/** Where a notification leads: its room and message. */
export interface MessageLink {
  roomId: string;
  seq: number | null;
}

/**
 * The room and message of a notification's `url`: the app's hash route
 * (`/#/rooms/<id>/<seq>`), or a path `/rooms/<id>?seq=<seq>`. Null for
 * anything else, or another origin (a link never navigates away).
 */
export function messageLinkOf(url: string, origin: string): MessageLink | null {
  let parsed: URL;
  try {
    parsed = new URL(url, origin);
  } catch {
    return null;
  }
  if (parsed.origin !== origin) return null;
  let hash = parsed.hash;
  if ((hash === "" || hash === "#") && parsed.pathname.startsWith("/rooms/")) {
    const seq = parsed.searchParams.get("seq");
    hash = `#${parsed.pathname}${seq ? `/${seq}` : ""}`;
  }
  const route = parseRoute(hash);
  return route.kind === "room" ? { roomId: route.roomId, seq: route.seq ?? null } : null;
}
