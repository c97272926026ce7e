/**
 * In-app browser notifications (issue 19, item 2): the server sends a
 * `notification` frame to every open socket of the user; this module decides
 * whether this tab shows it (model.ts `shouldShow`: permission granted, no
 * tab of the user focused) and shows it through the Notifications API.
 *
 * - Which tabs are focused: each tab says so on a BroadcastChannel when its
 *   focus changes (and answers a newcomer's "who is there?"), so a
 *   notification is not shown while the user reads another Parley tab.
 * - Showing: through the service worker's registration when one controls
 *   the page (helper E's worker; its `notificationclick` posts
 *   `{type: "parley.open", url}` back to the page), else `new Notification`,
 *   whose click focuses this tab. The tag is the notification's (one per
 *   conversation), so a newer one replaces the previous, and the copies that
 *   several unfocused tabs show are one.
 * - Permission is only ever asked from a person's action (`requestPermission`
 *   is called by the banner's and the settings screen's buttons).
 */
import type { Notification as ParleyNotification } from "@shared/protocol/index.js";
import { shouldShow, type DesktopPermission } from "./model";

/**
 * The Permissions API's word for notifications, once asked (null before, or
 * where it cannot say). Preferred to `Notification.permission` because it
 * also tells when the person changes it in the site settings (its `change`
 * event), and because Chromium's headless shell, which the e2e tests run,
 * hard-codes `Notification.permission` to "denied" while the real grant is
 * there.
 */
let queried: DesktopPermission | null = null;
const permissionListeners = new Set<() => void>();
let watchingPermission = false;

/** The browser's permission for notifications, "unsupported" without the API. */
export function desktopPermission(): DesktopPermission {
  if (typeof window === "undefined" || !("Notification" in window)) return "unsupported";
  return queried ?? window.Notification.permission;
}

function fromState(state: PermissionState): DesktopPermission {
  return state === "prompt" ? "default" : state;
}

/** Tells `listener` when the permission may have changed (asked here, or changed in the site settings). */
export function subscribePermission(listener: () => void): () => void {
  permissionListeners.add(listener);
  if (!watchingPermission && typeof navigator !== "undefined" && navigator.permissions?.query && desktopPermission() !== "unsupported") {
    watchingPermission = true;
    navigator.permissions.query({ name: "notifications" }).then(
      (status) => {
        queried = fromState(status.state);
        status.addEventListener("change", () => {
          queried = fromState(status.state);
          emitPermission();
        });
        emitPermission();
      },
      () => {}, // a browser that cannot say: Notification.permission it is
    );
  }
  return () => permissionListeners.delete(listener);
}

function emitPermission(): void {
  for (const listener of [...permissionListeners]) listener();
}

/** Asks the browser for permission (call only from a person's click). @returns the permission as it now is */
export async function requestPermission(): Promise<DesktopPermission> {
  if (desktopPermission() === "unsupported") return "unsupported";
  try {
    const answer = await window.Notification.requestPermission();
    // The Permissions API's change event follows; the answer is the news until it does.
    if (queried !== null && answer !== "default") queried = answer;
  } catch (error) {
    console.warn("Asking for notification permission failed", error);
  }
  emitPermission();
  return desktopPermission();
}

/** A focus report between the user's tabs. */
type FocusMessage = { type: "focus"; tabId: string; focused: boolean } | { type: "hello"; tabId: string } | { type: "bye"; tabId: string };

const CHANNEL = "parley-tabs";

/**
 * Whether this tab, or another of the same browser profile, is focused.
 * A tab counts as focused when it is visible and has the focus
 * (`document.hasFocus()`): a visible tab behind another application's
 * window is not.
 */
export class TabFocus {
  private readonly tabId = crypto.randomUUID();
  private readonly focusedTabs = new Set<string>();
  private readonly channel: BroadcastChannel | null;
  private lastSaid: boolean | null = null;
  private readonly update = () => this.say();
  private readonly leave = () => this.post({ type: "bye", tabId: this.tabId });

  constructor() {
    this.channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel(CHANNEL);
    if (this.channel) this.channel.onmessage = (event: MessageEvent<FocusMessage>) => this.heard(event.data);
    window.addEventListener("focus", this.update);
    window.addEventListener("blur", this.update);
    document.addEventListener("visibilitychange", this.update);
    window.addEventListener("pagehide", this.leave);
    this.post({ type: "hello", tabId: this.tabId });
    this.say();
  }

