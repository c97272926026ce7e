/**
 * The web client on a phone (375 × 740, touch): one pane at a time, chosen
 * by the route (`#/` the conversation list, `#/rooms/<id>` the open
 * conversation with a back button), the header's actions in a keyboard
 * operable menu, messages that wrap by words, 44 px touch targets, no
 * horizontal scrolling, and no serious axe violations. The second person
 * uses a desktop window (1280 × 800), where both panes stay side by side.
 */
import fs from "node:fs";
import path from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually, signUpByTouch, unique } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");
const PHONE = { width: 375, height: 740 };
/** The smallest touch target we accept on a phone, in CSS px. */
const TOUCH_PX = 44;
const SENTENCE = "the quick brown fox jumps over the lazy dog again and again";

type Box = { x: number; y: number; width: number; height: number };

async function boxOf(locator: Locator): Promise<Box> {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`no box: ${String(locator)}`);
  return box;
}

async function expectTouchTarget(locator: Locator, what: string): Promise<void> {
  const box = await boxOf(locator);
  expect(box.width, `${what} width`).toBeGreaterThanOrEqual(TOUCH_PX);
  expect(box.height, `${what} height`).toBeGreaterThanOrEqual(TOUCH_PX);
}

/** The widest the document scrolls (more than the viewport: a horizontal scrollbar). */
function scrollWidth(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
}

/** The text of each line a text element is laid out in, measured per character with Range.getClientRects. */
function linesOf(body: Locator): Promise<string[]> {
  return body.evaluate((el) => {
    const text = el.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) return [];
    const chars = text.textContent ?? "";
    const range = document.createRange();
    const lines: { top: number; text: string }[] = [];
    for (let i = 0; i < chars.length; i += 1) {
      range.setStart(text, i);
      range.setEnd(text, i + 1);
      const rect = range.getClientRects()[0];
      if (!rect) continue;
      const line = lines.find((l) => Math.abs(l.top - rect.top) < 4);
      if (line) line.text += chars[i];
      else lines.push({ top: rect.top, text: chars[i]! });
    }
    return lines.sort((a, b) => a.top - b.top).map((l) => l.text.trim());
  });
}

function intersects(a: Box, b: Box): boolean {
  // A pixel of slack: adjacent boxes share an edge.
  return a.x < b.x + b.width - 1 && b.x < a.x + a.width - 1 && a.y < b.y + b.height - 1 && b.y < a.y + a.height - 1;
}

/**
 * Visible controls of one message that lie over another message: "what covers what", as
 * "reaction-bar of #3 over #2". Visible: not hidden by display, visibility or opacity.
 */
function controlsOverOtherMessages(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const rows = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="room-view"] [data-testid="message"]'));
    const boxes = rows.map((row) => row.getBoundingClientRect());
    const found: string[] = [];
    rows.forEach((row, i) => {
      for (const control of Array.from(row.querySelectorAll<HTMLElement>("button, [role='toolbar']"))) {
        if (!control.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
        const c = control.getBoundingClientRect();
        if (c.width === 0 || c.height === 0) continue;
        boxes.forEach((b, j) => {
          if (j === i) return;
          const overlap = c.left < b.right - 1 && b.left < c.right - 1 && c.top < b.bottom - 1 && b.top < c.bottom - 1;
          if (overlap) found.push(`${control.getAttribute("aria-label") ?? control.className} of #${i} over #${j}`);
        });
      }
    });
    return found;
  });
}

function activeTestId(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? null);
}

