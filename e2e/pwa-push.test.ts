/**
 * Web Push with every tab closed (issue 19, item 3), in real Chromium
 * against a real node and the test push service (test/support/
 * push-service.ts: TLS on 127.0.0.1, checks the VAPID JWT, decrypts the
 * aes128gcm body with the subscription's keys):
 *
 * 1. Bob's browser has the app's service worker; his subscription is
 *    registered through the API with the push service's endpoint and keys
 *    (headless Chromium has no push service of its own to subscribe to).
 * 2. Bob closes every tab of the app: the node sees no socket of his.
 * 3. Ada sends him a direct message; the node pushes it, encrypted, to
 *    the push service, which decrypts it.
 * 4. The test delivers that plaintext to Bob's worker as the browser would
 *    (CDP ServiceWorker.deliverPushMessage: a trusted push event), and the
 *    worker shows the notification: the conversation, the preview, one tag
 *    per conversation, the message's URL.
 * 5. A click (dispatched by the test: nothing can click a notification in
 *    headless Chromium) opens a window at the message,
 *    `/#/rooms/<roomId>/<seq>`; with a window open, it is focused and told
 *    to open the message instead.
 *
 * What is recorded rather than seen (no notification platform in the
 * headless shell, no trusted click) is explained in e2e/service-worker.ts.
 * Screenshot: pwa-push-opened.png (the window the click opens).
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { PushPayloadSchema } from "@shared/protocol/notifications.js";
import { startPushService, type PushService, type TestSubscription } from "../test/support/push-service.js";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually } from "./chat-page.js";
import { clickNotification, controllingWorker, pushDelivery, recordWorkerCalls, workerCalls } from "./service-worker.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");

let push: PushService;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  push = await startPushService();
  // The push service listens on 127.0.0.1, which the SSRF guard refuses unless allowed; its certificate is the test's own.
  server = await startTestServer({ pushAllowPrivateEndpoints: "true" }, { pushTls: { ca: push.ca } });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.destroy();
  await push?.close();
});

/** Registers `subscription` as the page's user's push subscription (POST /api/v1/push/subscriptions). @returns its id */
async function subscribeThroughApi(page: ChatPage, subscription: TestSubscription): Promise<string> {
  const answer = await page.page.evaluate(async (body) => {
    const me = (await (await fetch("/api/v1/me")).json()) as { csrfToken: string };
    const response = await fetch("/api/v1/push/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { subscription: { id: string } } };
  }, { ...subscription.json, label: "Chromium (test push service)" });
  expect(answer.status).toBe(201);
  return answer.body.subscription.id;
}

describe("Web Push with every tab closed", () => {
  it("a direct message is pushed, shown by the worker, and its click opens a window at the message", async () => {
    const ada = await ChatPage.open(browser, server.baseUrl);
    const bob = await ChatPage.open(browser, server.baseUrl);
    try {
      await ada.signUp("ada");
      await bob.signUp("bob");
      await bob.context.grantPermissions(["notifications"], { origin: server.baseUrl });
      const worker = await controllingWorker(bob.context, bob.page);
      const subscription = push.subscriptionFor();
      await subscribeThroughApi(bob, subscription);
      const bobId = (await bob.apiGet<{ user: { id: string } }>("/me")).user.id;
      await ada.startDirect(bob.username);
      const roomId = await ada.openRoomId();

      const delivery = await pushDelivery(bob.context, server.baseUrl);
      await recordWorkerCalls(worker);
      await bob.page.close();
      await eventually("bob has no socket open", () => server.server.gateway.connectionsOf(bobId).length === 0);

      await ada.send("Lunch at noon?");
      const [received] = await push.waitForPushes(1, { subscriptionId: subscription.id, ms: 20_000 });
      expect(push.refused).toEqual([]);
      const payload = PushPayloadSchema.parse(received?.payload);
      if (payload.kind !== "message") throw new Error(`a message push was expected, got ${payload.kind}`);
      const { notification } = payload;
      const url = `/#/rooms/${encodeURIComponent(roomId)}/${notification.seq}`;
      expect(notification).toMatchObject({ roomId, reason: "direct", url });
      expect(notification.body).toContain("Lunch at noon?");

      await delivery.deliver(received?.body ?? "");
      await eventually("the worker shows a notification", async () => (await workerCalls(worker)).shown.length === 1);
      const [shown] = (await workerCalls(worker)).shown;
      expect(shown).toEqual({
        title: notification.title,
        options: {
          body: notification.body,
          tag: notification.tag,
          data: { url },
          icon: "/icons/icon-192.png",
          badge: "/icons/badge-96.png",
          timestamp: Date.parse(notification.createdAt),
          renotify: true,
        },
      });
      // A browser with a notification platform lists it; the headless shell refuses every notification (e2e/service-worker.ts).
      const listed = () =>
        worker.evaluate(async () =>
          (await (self as unknown as { registration: ServiceWorkerRegistration }).registration.getNotifications()).map((n) => ({ title: n.title, tag: n.tag })),
        );
      const permission = await worker.evaluate(() => Notification.permission);
      // showNotification was recorded when called; the browser lists the notification once its promise settles.
      if (permission === "granted") await eventually("the browser lists the notification", async () => (await listed()).length > 0);
      expect(await listed()).toEqual(permission === "granted" ? [{ title: notification.title, tag: notification.tag }] : []);

      await clickNotification(worker, url);
      // No window of the app is open: the worker opens one at the message.
      await eventually("the worker opens a window", async () => (await workerCalls(worker)).opened.length === 1);
      expect((await workerCalls(worker)).opened).toEqual([url]);
      // The browser refuses an untrusted click's window; the test opens the URL as the browser would have.
      const opened = await bob.context.newPage();
      await opened.goto(`${server.baseUrl}${url}`);
      await opened.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 15_000 });
      expect(new URL(opened.url()).hash).toBe(`#/rooms/${encodeURIComponent(roomId)}/${notification.seq}`);
      // The route opens the room at that message.
      await opened.locator(`[data-testid="room-view"][data-room-id="${roomId}"]`).waitFor();
      await opened.getByTestId("message-body").getByText("Lunch at noon?", { exact: true }).waitFor();
      await opened.screenshot({ path: path.join(RESULTS_DIR, "pwa-push-opened.png") });
      await delivery.close();
    } finally {
      await ada.close();
      await bob.close();
    }
  });

  it("with a window of the app open, the click focuses it and tells it to open the message", async () => {
    const bob = await ChatPage.open(browser, server.baseUrl);
    try {
      await bob.signUp("bob");
      const worker = await controllingWorker(bob.context, bob.page);
      await recordWorkerCalls(worker);
      await bob.page.evaluate(() => {
        const seen: unknown[] = [];
        (window as unknown as { __fromWorker: unknown[] }).__fromWorker = seen;
        navigator.serviceWorker.addEventListener("message", (event) => seen.push(event.data));
      });
      await clickNotification(worker, "/#/rooms/r1/7");
      await eventually("the page is told", async () =>
        (await bob.page.evaluate(() => (window as unknown as { __fromWorker: unknown[] }).__fromWorker.length)) === 1,
      );
      expect(await bob.page.evaluate(() => (window as unknown as { __fromWorker: unknown[] }).__fromWorker)).toEqual([{ type: "parley.open", url: "/#/rooms/r1/7" }]);
      expect((await workerCalls(worker)).opened).toEqual([]);
    } finally {
      await bob.close();
    }
  });

  it("the settings' test push and an unreadable push are shown too (a push that shows nothing is penalised)", async () => {
    const bob = await ChatPage.open(browser, server.baseUrl);
    try {
      await bob.signUp("bob");
      const worker = await controllingWorker(bob.context, bob.page);
      const subscription = push.subscriptionFor();
      const id = await subscribeThroughApi(bob, subscription);
      const delivery = await pushDelivery(bob.context, server.baseUrl);
      await recordWorkerCalls(worker);

      const status = await bob.page.evaluate(async (subscriptionId) => {
        const me = (await (await fetch("/api/v1/me")).json()) as { csrfToken: string };
        const response = await fetch(`/api/v1/push/subscriptions/${subscriptionId}/test`, { method: "POST", headers: { "x-csrf-token": me.csrfToken } });
        return response.status;
      }, id);
      expect(status).toBe(202);
      const [received] = await push.waitForPushes(1, { subscriptionId: subscription.id, ms: 20_000 });
      const payload = PushPayloadSchema.parse(received?.payload);
      if (payload.kind !== "test") throw new Error(`a test push was expected, got ${payload.kind}`);
      await delivery.deliver(received?.body ?? "");
      await delivery.deliver("not a Parley payload");
      await eventually("both are shown", async () => (await workerCalls(worker)).shown.length === 2);
      const { shown } = await workerCalls(worker);
      expect(shown.map((n) => [n.title, n.options.body, n.options.tag, n.options.data?.url])).toEqual([
        [payload.title, payload.body, payload.tag, "/"],
        ["Parley", "New activity", "parley-activity", "/"],
      ]);
      await delivery.close();
    } finally {
      await bob.close();
    }
  });
});
