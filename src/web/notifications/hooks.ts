/** React glue of the notification screens: the browser's permission, and a clock that ticks when a mute ends. */
import { useEffect, useState, useSyncExternalStore } from "react";
import type { NotificationSettings, Room } from "@shared/protocol/index.js";
import { desktopPermission, requestPermission, subscribePermission } from "./desktop";
import { nextChangeAt, type DesktopPermission } from "./model";

/** The browser's notification permission, kept current, and the ask (only ever from a click). */
export function useDesktopPermission(): [DesktopPermission, () => Promise<DesktopPermission>] {
  const permission = useSyncExternalStore(subscribePermission, desktopPermission, () => "unsupported" as const);
  return [permission, requestPermission];
}

/** Timers cannot wait longer than this (2^31 - 1 ms); a later end is looked at again then. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Now, in ms, as of the last time something changed: re-rendered when the
 * next mute or do not disturb ends, so a room stops looking muted on time.
 */
export function useNotifyClock(rooms: readonly Room[], settings: NotificationSettings | null): number {
  const [, setTick] = useState(0);
  const now = Date.now();
  const next = nextChangeAt(rooms, settings, now);
  useEffect(() => {
    if (next === null) return;
    const timer = setTimeout(() => setTick((n) => n + 1), Math.min(Math.max(0, next - Date.now()) + 50, MAX_TIMER_MS));
    return () => clearTimeout(timer);
  }, [next]);
  return now;
}
