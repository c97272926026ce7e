/**
 * Parley's service worker (issue 19), built by vite-plugin-pwa
 * (`injectManifest`, vite.config.ts) to dist/web/sw.js, a classic script,
 * and served with `Cache-Control: no-cache` (server/app.ts). Four jobs:
 *
 * 1. **Offline shell.** The build's files (index.html, scripts, styles,
 *    icons, the manifest) are precached by workbox at install;
 *    `self.__WB_MANIFEST` is replaced by their list with a revision each.
 *    A navigation to the app ("/" — its routes live in the hash) goes to
 *    the network first, so an online load always gets the deployed
 *    index.html and a new version shows at the next load; when the network
 *    or the server cannot answer, the precached index.html starts the app,
 *    which then says it is offline (app/App.tsx). Nothing else is
 *    intercepted: the API, the WebSocket, files and /api/docs go to the
 *    network as without a worker; hashed assets come from the precache.
 * 2. **push**: the payload (PushPayloadSchema JSON, decrypted by the
 *    browser) becomes a notification (notifications/pushNotification.ts).
 * 3. **notificationclick**: focuses an open window of the app and posts it
 *    `{type: "parley.open", url}` (the page opens the message), or opens a
 *    new window at the message's URL when none is open.
 * 4. **pushsubscriptionchange**: the browser replaced the subscription;
 *    subscribe again with the same server key and store the new one on the
 *    server (POST /api/v1/push/subscriptions). The old endpoint dies and
 *    the server deletes it on its first 410.
 *
 * A new version of this file takes over at once (skipWaiting +
 * clients.claim): it only changes what the next navigation is served and
 * what a push shows, and the precached files of the version a tab runs are
 * hashed names the server also has.
 */
import { cleanupOutdatedCaches, matchPrecache, precacheAndRoute, type PrecacheEntry } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";
import { notificationFromPush, openMessage, windowForClick, appPath, type NotificationData } from "./notifications/pushNotification";
import { deviceLabel, saveSubscription, serverPushKey, subscriptionKeys } from "./notifications/pushSubscriptions";

// ---- the service worker's own types (the project's lib is the DOM's; the WebWorker lib would clash with it) ----

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface PushEvent extends ExtendableEvent {
  readonly data: { text(): string } | null;
}
interface NotificationEvent extends ExtendableEvent {
  readonly notification: Notification;
}
interface PushSubscriptionChangeEvent extends ExtendableEvent {
  readonly newSubscription: PushSubscription | null;
  readonly oldSubscription: PushSubscription | null;
}
interface WindowClient {
  readonly url: string;
  readonly focused: boolean;
  readonly visibilityState: DocumentVisibilityState;
  focus(): Promise<WindowClient>;
  postMessage(message: unknown): void;
}
interface Clients {
  matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<readonly WindowClient[]>;
  openWindow(url: string): Promise<WindowClient | null>;
  claim(): Promise<void>;
}
interface ServiceWorkerScope {
  readonly location: Location;
  readonly registration: ServiceWorkerRegistration;
  readonly clients: Clients;
  readonly navigator: { readonly userAgent: string };
  /** The precache list, written in by workbox-build's injectManifest at build time. */
  readonly __WB_MANIFEST: (PrecacheEntry | string)[];
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "push", listener: (event: PushEvent) => void): void;
  addEventListener(type: "notificationclick", listener: (event: NotificationEvent) => void): void;
  addEventListener(type: "pushsubscriptionchange", listener: (event: PushSubscriptionChangeEvent) => void): void;
}
declare const self: ServiceWorkerScope;

const origin = self.location.origin;

// ---- 1. the offline shell ----

// Registered before the precache's route, which would otherwise answer "/" from the cache (cache first) every time.
registerRoute(
  new NavigationRoute(
    async ({ request }) => {
      try {
        return await fetch(request);
      } catch {
        // Offline, or the server is down: the app from the precache, which says so and retries.
        return (await matchPrecache("/index.html")) ?? Response.error();
      }
    },
    // Only the app's own page: a navigation to /api/… (a file's download link, /api/docs) is never answered with the app.
    { allowlist: [/^\/(index\.html)?(\?.*)?$/] },
  ),
);
precacheAndRoute(self.__WB_MANIFEST);
// Caches of older workbox formats, left by an earlier version of this worker.
cleanupOutdatedCaches();

self.addEventListener("install", () => {
  void self.skipWaiting();
});
self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

// ---- 2. push ----

// The app icon's badge is left to the page (notifications/badge.ts), which knows the unread total: the worker
// does not set one. (WorkerNavigator.setAppBadge also kills the worker in Chromium's headless shell.)
self.addEventListener("push", (event) => {
  const shown = notificationFromPush(readText(event), origin);
  event.waitUntil(self.registration.showNotification(shown.title, shown.options));
});

/** The push's data as text; null when it has none or it cannot be read. */
function readText(event: PushEvent): string | null {
  try {
    return event.data?.text() ?? null;
  } catch {
    return null;
  }
}

// ---- 3. a click ----

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data as Partial<NotificationData> | null;
  event.waitUntil(openApp(appPath(data?.url, origin)));
});

/** Focuses the best open window and asks it to open `url` (an app path), or opens a new window there. */
async function openApp(url: string): Promise<void> {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const index = windowForClick(windows, origin);
  const target = index === null ? undefined : windows[index];
  if (!target) {
    await self.clients.openWindow(url);
    return;
  }
  target.postMessage(openMessage(url));
  await target.focus().catch(() => undefined);
}

// ---- 4. the browser replaced the subscription ----

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(
    resubscribe(event).catch((error: unknown) => {
      // Signed out, offline, or no push service: the person turns push on again from the settings.
      console.warn("Could not renew the push subscription", error);
    }),
  );
});

async function resubscribe(event: PushSubscriptionChangeEvent): Promise<void> {
  let subscription = event.newSubscription;
  if (!subscription) {
    // The old subscription's key (Chrome keeps it); else the server's, as the settings screen got it.
    const key = event.oldSubscription?.options.applicationServerKey ?? (await serverPushKey());
    if (key === null) return;
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await saveSubscription(subscriptionKeys(subscription.toJSON()), deviceLabel(self.navigator.userAgent));
}
