/**
 * Typing indicators and presence in real Chromium, two people: Bob types and
 * Ada sees it, Bob sends and it goes; Ada sees Bob's dot online, and offline
 * once his page closes. The room view with the typing line passes axe.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { ChatPage, eventually, unique } from "./chat-page.js";
import { launchBrowser } from "./browser.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { startTestServer, type TestServer } from "../test/support/server.js";

const results = path.resolve(import.meta.dirname, "../test-results");

describe("typing and presence in the browser", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;
  let bob: ChatPage;

  beforeAll(async () => {
    // A short grace: Bob's closed page is announced offline soon (the default waits 5 s for a reload).
    // A long typing TTL: Bob's indicator cannot expire before a slow machine shows it; only his send clears it.
    server = await startTestServer({ presenceOfflineGraceMs: 200, typingTtlMs: 60_000 });
    browser = await launchBrowser();
    ada = await ChatPage.open(browser, server.baseUrl);
    bob = await ChatPage.open(browser, server.baseUrl);
    await ada.signUp("ada");
    await bob.signUp("bob");
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("shows who is typing, clears it on send, and shows presence live", async () => {
    await ada.startDirect(bob.username);
    await bob.roomItem(ada.username).waitFor({ timeout: 10_000 });
    await bob.openRoom(ada.username);

    // They met after both connected: the conversation itself brings Bob's presence.
    const dot = ada.roomItem(bob.username).getByTestId("presence-dot");
    await eventually("Ada sees Bob online", async () => (await dot.getAttribute("data-status")) === "online");
    expect(await dot.getAttribute("aria-label")).toBe("online");

    const line = ada.byTestId("typing-line");
    expect(await line.getAttribute("aria-live")).toBe("polite");
    await bob.composer().pressSequentially("Hello Ada, I am wri");
    await eventually("Ada sees Bob typing", async () => (await line.innerText()) === `${bob.username} is typing…`);
    fs.mkdirSync(results, { recursive: true });
    await ada.page.screenshot({ path: path.join(results, "typing-presence.png") });
    await expectNoSeriousA11yViolations(ada.page, '[data-testid="room-view"]');

    await bob.composer().press("Enter");
    await ada.waitForMessage("Hello Ada, I am wri");
    await eventually("the typing line clears", async () => (await line.innerText()) === "");

    // A group room: "N online" in the header, dots in the members dialog.
    const plaza = `plaza ${unique()}`;
    await ada.createRoom(plaza);
    await bob.joinPublicRoom(plaza);
    const online = ada.byTestId("online-count");
    await eventually("Ada's header says 2 online", async () => (await online.innerText()).trim() === "2 online");
    await ada.byTestId("member-count").click();
    const bobInList = ada.byTestId("members-dialog").locator(`[data-testid="member-item"][data-username="${bob.username}"]`);
    await eventually("Bob's dot in the members list is online", async () =>
      (await bobInList.getByTestId("presence-dot").getAttribute("data-status")) === "online");
    await expectNoSeriousA11yViolations(ada.page, '[data-testid="members-dialog"]');
    await ada.page.keyboard.press("Escape");

    await bob.close();
    await eventually("Ada's header says 1 online", async () => (await online.innerText()).trim() === "1 online");
    await eventually("Ada sees Bob offline", async () => (await dot.getAttribute("data-status")) === "offline");
    expect(await dot.getAttribute("aria-label")).toMatch(/^offline, last seen /);
    await ada.page.screenshot({ path: path.join(results, "presence-offline.png") });
    expect(ada.pageErrors).toEqual([]);
  });
});
