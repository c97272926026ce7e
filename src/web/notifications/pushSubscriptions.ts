/**
 * The server's side of a browser's push subscription, as both the page
 * (push.ts) and the service worker (sw.ts, on `pushsubscriptionchange`)
 * call it: POST /api/v1/push/subscriptions and DELETE …/:id
 * (docs/protocol.md, "Web Push").
 *
 * Plain `fetch`, not the page's HttpTransport: the worker has no page and
 * no CSRF token, so each change first reads the session's token from
 * GET /api/v1/me (same-origin cookie). One more request, on a rare action
 * (a toggle, a browser rotating its subscription).
 */
import { z } from "zod";
import { ErrorBodySchema } from "@shared/protocol/errors.js";
import { PushSubscriptionResponseSchema, type PushSubscription } from "@shared/protocol/notifications.js";

/**
 * Why push could not be turned on or off, as a code the settings screen
 * switches on and a sentence it can show:
 * - `unsupported`: this browser has no service worker, Push API or
 *   notifications (or this page runs without the worker: `npm run dev`);
 * - `denied`: the person (or the browser) refused notifications;
 * - `network_error`: the server could not be reached;
 * - `bad_response`: the server answered a shape the shared schema refuses;
 * - any error code of the server (`limit_reached`, `validation_failed`,
 *   `unauthenticated`, `rate_limited`, …).
 */
export class PushError extends Error {
  override readonly name = "PushError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const CsrfSchema = z.object({ csrfToken: z.string() });
/** The one field of NotificationSettingsResponse the worker needs. */
const PushKeySchema = z.object({ push: z.object({ publicKey: z.string() }) });

/** The browser's subscription as PushSubscription.toJSON() gives it; what the server stores. */
export interface SubscriptionKeys {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** The endpoint and keys of `toJSON()`, or a PushError when the browser left one out. */
export function subscriptionKeys(json: PushSubscriptionJSON): SubscriptionKeys {
  const { endpoint, keys } = json;
  if (!endpoint || !keys?.p256dh || !keys.auth) throw new PushError("unsupported", "This browser gave a push subscription without its keys.");
  return { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } };
}

/**
 * Stores the subscription for the signed-in user (the server upserts on
 * the endpoint: subscribing again is harmless).
 * @param label the device's name in the user's list ("Chrome on Linux"), ≤ 100 chars
 * @returns the subscription as the server lists it (its `id` deletes it)
 * @throws PushError with the server's code, `network_error` or `bad_response`
 */
export async function saveSubscription(subscription: SubscriptionKeys, label: string): Promise<PushSubscription> {
  const csrf = await csrfToken();
  const response = await send("/api/v1/push/subscriptions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify({ ...subscription, label: label.slice(0, 100) }),
  });
  const parsed = PushSubscriptionResponseSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new PushError("bad_response", "The server's answer was not understood.");
  return parsed.data.subscription;
}

/**
 * Deletes one of the user's subscriptions; one already gone (404) counts as deleted.
 * @throws PushError as saveSubscription
 */
export async function deleteSubscription(id: string): Promise<void> {
  const csrf = await csrfToken();
  await send(`/api/v1/push/subscriptions/${encodeURIComponent(id)}`, { method: "DELETE", headers: { "X-CSRF-Token": csrf } }, [404]);
}

/**
 * The server's VAPID public key (GET /api/v1/notifications/settings,
 * `push.publicKey`) as bytes; null when the server has none.
 * @throws PushError as saveSubscription
 */
export async function serverPushKey(): Promise<Uint8Array<ArrayBuffer> | null> {
  const response = await send("/api/v1/notifications/settings", { headers: { Accept: "application/json" } });
  const parsed = PushKeySchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new PushError("bad_response", "The server's answer was not understood.");
  return base64UrlBytes(parsed.data.push.publicKey);
}

/** The session's CSRF token (GET /api/v1/me). */
async function csrfToken(): Promise<string> {
  const response = await send("/api/v1/me", { headers: { Accept: "application/json" } });
  const parsed = CsrfSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new PushError("bad_response", "The server's answer was not understood.");
  return parsed.data.csrfToken;
}

/** fetch on this origin with the session cookie; a non-2xx status (other than `alsoOk`) → PushError with the server's code. */
async function send(path: string, init: RequestInit, alsoOk: readonly number[] = []): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, credentials: "same-origin" });
  } catch {
    throw new PushError("network_error", "Cannot reach the server. Check your connection.");
  }
  if (response.ok || alsoOk.includes(response.status)) return response;
  const body = ErrorBodySchema.safeParse(await response.json().catch(() => undefined));
  if (body.success) throw new PushError(body.data.error.code, body.data.error.message);
  throw new PushError("bad_response", `The server answered ${response.status}.`);
}

/** A base64url string (padding optional) as bytes; null when empty or not base64url. */
export function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length === 0 || !/^[A-Za-z0-9_-]+={0,2}$/.test(text)) return null;
  const base64 = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
  let binary: string;
  try {
    binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * A device's name for the user's list of subscribed devices, from a
 * User-Agent string: "Firefox on Linux", "Chrome on Android", "Safari on
 * iOS"; "Browser" / "this device" for what it does not recognise.
 */
export function deviceLabel(userAgent: string): string {
  return `${browserOf(userAgent)} on ${systemOf(userAgent)}`;
}

function browserOf(ua: string): string {
  // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
  if (/\bEdg(A|iOS)?\//.test(ua)) return "Edge";
  if (/\b(OPR|Opera)\//.test(ua)) return "Opera";
  if (/\bSamsungBrowser\//.test(ua)) return "Samsung Internet";
  if (/\b(Firefox|FxiOS)\//.test(ua)) return "Firefox";
  if (/\b(Chrome|Chromium|CriOS|HeadlessChrome)\//.test(ua)) return "Chrome";
  if (/\bSafari\//.test(ua)) return "Safari";
  return "Browser";
}

function systemOf(ua: string): string {
  if (/\bAndroid\b/.test(ua)) return "Android";
  if (/\b(iPhone|iPod)\b/.test(ua)) return "iOS";
  if (/\biPad\b/.test(ua)) return "iPadOS";
  if (/\bCrOS\b/.test(ua)) return "ChromeOS";
  if (/\bWindows\b/.test(ua)) return "Windows";
  if (/\bMac OS X\b|\bMacintosh\b/.test(ua)) return "macOS";
  if (/\bLinux\b/.test(ua)) return "Linux";
  return "this device";
}
