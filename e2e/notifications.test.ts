/**
 * Notifications in the web client (issue 19, items 1, 2 and 6), in real
 * Chromium against a real server: Ada writes, Bob is told.
 *
 * - Bob's tab hidden and unfocused: Ada's direct message shows a browser
 *   notification (the room, the author and a preview, tagged per
 *   conversation); clicking it opens the message (`#/rooms/<id>/<seq>`).
 *   Observed through a wrapped `window.Notification` (an init script) or,
 *   when a service worker controls the page, `registration.getNotifications()`.
 * - Bob sets a room to Nothing, then mutes it: no notification from it (a
 *   direct message sent after it is the control that one would have come),
 *   and the room looks muted and sorts last, its count kept.
 * - A change made in one of Bob's tabs shows in his other tab at once.
 * - The settings screen by mouse (1280 px) and by touch (375 px), axe on it
 *   and on the room's menu and dialog, light and dark.
 * - Permission is never asked on load; the banner asks; when the person
 *   blocks notifications (the browser's Block, done here through CDP's
 *   Browser.setPermission: headless Chromium shows no prompt to press), the
 *   banner and the settings explain it.
 *
 * Screenshots (test-results/): notify-settings-desktop.png,
 * notify-settings-dark.png, notify-settings-phone.png, notify-room-dialog.png,
 * notify-room-menu-phone.png, notify-muted-sidebar.png, notify-banner.png,
 * notify-blocked.png.
 */
import fs from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { axeViolations, formatViolations } from "./axe.js";
import { launchBrowser } from "./browser.js";
import { clickNotification, controllingWorker } from "./service-worker.js";
import { ChatPage, PASSWORD, eventually, unique } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");
const PHONE = { width: 375, height: 740 };

interface Shown {
  /** Shown by the service worker's registration (a full Chromium) or by `new Notification` (the headless shell refuses the worker's). */
  via: "worker" | "page";
  title: string;
  body: string;
  tag: string;
  url: string;
}

/**
 * Records every notification the page shows and every permission request:
 * `new Notification` through a wrapped constructor, and the service
 * worker's registration.showNotification (what desktop.ts uses when a
 * worker controls the page) through a wrapped prototype, recorded once the
 * browser accepted it (a refusal falls back to `new Notification`, recorded
 * there). Read from the page's record, not from getNotifications(): a full
 * Chromium replaces a conversation's notification by tag, so that list
 * never grows for a second message of the same conversation.
 */
async function recordNotifications(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __shown: unknown[]; __asked: number; __instances: Notification[]; Notification: typeof Notification };
    w.__shown = [];
    w.__asked = 0;
    w.__instances = [];
    const record = (via: string, title: string, options?: NotificationOptions) =>
      w.__shown.push({ via, title, body: options?.body ?? "", tag: options?.tag ?? "", url: (options?.data as { url?: string } | undefined)?.url ?? "" });
    if (typeof ServiceWorkerRegistration !== "undefined") {
      const show = ServiceWorkerRegistration.prototype.showNotification;
      ServiceWorkerRegistration.prototype.showNotification = function (title: string, options?: NotificationOptions) {
        return show.call(this, title, options).then(() => {
          record("worker", title, options);
        });
      };
    }
    const Real = window.Notification;
    if (!Real) return;
    class Recording extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        record("page", title, options);
        w.__instances.push(this);
      }
    }
    Object.defineProperty(Recording, "permission", { get: () => Real.permission });
    Object.defineProperty(Recording, "requestPermission", {
      value: (...args: Parameters<typeof Notification.requestPermission>) => {
        w.__asked += 1;
        return Real.requestPermission(...args);
      },
    });
    w.Notification = Recording;
  });
}

/** What the page has shown so far (both paths, in order). */
async function shownIn(page: Page): Promise<Shown[]> {
  return page.evaluate(() => (window as unknown as { __shown: Shown[] }).__shown);
}

/** The page stops being looked at: hidden and without focus (another window in front), as the browser would report. */
async function lookAway(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.hasFocus = () => false;
    document.dispatchEvent(new Event("visibilitychange"));
    window.dispatchEvent(new Event("blur"));
  });
}

