/**
 * The app's service worker (src/web/sw.ts) in end-to-end tests: waiting
 * until it controls a page, delivering a push message to it as the browser
 * does, and recording what it asks of the browser where headless Chromium
 * cannot do it.
 *
 * Headless Chromium has no push service (PushManager.subscribe fails), so a
 * test registers a subscription through the API with the test push
 * service's endpoint and keys (test/support/push-service.ts), takes what
 * that service received and decrypted, and hands it to the worker with
 * CDP's `ServiceWorker.deliverPushMessage`: a real, trusted `push` event.
 * That CDP call needs a page's session in the same browser context; an
 * about:blank page holds it ("every tab of the app closed" stays true: it
 * is no window of the app, and `clients.matchAll` does not list it).
 *
 * Two things no automation can do, recorded instead by wrapping the
 * worker's own functions (as the badge test wraps navigator.setAppBadge):
 * - the headless shell (@sparticuz/chromium) has no notification platform
 *   and refuses `showNotification` whatever the permission; a full
 *   Chromium shows it and `registration.getNotifications()` lists it;
 * - a notification cannot be clicked: the test dispatches
 *   `notificationclick` itself, an untrusted event, and Chromium lets only
 *   a trusted click open or focus a window, so `clients.openWindow` is
 *   recorded and the test opens that URL as the browser would.
 */
import type { BrowserContext, CDPSession, Page, Worker } from "playwright-core";

/** Resolves with the app's worker once it controls `page` (sw.ts claims open pages when it activates). */
export async function controllingWorker(context: BrowserContext, page: Page, timeoutMs = 20_000): Promise<Worker> {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: timeoutMs });
  const worker = context.serviceWorkers().find((w) => new URL(w.url()).pathname === "/sw.js");
  if (!worker) throw new Error("the page is controlled, but Playwright lists no /sw.js worker");
  return worker;
}

/** A notification as the worker asked for it (`showNotification`'s arguments). */
export interface ShownByWorker {
  title: string;
  options: { body?: string; tag?: string; icon?: string; badge?: string; data?: { url?: string }; timestamp?: number; renotify?: boolean };
}

interface RecordingScope {
  __shown: ShownByWorker[];
  __opened: string[];
}

/**
 * Wraps the worker's `registration.showNotification` and
 * `clients.openWindow` so the test can read what they were called with;
 * both still call the browser's own.
 */
export async function recordWorkerCalls(worker: Worker): Promise<void> {
  await worker.evaluate(() => {
    const scope = self as unknown as RecordingScope & {
      registration: { showNotification(title: string, options: object): Promise<void> };
      clients: { openWindow(url: string): Promise<unknown> };
    };
    scope.__shown = [];
    scope.__opened = [];
    const registration = scope.registration;
    const show = registration.showNotification.bind(registration);
    registration.showNotification = (title, options) => {
      scope.__shown.push(JSON.parse(JSON.stringify({ title, options })) as ShownByWorker);
      // The headless shell refuses (no notification platform): recorded above, the refusal is not the test's subject.
      return show(title, options).catch(() => undefined);
    };
    const clients = scope.clients;
    const open = clients.openWindow.bind(clients);
    clients.openWindow = (url) => {
      scope.__opened.push(url);
      // Refused for the test's untrusted click ("Not allowed to open a window"): the test opens it.
      return open(url).catch(() => null);
    };
  });
}

/** What the worker asked to show and to open so far. */
export async function workerCalls(worker: Worker): Promise<{ shown: ShownByWorker[]; opened: string[] }> {
  return worker.evaluate(() => {
    const scope = self as unknown as RecordingScope;
    return { shown: scope.__shown, opened: scope.__opened };
  });
}

/** A CDP session able to deliver pushes to the context's workers, held by an about:blank page. */
export interface PushDelivery {
  /** Delivers `data` as a push message to the worker registered for `origin`'s root scope. */
  deliver(data: string): Promise<void>;
  close(): Promise<void>;
}

export async function pushDelivery(context: BrowserContext, origin: string): Promise<PushDelivery> {
  const holder = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(holder);
  const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (event) => registrations.push(...event.registrations));
  await cdp.send("ServiceWorker.enable");
  const scope = `${origin}/`;
  const deadline = Date.now() + 10_000;
  while (!registrations.some((r) => r.scopeURL === scope && !r.isDeleted)) {
    if (Date.now() > deadline) throw new Error(`no service worker registration for ${scope}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const registrationId = registrations.find((r) => r.scopeURL === scope && !r.isDeleted)?.registrationId ?? "";
  return {
    deliver: async (data) => {
      await cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId, data });
    },
    close: async () => {
      await cdp.detach().catch(() => undefined);
      await holder.close();
    },
  };
}

/** Dispatches `notificationclick` in the worker for its notification that opens `url` (or, without a notification platform, one carrying `url`). */
export async function clickNotification(worker: Worker, url: string): Promise<void> {
  await worker.evaluate(async (fallbackUrl) => {
    const scope = self as unknown as { registration: ServiceWorkerRegistration; ExtendableEvent: typeof Event };
    const listed = await scope.registration.getNotifications();
    const shown = listed.find((n) => (n.data as { url?: string } | null)?.url === fallbackUrl) ?? listed[0];
    const event = new scope.ExtendableEvent("notificationclick");
    Object.defineProperty(event, "notification", { value: shown ?? { data: { url: fallbackUrl }, close: () => undefined } });
    // The handler's waitUntil throws for an event the page made (untrusted); its work has started by then.
    self.dispatchEvent(event);
  }, url);
}
