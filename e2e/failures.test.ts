/**
 * A send the server refuses (here: the per-socket rate limit, turned down
 * for the test) is shown as failed with the server's reason and a Retry,
 * and a retry goes through once.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually, unique } from "./chat-page.js";

const BURST = 16;

describe("refused sends", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;

  beforeAll(async () => {
    // One command per second sustained, ten in a burst: a quick burst of
    // sends runs out.
    server = await startTestServer({ wsCommandsPerSecond: 1 });
    browser = await launchBrowser();
    ada = await ChatPage.open(browser, server.baseUrl);
    await ada.signUp("ada");
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("shows a refused message as failed with the reason, and retries it on demand", async () => {
    const roomName = `limits-${unique()}`;
    await ada.createRoom(roomName);
    const roomId = await ada.openRoomId();
    for (let i = 1; i <= BURST; i += 1) await ada.send(`burst ${i}`);

    const failed = ada.page.locator('[data-testid="message"][data-status="failed"]');
    await eventually("some sends are refused", async () => (await failed.count()) > 0);
    // Every message is on screen once: stored, or failed with a way out.
    await eventually("nothing is left in flight", async () =>
      (await ada.page.locator('[data-testid="message"][data-status="queued"], [data-testid="message"][data-status="sending"]').count()) === 0,
    );
    expect(await ada.messageBodies()).toHaveLength(BURST);
    const firstFailed = failed.first();
    const failedText = await firstFailed.getByTestId("message-body").innerText();
    expect(await firstFailed.getByTestId("message-failure").innerText()).toMatch(/Not sent: .+/);
    expect(await firstFailed.getByTestId("message-retry").isVisible()).toBe(true);
    const results = path.resolve(import.meta.dirname, "../test-results");
    fs.mkdirSync(results, { recursive: true });
    await ada.page.screenshot({ path: path.join(results, "failed-send.png") });

    // The bucket refills; Retry sends the same message (same clientId) and it is stored once.
    await ada.page.waitForTimeout(2500);
    await ada.messagesWithBody(failedText).getByTestId("message-retry").click();
    await eventually("the retried message is stored", async () =>
      (await ada.messagesWithBody(failedText).getAttribute("data-status")) === "sent",
    );
    const history = await ada.apiGet<{ messages: { body: string }[] }>(`/rooms/${roomId}/messages?limit=100`);
    expect(history.messages.filter((m) => m.body === failedText)).toHaveLength(1);
    expect(await ada.messagesWithBody(failedText).count()).toBe(1);
    expect(ada.pageErrors).toEqual([]);
  });
});
