/**
 * What the service worker (src/web/sw.ts) shows for a Web Push message and
 * which window a click goes to: pure functions, so they are unit-tested
 * without a browser (pushNotification.test.ts).
 *
 * The payload is the server's PushPayloadSchema JSON (shared/protocol/
 * notifications.ts). Anything else (not JSON, another shape, an empty push)
 * still shows a generic "New activity": a push that shows nothing is
 * counted against the site by browsers (Chrome then shows its own "This
 * site has been updated in the background" and may drop the subscription).
 */
import { PushPayloadSchema, type PushPayload } from "@shared/protocol/notifications.js";

/** The icons of a notification (scripts/icons.ts draws them; the precache holds them). */
export const NOTIFICATION_ICON = "/icons/icon-192.png";
/** Android's small monochrome icon in the status bar (only its alpha counts). */
export const NOTIFICATION_BADGE = "/icons/badge-96.png";

/** The tag of the generic notification of an unreadable push: a second one replaces the first. */
export const GENERIC_TAG = "parley-activity";

/** What `data` a Parley notification carries: the app path its click opens. */
export interface NotificationData {
  url: string;
}

/**
 * NotificationOptions plus the two fields TypeScript's DOM library no
 * longer lists but Chromium honours: `timestamp` (ms since the epoch: the
 * message's time, not the push's) and `renotify` (a newer message of the
 * same conversation sounds and shows again instead of replacing silently).
 */
export interface ShownOptions extends NotificationOptions {
  body: string;
  tag: string;
  data: NotificationData;
  icon: string;
  badge: string;
  timestamp?: number;
  renotify?: boolean;
}

/** One notification to show: `registration.showNotification(title, options)`. */
export interface ShownNotification {
  title: string;
  options: ShownOptions;
  /** What the push carried: a message (or a burst of them), the test button's push, or nothing readable. */
  kind: PushPayload["kind"] | "unreadable";
}

/**
 * An app path from a payload's `url`, kept only when it stays on this
 * origin (`origin`, e.g. "https://chat.example.org"): the click must never
 * open another site, whatever a payload says. Anything else → "/".
 * @returns a path with its hash, e.g. "/#/rooms/r1/42"
 */
export function appPath(url: unknown, origin: string): string {
  if (typeof url !== "string" || url.length === 0) return "/";
  let parsed: URL;
  try {
    parsed = new URL(url, origin);
  } catch {
    return "/";
  }
  if (parsed.origin !== origin) return "/";
  return parsed.pathname + parsed.search + parsed.hash;
}

/** "3 new messages" for a collapsed burst; the one message's body otherwise. */
function bodyOf(body: string, count: number | undefined): string {
  return count !== undefined && count > 1 ? `${count} new messages` : body;
}

/**
 * The notification for a push's text (`event.data?.text()`; null: a push
 * without data). Never throws.
 * @param origin the worker's origin (`self.location.origin`), which the click's URL must keep
 */
export function notificationFromPush(text: string | null, origin: string): ShownNotification {
  const payload = parsePayload(text);
  const common = { icon: NOTIFICATION_ICON, badge: NOTIFICATION_BADGE };
  if (payload === null) {
    return {
      kind: "unreadable",
      title: "Parley",
      options: { ...common, body: "New activity", tag: GENERIC_TAG, data: { url: "/" } },
    };
  }
  if (payload.kind === "test") {
    return { kind: "test", title: payload.title, options: { ...common, body: payload.body, tag: payload.tag, data: { url: "/" } } };
  }
  const n = payload.notification;
  const sent = Date.parse(n.createdAt);
  return {
    kind: "message",
    title: n.title,
    options: {
      ...common,
      body: bodyOf(n.body, n.count),
      tag: n.tag,
      data: { url: appPath(n.url, origin) },
      ...(Number.isFinite(sent) ? { timestamp: sent } : {}),
      renotify: true,
    },
  };
}

/** The payload if `text` is PushPayloadSchema JSON, else null. */
function parsePayload(text: string | null): PushPayload | null {
  if (text === null || text.length === 0) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = PushPayloadSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** A window of the app as `clients.matchAll({ type: "window" })` lists it. */
export interface AppWindow {
  url: string;
  focused: boolean;
  visibilityState: DocumentVisibilityState;
}

/**
 * Which open window a notification's click should use: the focused one,
 * else a visible one, else any, among those on `origin`. null: none is
 * open, the worker opens a new one.
 * @returns an index into `windows`
 */
export function windowForClick(windows: readonly AppWindow[], origin: string): number | null {
  let best: number | null = null;
  let bestRank = -1;
  windows.forEach((w, i) => {
    if (!sameOrigin(w.url, origin)) return;
    const rank = w.focused ? 2 : w.visibilityState === "visible" ? 1 : 0;
    if (rank > bestRank) {
      best = i;
      bestRank = rank;
    }
  });
  return best;
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** What the worker posts to a window on a click: the page opens `url` (an app path, same origin). */
export interface OpenMessage {
  type: "parley.open";
  url: string;
}

/** The `parley.open` message for a path. */
export function openMessage(url: string): OpenMessage {
  return { type: "parley.open", url };
}