  /** This tab is visible and focused. */
  get thisTabFocused(): boolean {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  /** Another tab of the user said it is focused. */
  get otherTabFocused(): boolean {
    return this.focusedTabs.size > 0;
  }

  stop(): void {
    window.removeEventListener("focus", this.update);
    window.removeEventListener("blur", this.update);
    document.removeEventListener("visibilitychange", this.update);
    window.removeEventListener("pagehide", this.leave);
    this.leave();
    this.channel?.close();
  }

  private say(force = false): void {
    const focused = this.thisTabFocused;
    if (!force && focused === this.lastSaid) return;
    this.lastSaid = focused;
    this.post({ type: "focus", tabId: this.tabId, focused });
  }

  private heard(message: FocusMessage): void {
    if (typeof message !== "object" || message === null || typeof message.tabId !== "string") return;
    switch (message.type) {
      case "hello":
        // A new tab does not know who is focused: tell it.
        this.say(true);
        return;
      case "focus":
        if (message.focused) this.focusedTabs.add(message.tabId);
        else this.focusedTabs.delete(message.tabId);
        return;
      case "bye":
        this.focusedTabs.delete(message.tabId);
        return;
    }
  }

  private post(message: FocusMessage): void {
    try {
      this.channel?.postMessage(message);
    } catch {
      // A closed channel (the page is going): nothing to tell.
    }
  }
}

/** The app path a notification opens (its `url`), handed to the app. */
export type OpenUrl = (url: string) => void;

/**
 * Shows the notifications the server sends, when no tab is focused. One per
 * signed-in page (ChatShell); `stop` when the session ends.
 */
export class DesktopNotifier {
  private readonly focus = new TabFocus();
  private readonly onWorkerMessage = (event: MessageEvent<unknown>) => {
    const data = event.data;
    if (typeof data === "object" && data !== null && (data as { type?: unknown }).type === "parley.open") {
      const url = (data as { url?: unknown }).url;
      if (typeof url === "string") this.openUrl(url);
    }
  };

  /** Keeps the permission read from the Permissions API current (see `desktopPermission`). */
  private readonly unwatch = subscribePermission(() => {});

  constructor(private readonly openUrl: OpenUrl) {
    navigator.serviceWorker?.addEventListener("message", this.onWorkerMessage);
  }

  /** Shows `notification` if this tab should (see `shouldShow`). @returns whether it was shown */
  async notify(notification: ParleyNotification): Promise<boolean> {
    const show = shouldShow({
      permission: desktopPermission(),
      thisTabFocused: this.focus.thisTabFocused,
      otherTabFocused: this.focus.otherTabFocused,
    });
    if (!show) return false;
    const count = notification.count ?? 1;
    const options: NotificationOptions = {
      body: count > 1 ? `${count} new messages` : notification.body,
      tag: notification.tag,
      data: { url: notification.url },
    };
    // The page's own icon (the app's, whatever index.html links), so the notification says where it is from.
    const icon = document.querySelector<HTMLLinkElement>('link[rel~="icon"]')?.href;
    if (icon) options.icon = icon;
    try {
      const registration = navigator.serviceWorker?.controller ? await navigator.serviceWorker.ready : null;
      if (registration) {
        // When the worker cannot show it (e.g. Chromium's headless shell, no platform for a worker's
        // notifications), the page's own Notification below still can.
        const viaWorker = await registration.showNotification(notification.title, options).then(() => true, () => false);
        if (viaWorker) return true;
      }
      const shown = new window.Notification(notification.title, options);
      shown.onclick = (event) => {
        event.preventDefault();
        window.focus();
        this.openUrl(notification.url);
        shown.close();
      };
      return true;
    } catch (error) {
      // E.g. Chrome on Android refuses `new Notification` (service worker only).
      console.warn("Showing a notification failed", error);
      return false;
    }
  }

  stop(): void {
    navigator.serviceWorker?.removeEventListener("message", this.onWorkerMessage);
    this.unwatch();
    this.focus.stop();
  }
}
