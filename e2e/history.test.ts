/**
 * History: a room opens on its newest page, and scrolling up loads older
 * pages while the messages on screen stay where they were.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { DEFAULT_PAGE_SIZE } from "@shared/protocol/index.js";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { signup } from "../test/support/client.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually, unique } from "./chat-page.js";

const TOTAL = 130;

describe("message history", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    ada = await ChatPage.open(browser, server.baseUrl);
    await ada.signUp("ada");
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("loads older pages on scroll-up and keeps the reading position", async () => {
    const roomName = `archive-${unique()}`;
    await ada.createRoom(roomName);
    const roomId = await ada.openRoomId();

    // Someone else fills the room over HTTP.
    const seeder = await signup(server.baseUrl, "seeder");
    expect((await seeder.post(`/rooms/${roomId}/join`)).status).toBe(200);
    for (let i = 1; i <= TOTAL; i += 1) {
      const res = await seeder.post(`/rooms/${roomId}/messages`, { body: `history ${i}` });
      expect(res.status).toBe(201);
    }
    // 130 live messages to render: generous, as the machine may be busy.
    await ada.waitForMessage(`history ${TOTAL}`, 30_000);

    // A fresh load opens on the newest page only, scrolled to the bottom.
    await ada.page.reload();
    await ada.waitUntilConnected();
    await ada.openRoom(roomName);
    await ada.waitForMessage(`history ${TOTAL}`);
    const list = ada.byTestId("message-list");
    let bodies = await ada.messageBodies();
    expect(bodies).toHaveLength(DEFAULT_PAGE_SIZE);
    expect(bodies[0]).toBe(`history ${TOTAL - DEFAULT_PAGE_SIZE + 1}`);
    expect(await list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(5);

    // Scroll to the top: the previous page arrives above, the old first message stays put.
    for (let page = 1; bodies.length < TOTAL; page += 1) {
      const anchor = ada.messagesWithBody(bodies[0]!).getByTestId("message-body");
      // Scroll and measure in one task, before the scroll event can load anything.
      const yBefore = await anchor.evaluate((el) => {
        el.closest('[data-testid="message-list"]')!.scrollTop = 0;
        return el.getBoundingClientRect().top;
      });
      const expectedCount = Math.min(TOTAL, DEFAULT_PAGE_SIZE * (page + 1));
      await eventually(`page ${page + 1} is loaded`, async () => (await ada.messageBodies()).length === expectedCount);
      const yAfter = await anchor.evaluate((el) => el.getBoundingClientRect().top);
      expect(Math.abs(yAfter - yBefore)).toBeLessThan(2);
      bodies = await ada.messageBodies();
      expect(page).toBeLessThan(5);
    }

    // All of it, in order, each once, and the start of the room is marked.
    expect(bodies).toEqual(Array.from({ length: TOTAL }, (_, i) => `history ${i + 1}`));
    await ada.byTestId("room-start").waitFor();
    expect(ada.pageErrors).toEqual([]);
  });
});
