/**
 * Web Push in the browser (issue 19): turning "notify this device when
 * every tab is closed" on and off. The settings screen calls these; the
 * service worker (sw.ts) shows what arrives.
 *
 * - `pushSupport()`: whether push can work here, and the notification
 *   permission.
 * - `subscribePush(publicKey)`: asks for permission if it was never asked
 *   (call it from a person's click), subscribes with the server's VAPID key
 *   and stores the subscription on the server.
 * - `unsubscribePush()`: deletes it on the server, then in the browser.
 * - `currentPushEndpoint()` / `currentPushSubscriptionId()`: whether this
 *   browser is subscribed, and which of the user's listed devices it is.
 *
 * The server's id of this browser's subscription is kept in localStorage
 * (the list the server gives shows no endpoint, and the id is what DELETE
 * takes). Without it (storage cleared, or the worker re-subscribed on
 * `pushsubscriptionchange`), turning push off still unsubscribes the
 * browser, and the server deletes the row when the push service first
 * answers 410 for the dead endpoint.
 */
import { serviceWorkerEnabled } from "@web/app/serviceWorker";
import { PushError, base64UrlBytes, deleteSubscription, deviceLabel, saveSubscription, subscriptionKeys } from "./pushSubscriptions";

export { PushError } from "./pushSubscriptions";

export type PushSupport = "unsupported" | "default" | "granted" | "denied";

/** How long `subscribePush` waits for the service worker to be active (it registers on load). */
const WORKER_WAIT_MS = 10_000;
const STORAGE_KEY = "parley.push";

const BLOCKED = "Notifications are blocked by your browser: allow them in the site settings.";

/**
 * "unsupported": no service worker, Push API or Notifications API here (or
 * the page runs without its worker, as under `npm run dev`); otherwise the
 * notification permission: "default" (never asked), "granted", "denied".
 */
export function pushSupport(): PushSupport {
  if (!serviceWorkerEnabled() || typeof window === "undefined") return "unsupported";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return "unsupported";
  return Notification.permission;
}

/**
 * Subscribes this browser to push for the signed-in user. Call it from a
 * person's action: when permission was never asked, this asks first.
 * Subscribing again is harmless (the same subscription, stored again); a
 * subscription made with another server key (the operator changed the
 * VAPID keys) is replaced.
 * @param publicKey the server's VAPID public key (base64url), from GET /notifications/settings `push.publicKey`
 * @returns the subscription as PushSubscription.toJSON() gives it
 * @throws PushError: `unsupported`, `denied`, `push_service` (the browser's push service refused or is unreachable),
 *   or the server's refusal (`limit_reached`, …), `network_error`, `bad_response`; nothing stays subscribed then
 */
export async function subscribePush(publicKey: string): Promise<PushSubscriptionJSON> {
  if (pushSupport() === "unsupported") throw new PushError("unsupported", "This browser cannot receive push notifications from Parley.");
  const key = base64UrlBytes(publicKey);
  if (key === null) throw new PushError("unsupported", "The server has no push key yet; try again later.");
  // First, before any other await: the browser lets a page ask only while the click's activation lasts.
  const permission = Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
  if (permission !== "granted") throw new PushError("denied", BLOCKED);

  const registration = await activeRegistration();
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameBytes(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    try {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    } catch (error) {
      if (error instanceof DOMException && error.name === "NotAllowedError") throw new PushError("denied", BLOCKED);
      throw new PushError("push_service", "This browser could not reach its push service. Try again later.");
    }
  }
  const json = subscription.toJSON();
  try {
    const keys = subscriptionKeys(json);
    const saved = await saveSubscription(keys, deviceLabel(navigator.userAgent));
    remember({ endpoint: keys.endpoint, id: saved.id });
  } catch (error) {
    // Not stored on the server: do not leave the browser subscribed, or the toggle would say "on" for nothing.
    await subscription.unsubscribe().catch(() => false);
    throw error;
  }
  return json;
}

/**
 * Stops push to this browser: deletes its subscription on the server (when
 * this browser knows its id), then unsubscribes. Nothing subscribed: nothing happens.
 * @throws PushError when the server could not be told (`network_error`, …); the browser stays subscribed then
 */
export async function unsubscribePush(): Promise<void> {
  const registration = await currentRegistration();
  const subscription = (await registration?.pushManager.getSubscription()) ?? null;
  const saved = remembered();
  if (saved && (subscription === null || saved.endpoint === subscription.endpoint)) await deleteSubscription(saved.id);
  forget();
  await subscription?.unsubscribe();
}

/**
 * Stops push to this browser without asking the server (signing out: the
 * session is gone, and the next person on this browser must not see the
 * last one's notifications). The push service then answers 410 for the
 * dead endpoint and the server deletes the row at the next push. Never throws.
 */
export async function forgetPushOnThisBrowser(): Promise<void> {
  forget();
  try {
    const registration = await currentRegistration();
    await (await registration?.pushManager.getSubscription())?.unsubscribe();
  } catch {
    // No worker or push service: nothing is subscribed here that could notify.
  }
}

/** This browser's push endpoint, or null when it is not subscribed (or cannot be). */
export async function currentPushEndpoint(): Promise<string | null> {
  const registration = await currentRegistration();
  const subscription = (await registration?.pushManager.getSubscription()) ?? null;
  return subscription?.endpoint ?? null;
}

/**
 * The server's id of this browser's subscription (so the list of devices
 * can say "This device"), or null when this browser is not subscribed or
 * does not know it.
 */
export async function currentPushSubscriptionId(): Promise<string | null> {
  const endpoint = await currentPushEndpoint();
  const saved = remembered();
  return endpoint !== null && saved?.endpoint === endpoint ? saved.id : null;
}

/** The worker's registration once it is active, within WORKER_WAIT_MS. */
async function activeRegistration(): Promise<ServiceWorkerRegistration> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PushError("unsupported", "The app's service worker is not running. Reload the page and try again.")), WORKER_WAIT_MS);
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The worker's registration if there is one (never waits). */
async function currentRegistration(): Promise<ServiceWorkerRegistration | undefined> {
  if (pushSupport() === "unsupported") return undefined;
  return navigator.serviceWorker.getRegistration("/");
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (a === null || a.byteLength !== b.length) return false;
  const view = new Uint8Array(a);
  return view.every((byte, i) => byte === b[i]);
}

interface Remembered {
  endpoint: string;
  id: string;
}

function remember(value: Remembered): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  } catch {
    // Storage full or blocked: turning off later still works, through the 410 path (see the top of this file).
  }
}

function remembered(): Remembered | null {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    if (typeof value === "object" && value !== null && "endpoint" in value && "id" in value) {
      const { endpoint, id } = value;
      if (typeof endpoint === "string" && typeof id === "string") return { endpoint, id };
    }
  } catch {
    // Unreadable: as if nothing were stored.
  }
  return null;
}

function forget(): void {
  try {
    localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing to do: a stale entry is ignored once the endpoint differs.
  }
}
