/**
 * The web client against hostile input: crafted links never blank the page
 * (defensive route parsing), a component that throws shows the error view
 * with a way back (error boundaries), and a display name cannot pass for
 * someone else (the @username is shown beside it). axe-core checks the
 * problem screens.
 */
import fs from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { Caller, PASSWORD } from "../test/support/client.js";
import type { Room } from "@shared/protocol/entities.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, unique } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");

describe("hardening of the web client", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    // Ada arrives through a crafted link, signed out.
    ada = await ChatPage.open(browser, `${server.baseUrl}/#/rooms/%`);
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  /** The id of the focused element's data-testid (focus management is part of the contract of these views). */
  const focusedTestId = (page: ChatPage) => page.page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? null);

  it("a crafted link opened while signed out shows the sign-in screen; after signing in, 'not found'", async () => {
    await ada.byTestId("login-username").waitFor();
    await expectNoSeriousA11yViolations(ada.page);
    await ada.signUp("ada");
    await ada.byTestId("not-found").waitFor();
    expect(ada.pageErrors).toEqual([]);
  });

  it("a crafted link (#/rooms/%) opened fresh shows 'not found' with a way back, not a blank page", async () => {
    // A fresh load of the link, as when it is clicked in another app.
    await ada.page.goto("about:blank");
    await ada.page.goto(`${server.baseUrl}/#/rooms/%`);
    await ada.byTestId("not-found").waitFor();
    expect(await ada.byTestId("sidebar").isVisible()).toBe(true);
    expect(await ada.byTestId("not-found-title").innerText()).toBe("Nothing here");
    expect(await focusedTestId(ada)).toBe("not-found-title");
    await expectNoSeriousA11yViolations(ada.page);
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "not-found.png") });

    await ada.byTestId("not-found-back").click();
    await ada.byTestId("welcome").waitFor();
    expect(await ada.page.evaluate(() => window.location.hash)).toBe("#/");
    expect(ada.pageErrors).toEqual([]);
  });

  it("other garbage routes show 'not found' too, and the app keeps working", async () => {
    const garbage = ["#/rooms/%E0%A4%A", "#/rooms/%C0%80", "#/nope", "#/rooms/", "#/rooms/a/b", "#/rooms/a%00b", `#/rooms/${"x".repeat(200)}`];
    for (const hash of garbage) {
      await ada.page.evaluate((h) => (window.location.hash = h), hash);
      await ada.byTestId("not-found").waitFor();
      await ada.page.evaluate(() => (window.location.hash = "#/"));
      await ada.byTestId("welcome").waitFor();
    }
    // A well-formed id of a room that does not exist: the same view, after the server says 404.
    await ada.page.evaluate(() => (window.location.hash = "#/rooms/no-such-room"));
    await ada.byTestId("not-found").waitFor();
    await ada.byTestId("not-found-back").click();
    await ada.byTestId("welcome").waitFor();
    // Still usable.
    await ada.createRoom(`after-garbage-${unique()}`);
    expect(ada.pageErrors).toEqual([]);
  });

  it("a room view that throws while rendering shows the error view; the sidebar and 'Back to your rooms' still work", async () => {
    const roomName = `fragile-${unique()}`;
    await ada.createRoom(roomName);
    await ada.send("a message whose timestamp will fail to render");
    await ada.waitForMessage("a message whose timestamp will fail to render");
    await ada.page.evaluate(() => (window.location.hash = "#/"));
    await ada.byTestId("welcome").waitFor();

    // A deterministic render failure with no hook in the app: the message's
    // full-date tooltip (Date#toLocaleString, used nowhere else) throws, as a
    // broken Intl implementation or an extension could make it.
    await ada.page.evaluate(() => {
      const original = Date.prototype.toLocaleString;
      (window as unknown as { __restoreDate: () => void }).__restoreDate = () => {
        Date.prototype.toLocaleString = original;
      };
      Date.prototype.toLocaleString = () => {
        throw new Error("Simulated failure in a message timestamp");
      };
    });
    try {
      await ada.roomItem(roomName).click();
      await expectRoomErrorView();
    } finally {
      await ada.page.evaluate(() => (window as unknown as { __restoreDate: () => void }).__restoreDate());
    }
    // Opening the room again works once the cause is gone.
    await ada.openRoom(roomName);
    await ada.waitForMessage("a message whose timestamp will fail to render");
  });

  async function expectRoomErrorView(): Promise<void> {
    const view = ada.byTestId("error-view");
    await view.waitFor();
    expect(await view.getAttribute("role")).toBe("alert");
    expect(await ada.byTestId("error-view-title").innerText()).toBe("Something went wrong");
    expect(await focusedTestId(ada)).toBe("error-view-title");
    expect(await view.innerText()).toContain("Your messages are safe on the server");
    expect(await ada.byTestId("error-detail").textContent()).toBe("Simulated failure in a message timestamp");
    // Only the main pane failed: the sidebar is still there.
    expect(await ada.byTestId("sidebar").isVisible()).toBe(true);
    expect(await ada.page.getByRole("button", { name: "Back to your rooms" }).isVisible()).toBe(true);
    expect(await ada.page.getByRole("button", { name: "Reload" }).isVisible()).toBe(true);
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "error-view.png") });
    await expectNoSeriousA11yViolations(ada.page);

    await ada.byTestId("error-back").click();
    await ada.byTestId("welcome").waitFor();
    expect(await ada.byTestId("error-view").count()).toBe(0);
  }

  it("a crash outside the room view is caught by the app's boundary, and Reload brings the app back", async () => {
    const roomName = `fragile-app-${unique()}`;
    await ada.createRoom(roomName);
    await ada.send("today's message");
    await ada.waitForMessage("today's message");
    await ada.page.evaluate(() => (window.location.hash = "#/"));
    await ada.byTestId("welcome").waitFor();
    // The sidebar's "time of day" of today's last message now throws on its next render.
    await ada.page.evaluate(() => {
      Date.prototype.toLocaleTimeString = () => {
        throw new Error("Simulated failure in the sidebar");
      };
    });
    await ada.roomItem(roomName).click();

    await ada.byTestId("error-view").waitFor();
    // Nothing else is left on screen, and the page is not blank.
    expect(await ada.byTestId("sidebar").count()).toBe(0);
    expect(await focusedTestId(ada)).toBe("error-view-title");
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "error-view-app.png") });
    await expectNoSeriousA11yViolations(ada.page);

    // Reload starts over with a fresh page (the simulated fault is gone with it).
    await ada.byTestId("error-reload").click();
    await ada.waitUntilConnected();
    await ada.waitForOpenRoom(roomName);
    await ada.waitForMessage("today's message");
  });

  it("a direct message shows the peer's @username beside a display name that imitates someone else", async () => {
    // Mallory signs up through the API with Ada's friend's name as display name.
    const mallory = new Caller(server.baseUrl);
    const username = `mallory_${unique()}`.slice(0, 32);
    const signup = await mallory.post<{ user: { id: string }; csrfToken: string }>("/auth/signup", {
      email: `${username}@example.test`, username, password: PASSWORD, passwordConfirm: PASSWORD, displayName: "Bob",
    });
    expect(signup.status).toBe(201);
    mallory.csrfToken = signup.body.csrfToken;
    const me = await ada.apiGet<{ user: { id: string } }>("/me");
    const direct = await mallory.post<{ room: Room }>("/direct", { userId: me.user.id });
    expect(direct.status).toBe(200);
    expect((await mallory.post(`/rooms/${direct.body.room.id}/messages`, { body: "Hi Ada, it's Bob. New number!" })).status).toBe(201);

    // In Ada's list, the conversation carries the real @username.
    const item = ada.roomItem("Bob");
    await item.waitFor({ timeout: 10_000 });
    expect(await item.getByTestId("room-handle").innerText()).toBe(`@${username}`);
    expect(await item.getAttribute("title")).toBe(`Bob (@${username})`);

    await item.click();
    await ada.waitForOpenRoom("Bob");
    expect(await ada.byTestId("room-peer-handle").innerText()).toBe(`@${username}`);
    const message = await ada.waitForMessage("Hi Ada, it's Bob. New number!");
    expect(await message.getByTestId("message-author").innerText()).toBe("Bob");
    expect(await message.getByTestId("message-author-handle").innerText()).toBe(`@${username}`);
    await expectNoSeriousA11yViolations(ada.page);
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "direct-handle.png") });
  });

  it("the composer refuses a message of only invisible characters, in the server's words", async () => {
    await ada.composer().fill("\u200b\u200d \u200b");
    await ada.composer().press("Enter");
    expect(await ada.byTestId("composer-error").innerText()).toBe("Message has no visible character.");
    expect(await ada.messageBodies()).toEqual(["Hi Ada, it's Bob. New number!"]);
  });
});