/** The page is looked at again. */
async function lookBack(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
    document.hasFocus = () => true;
    document.dispatchEvent(new Event("visibilitychange"));
    window.dispatchEvent(new Event("focus"));
  });
}

/** The person blocks notifications for the site, as the browser's prompt or site settings would. */
async function blockNotifications(page: Page, origin: string): Promise<void> {
  const pageSession = await page.context().newCDPSession(page);
  const { targetInfo } = (await pageSession.send("Target.getTargetInfo")) as { targetInfo: { browserContextId?: string } };
  const browserSession = await page.context().browser()!.newBrowserCDPSession();
  await browserSession.send("Browser.setPermission", {
    permission: { name: "notifications" },
    setting: "denied",
    origin,
    browserContextId: targetInfo.browserContextId,
  });
}

async function expectNoSerious(page: Page, selector: string, what: string): Promise<void> {
  const violations = await axeViolations(page, { selector, impacts: ["serious", "critical"], wcag22: true });
  expect(violations, `${what}:\n${formatViolations(violations)}`).toEqual([]);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(RESULTS_DIR, name) });
}

describe("notifications in the web client", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;
  let bob: ChatPage;
  const general = `general-${unique()}`;
  const later = `later-${unique()}`;
  let directId = "";
  let generalId = "";

  /** Bob's open room's notifications dialog, through the header's bell (desktop). */
  async function openRoomDialog(page: Page) {
    await page.getByTestId("room-notifications").click();
    const dialog = page.getByTestId("room-notifications-dialog");
    await dialog.waitFor();
    return dialog;
  }

  beforeAll(async () => {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    server = await startTestServer();
    browser = await launchBrowser();
    ada = await ChatPage.open(browser, server.baseUrl);
    bob = await ChatPage.open(browser, server.baseUrl);
    await recordNotifications(bob.context);
    await bob.context.grantPermissions(["notifications"], { origin: server.baseUrl });
    await bob.page.reload();
    await ada.signUp("ada");
    await bob.signUp("bob");
    await ada.createRoom(general);
    generalId = await ada.openRoomId();
    await bob.joinPublicRoom(general);
    await ada.createRoom(later);
    await bob.joinPublicRoom(later);
    await ada.startDirect(bob.username);
    directId = await ada.openRoomId();
    await ada.send("hello bob");
    await bob.roomItem(ada.username).waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("never asks for permission on load; with it granted no banner shows", async () => {
    expect(await bob.page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0);
    expect(await bob.byTestId("notify-banner").count()).toBe(0);
  });

  it("shows a direct message as a notification while Bob's tab is hidden, and its click opens the message", async () => {
    await bob.openRoom(general);
    // Looked at: nothing is shown.
    await ada.send("are you around?");
    await bob.roomItem(ada.username).getByTestId("room-preview").getByText("are you around?").waitFor();
    expect(await shownIn(bob.page)).toEqual([]);

    await lookAway(bob.page);
    await ada.send("lunch at noon?");
    await eventually("Bob is notified", async () => (await shownIn(bob.page)).length === 1);
    const [shown] = await shownIn(bob.page);
    expect(shown!.title).toBe(ada.username);
    expect(shown!.body).toContain("lunch at noon?");
    expect(shown!.tag).not.toBe("");
    expect(shown!.url).toMatch(new RegExp(`^/#/rooms/${encodeURIComponent(directId)}/\\d+$`));

    await lookBack(bob.page);
    if (shown!.via === "worker") {
      // The worker's notificationclick (sw.ts) posts {type: "parley.open", url} to the open window.
      await clickNotification(await controllingWorker(bob.context, bob.page), shown!.url);
    } else {
      await bob.page.evaluate(() => {
        const w = window as unknown as { __instances: Notification[] };
        const n = w.__instances.at(-1);
        n?.onclick?.call(n, new Event("click"));
      });
    }
    await bob.waitForOpenRoom(ada.username);
    expect(await bob.page.evaluate(() => window.location.hash)).toBe(shown!.url.slice(1));
    await eventually("the message has the focus", () =>
      bob.page.evaluate(() => document.activeElement?.closest('[data-testid="message"]')?.textContent?.includes("lunch at noon?") ?? false),
    );
  });

  it("tells nothing of a room set to Nothing, then muted; the muted room looks muted, sorts last and keeps its count", async () => {
    await bob.openRoom(general);
    let dialog = await openRoomDialog(bob.page);
    // Default says what it means here: mentions, the default for rooms.
    expect(await dialog.getByTestId("room-level-default").evaluate((el) => el.closest("label")?.textContent)).toBe("Default (Mentions only)");
    await dialog.getByTestId("room-level-nothing").check();
    await eventually("the server has the level", async () => {
      const { rooms } = await bob.apiGet<{ rooms: { id: string; notifications?: { level: string } }[] }>("/rooms");
      return rooms.find((r) => r.id === generalId)?.notifications?.level === "nothing";
    });
    expect(await dialog.getByTestId("room-level-nothing").isChecked()).toBe(true);
    await shot(bob.page, "notify-room-dialog.png");
    await expectNoSerious(bob.page, '[data-testid="room-notifications-dialog"]', "the room's notifications dialog");
    await dialog.getByTestId("room-notifications-done").click();

    await bob.openRoom(later);
    await lookAway(bob.page);
    const before = (await shownIn(bob.page)).length;
    await ada.openRoom(general);
    await ada.send(`@${bob.username} the release notes are up`);
    // The control: a direct message after it is shown, so the mention would have been by now.
    await ada.openRoom(bob.username);
    await ada.send("did you see the notes?");
    await eventually("the direct message is shown", async () => (await shownIn(bob.page)).length === before + 1);
    const shown = await shownIn(bob.page);
    expect(shown.some((n) => n.body.includes("release notes"))).toBe(false);
    await lookBack(bob.page);

    // Back to everything, but muted until unmuted: still nothing.
    await bob.openRoom(general);
    dialog = await openRoomDialog(bob.page);
    await dialog.getByTestId("room-level-all").check();
    await dialog.getByTestId("room-mute-forever").click();
    await dialog.getByTestId("room-mute-state").waitFor();
    expect(await dialog.getByTestId("room-mute-state").textContent()).toContain("Muted until you unmute");
    await dialog.getByTestId("room-notifications-done").click();
    expect(await bob.byTestId("room-notifications").getAttribute("aria-label")).toContain("muted until you unmute");

    await bob.openRoom(later);
    await lookAway(bob.page);
    const before2 = (await shownIn(bob.page)).length;
    await ada.openRoom(general);
    await ada.send("anyone for coffee?");
    await ada.openRoom(bob.username);
    await ada.send("coffee?");
    await eventually("the direct message is shown", async () => (await shownIn(bob.page)).length === before2 + 1);
    expect((await shownIn(bob.page)).some((n) => n.body.includes("anyone for coffee"))).toBe(false);
    await lookBack(bob.page);

    // The sidebar: muted, said in words, after the unmuted room although it is the most recent, its count kept.
    const item = bob.roomItem(general);
    await eventually("the muted room has its count", async () => (await item.getByTestId("unread-badge").count()) === 1);
    expect(await item.getAttribute("data-muted")).toBe("true");
    expect(await item.getByTestId("room-muted").getAttribute("aria-label")).toBe("Muted until you unmute");
    const order = await bob.byTestId("room-list").getByTestId("room-item").evaluateAll((els) => els.map((el) => el.getAttribute("data-room-name")));
    expect(order).toEqual([later, general]);
    await shot(bob.page, "notify-muted-sidebar.png");
  });

  it("shows a change made in one of Bob's tabs in his other tab at once", async () => {
    const second = await bob.context.newPage();
    try {
      await second.goto(server.baseUrl);
      await bob.waitUntilConnected();
      await second.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
      const inSecond = second.locator(`[data-testid="room-item"][data-room-name="${general}"]`);
      await eventually("the second tab shows it muted", async () => (await inSecond.getAttribute("data-muted")) === "true");

      await bob.openRoom(general);
      const dialog = await openRoomDialog(bob.page);
      await dialog.getByTestId("room-unmute").click();
      await eventually("the second tab shows it unmuted", async () => (await inSecond.getAttribute("data-muted")) === null);
      await dialog.getByTestId("room-notifications-done").click();

      // The account's default changed in the second tab: the first tab's room dialog says it.
      await second.getByTestId("open-settings").click();
      await second.getByTestId("default-room-level-nothing").check();
      await eventually("saved", async () => {
        const { settings } = await bob.apiGet<{ settings: { roomLevel: string } }>("/notifications/settings");
        return settings.roomLevel === "nothing";
      });
      await bob.page.getByTestId("room-notifications").click();
      await eventually("the first tab's Default follows", async () =>
        (await bob.page.getByTestId("room-level-default").evaluate((el) => el.closest("label")?.textContent)) === "Default (Nothing)",
      );
      await bob.page.getByTestId("room-notifications-done").click();
      await second.getByTestId("default-room-level-mentions").check();
      await eventually("saved", async () => {
        const { settings } = await bob.apiGet<{ settings: { roomLevel: string } }>("/notifications/settings");
        return settings.roomLevel === "mentions";
      });
    } finally {
      // A tab left open (and focused) would keep Bob's first tab from showing anything in the tests after this one.
      await second.close();
    }
  });

  it("operates the settings screen by mouse: defaults, do not disturb, push devices; axe light and dark", async () => {
    await bob.byTestId("open-settings").click();
    const dialog = bob.byTestId("settings-dialog");
    await dialog.waitFor();
    expect(await dialog.getByTestId("desktop-notifications").getAttribute("data-permission")).toBe("granted");
    await dialog.getByTestId("default-direct-level-nothing").click();
    await eventually("saved", () => dialog.getByTestId("default-direct-level-nothing").isChecked());
    await dialog.getByTestId("default-direct-level-all").click();
    await eventually("saved", () => dialog.getByTestId("default-direct-level-all").isChecked());

    await dialog.getByTestId("dnd-1h").click();
    await dialog.getByTestId("dnd-off").waitFor();
    expect(await dialog.getByTestId("dnd-state").textContent()).toMatch(/^On until /);
    const { settings } = await bob.apiGet<{ settings: { dndUntil: string | null } }>("/notifications/settings");
    const ahead = Date.parse(settings.dndUntil ?? "") - Date.now();
    expect(ahead).toBeGreaterThan(50 * 60_000);
    expect(ahead).toBeLessThanOrEqual(60 * 60_000);
    // While do not disturb is on, a direct message tells nothing.
    await lookAway(bob.page);
    const before = (await shownIn(bob.page)).length;
    await ada.openRoom(bob.username);
    await ada.send("during dnd");
    await bob.roomItem(ada.username).getByTestId("room-preview").getByText("during dnd").waitFor();
    await dialog.getByTestId("dnd-off").click();
    await dialog.getByTestId("dnd-1h").waitFor();
    // The control: once it is off, the next one is shown (and the one during it never was).
    await ada.send("after dnd");
    await eventually("the message after do not disturb is shown", async () => (await shownIn(bob.page)).length === before + 1);
    expect((await shownIn(bob.page)).some((n) => n.body.includes("during dnd"))).toBe(false);
    await lookBack(bob.page);

    // Email digests only when the server has SMTP (this one has none).
    expect(await dialog.getByTestId("email-digests").count()).toBe(0);
    await dialog.getByTestId("push").waitFor();

    await shot(bob.page, "notify-settings-desktop.png");
    await expectNoSerious(bob.page, '[data-testid="settings-dialog"]', "settings, light");
    await bob.page.emulateMedia({ colorScheme: "dark" });
    await shot(bob.page, "notify-settings-dark.png");
    await expectNoSerious(bob.page, '[data-testid="settings-dialog"]', "settings, dark");
    await bob.page.emulateMedia({ colorScheme: "light" });
    await dialog.getByTestId("settings-done").click();
  });

  it("works by touch at 375 px: the room's menu, its notifications, the settings; axe on each", async () => {
    const phoneContext = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, baseURL: server.baseUrl });
    const phone = await phoneContext.newPage();
    await phone.goto(server.baseUrl);
    await phone.getByTestId("login-username").fill(bob.username);
    await phone.getByTestId("login-password").fill(PASSWORD);
    await phone.getByTestId("login-submit").tap();
    await phone.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();

    await phone.locator(`[data-testid="room-item"][data-room-name="${general}"]`).tap();
    // A group room's bell is folded into its menu on a phone.
    expect(await phone.getByTestId("room-notifications").isVisible()).toBe(false);
    await phone.getByTestId("room-actions").tap();
    await phone.getByTestId("menu-notifications").waitFor();
    await shot(phone, "notify-room-menu-phone.png");
    await expectNoSerious(phone, '[data-testid="room-actions-menu"]', "the room's menu at 375 px");
    await phone.getByTestId("menu-notifications").tap();
    const dialog = phone.getByTestId("room-notifications-dialog");
    await dialog.waitFor();
    await dialog.getByTestId("room-mute-1h").tap();
    await dialog.getByTestId("room-mute-state").waitFor();
    expect(await dialog.getByTestId("room-mute-state").textContent()).toMatch(/^Muted until /);
    await expectNoSerious(phone, '[data-testid="room-notifications-dialog"]', "the room's dialog at 375 px");
    await dialog.getByTestId("room-unmute").tap();
    await dialog.getByTestId("room-mute-1h").waitFor();
    await dialog.getByTestId("room-notifications-done").tap();

    await phone.getByTestId("back-to-list").tap();
    await phone.getByTestId("open-settings").tap();
    const settings = phone.getByTestId("settings-dialog");
    await settings.waitFor();
    await settings.getByTestId("default-room-level-all").tap();
    await eventually("saved", () => settings.getByTestId("default-room-level-all").isChecked());
    const box = await settings.getByTestId("default-room-level-all").evaluate((el) => el.closest("label")!.getBoundingClientRect().height);
    expect(box).toBeGreaterThanOrEqual(44);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await shot(phone, "notify-settings-phone.png");
    await expectNoSerious(phone, '[data-testid="settings-dialog"]', "settings at 375 px");
    await phone.emulateMedia({ colorScheme: "dark" });
    await expectNoSerious(phone, '[data-testid="settings-dialog"]', "settings at 375 px, dark");
    await settings.getByTestId("default-room-level-mentions").tap();
    await eventually("saved", () => settings.getByTestId("default-room-level-mentions").isChecked());
    await phoneContext.close();
  });
});