describe("the web client on a phone", () => {
  let server: TestServer;
  let phoneContext: BrowserContext;
  let phone: Page;
  let bob: ChatPage;
  let closeBrowser: () => Promise<void>;
  const roomName = `pocket-${unique()}`;

  beforeAll(async () => {
    server = await startTestServer();
    const browser = await launchBrowser();
    closeBrowser = () => browser.close();
    phoneContext = await browser.newContext({
      viewport: PHONE,
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
      baseURL: server.baseUrl,
    });
    // "Copy text" in a message's sheet writes to the clipboard; the test reads it back.
    await phoneContext.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.baseUrl });
    phone = await phoneContext.newPage();
    await phone.goto(server.baseUrl);
    bob = await ChatPage.open(browser, server.baseUrl);
    await bob.signUp("bob");
  });

  afterAll(async () => {
    await closeBrowser?.();
    await server?.destroy();
  });

  it("shows the conversation list alone after sign-up, with touch-sized controls", async () => {
    await signUpByTouch(phone, "ada");

    const sidebar = await boxOf(phone.getByTestId("sidebar"));
    expect(sidebar).toEqual({ x: 0, y: 0, width: PHONE.width, height: PHONE.height });
    expect(await phone.locator("main.shell__main").isVisible()).toBe(false);
    expect(await phone.getByTestId("welcome").isVisible()).toBe(false);
    for (const id of ["browse-rooms", "create-room", "new-direct", "logout"]) await expectTouchTarget(phone.getByTestId(id), id);
    expect(await scrollWidth(phone)).toBeLessThanOrEqual(PHONE.width);
  });

  it("opens a room as the only pane: full-width messages and composer, words wrapped, nothing wider than the screen", async () => {
    await phone.getByTestId("create-room").tap();
    await phone.getByTestId("room-name-input").fill(roomName);
    await phone.getByTestId("room-topic-input").fill("Chat from a pocket");
    await phone.getByTestId("create-room-submit").tap();
    await phone.locator('[data-testid="room-view"] [data-testid="room-title"]', { hasText: roomName }).waitFor();
    expect(await phone.evaluate(() => window.location.hash)).toMatch(/^#\/rooms\//);
    // Opening a room on a touch screen does not raise the on-screen keyboard: the composer waits for a tap.
    expect(await phone.getByTestId("composer-input").evaluate((el) => el === document.activeElement)).toBe(false);

    // Bob, at a desktop, joins and writes a sentence; the phone writes a long unbroken string.
    await bob.joinPublicRoom(roomName);
    await bob.send(SENTENCE);
    const longWord = `https://example.test/${"x".repeat(140)}`;
    await phone.getByTestId("composer-input").fill(longWord);
    await phone.getByTestId("composer-send").tap();
    const messages = phone.locator('[data-testid="room-view"] [data-testid="message"]');
    const sentence = messages.filter({ has: phone.getByTestId("message-body").getByText(SENTENCE, { exact: true }) });
    const long = messages.filter({ has: phone.getByTestId("message-body").getByText(longWord, { exact: true }) });
    await sentence.waitFor();
    await eventually("the long message is sent", async () => (await long.getAttribute("data-status")) === "sent");

    // Only the conversation shows, across the whole width.
    expect(await phone.getByTestId("sidebar").isVisible()).toBe(false);
    const view = await boxOf(phone.getByTestId("room-view"));
    expect(view.x).toBe(0);
    expect(view.width).toBe(PHONE.width);
    expect((await boxOf(phone.getByTestId("composer"))).width).toBeGreaterThanOrEqual(340);
    expect((await boxOf(phone.getByTestId("message-list"))).width).toBe(PHONE.width);
    // The composer is on screen, at the bottom.
    const composer = await boxOf(phone.getByTestId("composer"));
    expect(composer.y + composer.height).toBeLessThanOrEqual(PHONE.height);
    expect(composer.y + composer.height).toBeGreaterThan(PHONE.height - 8);

    // The sentence wraps between words, over a few lines, never one character per line.
    const lines = await linesOf(sentence.getByTestId("message-body"));
    expect(lines.join(" ")).toBe(SENTENCE);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(4);
    const words = new Set(SENTENCE.split(" "));
    for (const line of lines) for (const word of line.split(" ")) expect(words.has(word), `"${word}" in ${JSON.stringify(lines)}`).toBe(true);
    expect((await boxOf(sentence.locator(".message__bubble"))).width).toBeGreaterThan(PHONE.width / 2);

    // The long string breaks inside the bubble instead of pushing the page sideways.
    const bubble = await boxOf(long.locator(".message__bubble"));
    expect(bubble.x).toBeGreaterThanOrEqual(0);
    expect(bubble.x + bubble.width).toBeLessThanOrEqual(PHONE.width);
    const list = phone.getByTestId("message-list");
    expect(await list.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    expect(await scrollWidth(phone)).toBeLessThanOrEqual(PHONE.width);

    for (const id of ["back-to-list", "room-actions", "composer-send"]) await expectTouchTarget(phone.getByTestId(id), id);
    // The desktop chips are folded away.
    expect(await phone.getByTestId("leave-room").isVisible()).toBe(false);

    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-room.png") });
    await expectNoSeriousA11yViolations(phone);

  });

  it("a tap on a message opens its actions as a sheet: every action by touch, 44 px, nothing covering another message", async () => {
    const messages = phone.locator('[data-testid="room-view"] [data-testid="message"]');
    const sentence = messages.filter({ has: phone.getByTestId("message-body").getByText(SENTENCE, { exact: true }) });
    const mine = "tap me for the actions";
    await phone.getByTestId("composer-input").fill(mine);
    await phone.getByTestId("composer-send").tap();
    const own = messages.filter({ has: phone.getByTestId("message-body").getByText(mine, { exact: true }) });
    await eventually("the own message is sent", async () => (await own.getAttribute("data-status")) === "sent");

    // Before and after tapping: no control of one message lies over another message.
    expect(await controlsOverOtherMessages(phone)).toEqual([]);
    const sheet = phone.getByRole("dialog", { name: "Message actions" });
    const openSheet = async (message: Locator) => {
      await message.locator(".message__bubble").tap();
      await sheet.waitFor();
    };

    // Bob's message: the phone's user owns the room, so Delete too; no Edit.
    await openSheet(sentence);
    expect(await controlsOverOtherMessages(phone)).toEqual([]);
    expect(await sheet.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    expect(await sheet.getByTestId("message-sheet-quote").innerText()).toContain(bob.username);
    const names = async () => (await sheet.locator(".message-sheet__actions button").allInnerTexts()).map((n) => n.trim());
    expect(await names()).toEqual(["Reply", "Reply in thread", "Copy text", "Delete"]);
    // The sheet fills the bottom of the screen; every target is 44 px or more, on screen, none over another.
    const sheetBox = await boxOf(sheet);
    expect(sheetBox.x).toBe(0);
    expect(sheetBox.width).toBe(PHONE.width);
    expect(Math.round(sheetBox.y + sheetBox.height)).toBe(PHONE.height);
    const targets = await sheet.getByRole("button").all();
    expect(targets.length).toBe(7 + 4 + 2); // 6 quick reactions + Add reaction, 4 actions, Close and Cancel
    const boxes: Box[] = [];
    for (const target of targets) {
      await expectTouchTarget(target, `sheet: ${await target.getAttribute("aria-label") ?? await target.innerText()}`);
      const box = await boxOf(target);
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      for (const other of boxes) expect(intersects(box, other), "two sheet targets overlap").toBe(false);
      boxes.push(box);
    }
    await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-message-sheet.png") });
    await expectNoSeriousA11yViolations(phone);
    // Escape closes it, and the focus is back on the message.
    await phone.keyboard.press("Escape");
    await sheet.waitFor({ state: "detached" });
    expect(await sentence.evaluate((el) => el === document.activeElement)).toBe(true);

    // Each action works from the sheet. A quick reaction:
    await openSheet(sentence);
    await sheet.getByRole("button", { name: "React with 👍" }).tap();
    await sheet.waitFor({ state: "detached" });
    await eventually("the 👍 is on the message", async () =>
      (await sentence.locator('[data-testid="reaction"][data-emoji="👍"]').getAttribute("aria-pressed")) === "true",
    );
    expect(await controlsOverOtherMessages(phone)).toEqual([]);
    // Add reaction opens the picker.
    await openSheet(sentence);
    await sheet.getByRole("button", { name: "Add reaction" }).tap();
    const picker = phone.getByTestId("emoji-picker");
    await picker.waitFor();
    await phone.keyboard.press("Escape");
    await picker.waitFor({ state: "detached" });
    // Reply quotes it in the composer.
    await openSheet(sentence);
    await sheet.getByRole("button", { name: "Reply", exact: true }).tap();
    await phone.getByTestId("composer-reply").waitFor();
    expect(await phone.getByTestId("composer-reply").innerText()).toContain(bob.username);
    await phone.getByTestId("composer-reply-cancel").tap();
    // Reply in thread opens its thread.
    await openSheet(sentence);
    await sheet.getByRole("button", { name: "Reply in thread" }).tap();
    const thread = phone.getByRole("complementary", { name: "Thread" });
    await thread.waitFor();
    await phone.getByRole("button", { name: "Close thread" }).tap();
    await thread.waitFor({ state: "detached" });
    // Copy text puts the body on the clipboard.
    await openSheet(sentence);
    await sheet.getByRole("button", { name: "Copy text" }).tap();
    await eventually("the text is copied", async () => (await phone.evaluate(() => navigator.clipboard.readText())) === SENTENCE);
    // Delete asks first (Cancel here).
    await openSheet(sentence);
    await sheet.getByRole("button", { name: "Delete" }).tap();
    const confirm = phone.getByRole("dialog", { name: /delete/i });
    await confirm.waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).tap();
    await confirm.waitFor({ state: "detached" });

    // One's own message also offers Edit, which opens the editor in place with the focus in it.
    await openSheet(own);
    expect(await names()).toEqual(["Reply", "Reply in thread", "Edit", "Copy text", "Delete"]);
    await sheet.getByRole("button", { name: "Edit" }).tap();
    const editor = phone.getByTestId("message-editor-input");
    await editor.waitFor();
    expect(await editor.evaluate((el) => el === document.activeElement)).toBe(true);
    await editor.fill(`${mine}, edited`);
    await editor.press("Enter");
    const edited = messages.filter({ has: phone.getByTestId("message-body").getByText(`${mine}, edited`, { exact: true }) });
    await edited.getByTestId("message-edited").waitFor();
    // A long press opens the sheet too; Cancel closes it.
    // (a finger's press, then the browser's "contextmenu" of a long press; a mouse's right click keeps its menu)
    await edited.locator(".message__bubble").dispatchEvent("pointerdown", { pointerType: "touch", isPrimary: true, bubbles: true });
    await edited.locator(".message__bubble").dispatchEvent("contextmenu");
    await sheet.waitFor();
    await sheet.getByRole("button", { name: "Cancel" }).tap();
    await sheet.waitFor({ state: "detached" });
    expect(await controlsOverOtherMessages(phone)).toEqual([]);
    expect(await scrollWidth(phone)).toBeLessThanOrEqual(PHONE.width);
  });

  it("keeps an own bubble's width for its text: the time and receipt go under it, Read by only on the last read", async () => {
    const words = "shall we meet at noon by the old station clock";
    await phone.getByTestId("composer-input").fill(words);
    await phone.getByTestId("composer-send").tap();
    const own = phone
      .locator('[data-testid="room-view"] [data-testid="message"]')
      .filter({ has: phone.getByTestId("message-body").getByText(words, { exact: true }) });
    await eventually("it is sent", async () => (await own.getAttribute("data-status")) === "sent");
    // Bob has the room open: he reads it.
    await eventually("Read by 1 shows", async () => ((await own.getByTestId("receipt").textContent()) ?? "").includes("Read by 1"));
    const bubble = await boxOf(own.locator(".message__bubble"));
    const time = await boxOf(own.getByTestId("message-time"));
    expect(time.y, "the time is under the bubble").toBeGreaterThanOrEqual(bubble.y + bubble.height - 1);
    expect(bubble.width, "the bubble takes the width its text needs").toBeGreaterThan(PHONE.width * 0.6);
    expect((await linesOf(own.getByTestId("message-body"))).length).toBeLessThanOrEqual(2);
    // "Read by" is under the newest message Bob has read, not under every one.
    const readBy = phone.locator('[data-testid="room-view"] [data-testid="receipt"]').filter({ hasText: /Read by/ });
    expect(await readBy.count()).toBe(1);
    expect(await own.getByTestId("receipt").innerText()).toBe("Read by 1");
    await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-own-bubbles.png") });
  });

  it("folds the room's actions into a menu that works by touch and by keyboard", async () => {
    const button = phone.getByRole("button", { name: "Room actions" });
    expect(await button.getAttribute("aria-haspopup")).toBe("menu");
    expect(await button.getAttribute("aria-expanded")).toBe("false");

    await button.tap();
    const menu = phone.getByRole("menu", { name: "Room actions" });
    await menu.waitFor();
    expect(await button.getAttribute("aria-expanded")).toBe("true");
    const items = menu.getByRole("menuitem");
    const names = await items.allInnerTexts();
    // A public room's owner may invite (and add) people.
    expect(names.map((n) => n.replace(/\s+/g, " ").trim())).toEqual(["Members 2", "Notifications…", "Invite people", "Leave"]);
    for (const item of await items.all()) await expectTouchTarget(item, "menu item");
    const menuBox = await boxOf(menu);
    expect(menuBox.x).toBeGreaterThanOrEqual(0);
    expect(menuBox.x + menuBox.width).toBeLessThanOrEqual(PHONE.width);
    await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-menu.png") });

    // Arrow keys move between items (and wrap); Escape closes and gives focus back to the button.
    expect(await activeTestId(phone)).toBe("menu-members");
    await phone.keyboard.press("ArrowDown");
    expect(await activeTestId(phone)).toBe("menu-notifications");
    await phone.keyboard.press("ArrowDown");
    expect(await activeTestId(phone)).toBe("menu-add-member");
    await phone.keyboard.press("ArrowDown");
    expect(await activeTestId(phone)).toBe("menu-leave");
    await phone.keyboard.press("ArrowDown");
    expect(await activeTestId(phone)).toBe("menu-members");
    await phone.keyboard.press("ArrowUp");
    expect(await activeTestId(phone)).toBe("menu-leave");
    await phone.keyboard.press("Escape");
    await menu.waitFor({ state: "detached" });
    expect(await activeTestId(phone)).toBe("room-actions");
    expect(await button.getAttribute("aria-expanded")).toBe("false");

    // From the keyboard: Enter opens, End goes to Leave, Enter chooses it; Cancel comes back to the button.
    await phone.keyboard.press("Enter");
    await menu.waitFor();
    await phone.keyboard.press("End");
    await phone.keyboard.press("Enter");
    const leave = phone.getByTestId("leave-dialog");
    await leave.waitFor();
    await leave.getByRole("button", { name: "Cancel" }).tap();
    await leave.waitFor({ state: "detached" });

    // Members opens the members dialog; a tap outside closes an open menu.
    await button.tap();
    await phone.getByTestId("menu-members").tap();
    const members = phone.getByTestId("members-dialog");
    await members.waitFor();
    await eventually("both members are listed", async () => (await members.innerText()).includes(bob.username));
    await expectTouchTarget(members.getByRole("button", { name: "Close" }), "the dialog's Close");
    await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-members.png") });
    await phone.keyboard.press("Escape");
    await members.waitFor({ state: "detached" });
    await button.tap();
    await menu.waitFor();
    await phone.getByTestId("message-list").tap({ position: { x: 100, y: 100 } });
    await menu.waitFor({ state: "detached" });
  });

  it("goes back to the list with the back button, and the route decides the pane", async () => {
    const roomHash = await phone.evaluate(() => window.location.hash);
    await phone.getByRole("button", { name: "Back to conversations" }).tap();
    await phone.getByTestId("sidebar").waitFor();
    expect(await phone.evaluate(() => window.location.hash)).toBe("#/");
    expect(await phone.getByTestId("room-view").isVisible()).toBe(false);
    expect(await boxOf(phone.getByTestId("sidebar"))).toEqual({ x: 0, y: 0, width: PHONE.width, height: PHONE.height });
    const item = phone.locator(`[data-testid="room-item"][data-room-name="${roomName}"]`);
    await eventually("the list previews the last message", async () =>
      (await item.getByTestId("room-preview").innerText()).includes("shall we meet at noon"),
    );
    const itemBox = await boxOf(item);
    expect(itemBox.height).toBeGreaterThanOrEqual(TOUCH_PX);
    expect(itemBox.x + itemBox.width).toBeLessThanOrEqual(PHONE.width);
    expect(await scrollWidth(phone)).toBeLessThanOrEqual(PHONE.width);
    await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-list.png") });
    await expectNoSeriousA11yViolations(phone);

    // The browser's Back returns to the conversation; a reload keeps it; tapping the entry opens it.
    await phone.goBack();
    await phone.getByTestId("room-view").waitFor();
    expect(await phone.getByTestId("sidebar").isVisible()).toBe(false);
    await phone.reload();
    await phone.locator('[data-testid="room-view"] [data-testid="room-title"]', { hasText: roomName }).waitFor();
    expect(await phone.evaluate(() => window.location.hash)).toBe(roomHash);
    expect(await phone.getByTestId("sidebar").isVisible()).toBe(false);
    await phone.getByTestId("back-to-list").tap();
    await item.tap();
    await phone.getByTestId("room-view").waitFor();
    expect(await phone.getByTestId("sidebar").isVisible()).toBe(false);
  });

  it("offers a way back from a room the phone's user is not in", async () => {
    const elsewhere = `elsewhere-${unique()}`;
    await bob.createRoom(elsewhere);
    const roomId = await bob.openRoomId();
    await phone.evaluate((id) => (window.location.hash = `#/rooms/${encodeURIComponent(id)}`), roomId);
    const pane = phone.getByTestId("not-a-member");
    await pane.getByRole("button", { name: "Join room" }).waitFor();
    expect(await phone.getByTestId("sidebar").isVisible()).toBe(false);
    const back = pane.getByRole("link", { name: "Back to your rooms" });
    await expectTouchTarget(back, "Back to your rooms");
    await back.tap();
    await phone.getByTestId("sidebar").waitFor();
    expect(await phone.evaluate(() => window.location.hash)).toBe("#/");
    expect(await phone.getByTestId("not-a-member").isVisible()).toBe(false);
  });

  it("keeps both panes side by side on a desktop (1280 × 800)", async () => {
    await bob.openRoom(roomName);
    // With a mouse, opening a room puts the cursor in the composer, ready to type.
    await eventually("the desktop composer has focus", () => bob.byTestId("composer-input").evaluate((el) => el === document.activeElement));
    const sidebar = await boxOf(bob.byTestId("sidebar"));
    const view = await boxOf(bob.byTestId("room-view"));
    expect(sidebar.x).toBe(0);
    expect(sidebar.width).toBe(280);
    expect(sidebar.height).toBe(800);
    expect(view.x).toBeGreaterThanOrEqual(sidebar.x + sidebar.width);
    expect(view.width).toBe(1280 - 280);
    // The header's actions are chips, not a menu; no back button.
    expect(await bob.byTestId("leave-room").isVisible()).toBe(true);
    expect(await bob.byTestId("member-count").isVisible()).toBe(true);
    expect(await bob.byTestId("room-actions").isVisible()).toBe(false);
    expect(await bob.byTestId("back-to-list").isVisible()).toBe(false);
    // The home route shows the welcome beside the list, as before.
    await bob.page.evaluate(() => (window.location.hash = "#/"));
    await bob.byTestId("welcome").waitFor();
    expect(await bob.byTestId("sidebar").isVisible()).toBe(true);
    expect(bob.pageErrors).toEqual([]);
  });
});