describe("desktop notifications blocked by the browser", () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    server = await startTestServer();
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("offers a banner after sign-in, asks only when it is pressed, and explains the refusal", async () => {
    const carol = await ChatPage.open(browser, server.baseUrl);
    await recordNotifications(carol.context);
    await carol.page.reload();
    await carol.signUp("carol");
    const banner = carol.byTestId("notify-banner");
    await banner.waitFor();
    expect(await carol.page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0);
    await shot(carol.page, "notify-banner.png");
    await expectNoSerious(carol.page, '[data-testid="notify-banner"]', "the banner");

    await banner.getByTestId("notify-banner-enable").click();
    // The prompt's answer: Block.
    await blockNotifications(carol.page, server.baseUrl);
    await banner.getByTestId("notifications-blocked").waitFor();
    expect(await carol.page.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(1);
    expect(await banner.getByTestId("notifications-blocked").textContent()).toContain("blocked by your browser");

    await carol.byTestId("open-settings").click();
    const settings = carol.byTestId("settings-dialog");
    await settings.waitFor();
    expect(await settings.getByTestId("desktop-notifications").getAttribute("data-permission")).toBe("denied");
    expect(await settings.getByTestId("desktop-notifications").getByTestId("notifications-blocked").isVisible()).toBe(true);
    await shot(carol.page, "notify-blocked.png");
    await settings.getByTestId("settings-done").click();

    // Dismissed, it stays away after a reload.
    await banner.getByTestId("notify-banner-dismiss").click();
    expect(await banner.count()).toBe(0);
    await carol.page.reload();
    await carol.waitUntilConnected();
    expect(await carol.byTestId("notify-banner").count()).toBe(0);
    await carol.close();
  });
});
