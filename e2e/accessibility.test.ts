/**
 * Accessibility of the web client (issue 16, items 6–8), with two people
 * in a room with a long history:
 *
 * - the message list is a list, not a live region; one polite announcer
 *   says a message from someone else once ("bob: …"), and nothing else
 *   (reactions, edits, receipts, history pages) is announced;
 * - each message is a list item named by author ("You" for one's own, the
 *   author on follow-ups too), time and text;
 * - the list is one Tab stop: ↑/↓ move between messages, Enter reaches the
 *   message's actions (out of the accessibility tree until then), Escape
 *   comes back; the conversation list is a few Shift+Tabs from the
 *   composer; skip links, F6 between regions, Alt+↑/↓ between
 *   conversations; the tab title names the open room;
 * - focus lands somewhere useful after sign-in, on a phone when a room
 *   opens and after "Back to conversations", and returns to "N replies"
 *   when its thread closes;
 * - field errors are tied to their inputs (aria-invalid, aria-describedby);
 * - light and dark colour schemes both pass axe (no serious or critical
 *   WCAG A/AA violation); reduced motion turns transitions off.
 */
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeViolations, formatViolations } from "./axe.js";
import { ChatPage, PASSWORD, eventually, twoPeople, type TwoPeople, unique } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");
/** Messages in the room's history before the tests start: more than a page's worth of controls. */
const HISTORY = 40;

/** The data-testid (or, failing that, the tag) of the focused element. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "body";
    return el.getAttribute("data-testid") ?? el.tagName.toLowerCase();
  });
}

/** The body text of the focused message, or null when focus is not on a message. */
function focusedMessageBody(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!(el instanceof HTMLElement) || el.dataset.testid !== "message") return null;
    return el.querySelector('[data-testid="message-body"]')?.textContent ?? null;
  });
}

/** Posts messages through the HTTP API from inside the page (its session and CSRF token). */
async function post(page: Page, roomId: string, bodies: readonly string[], replyTo?: string): Promise<string[]> {
  return page.evaluate(
    async ({ roomId, bodies, replyTo }) => {
      const me = (await (await fetch("/api/v1/me")).json()) as { csrfToken: string };
      const ids: string[] = [];
      for (const body of bodies) {
        const response = await fetch(`/api/v1/rooms/${encodeURIComponent(roomId)}/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
          body: JSON.stringify(replyTo ? { body, replyTo } : { body }),
        });
        if (!response.ok) throw new Error(`post: ${response.status}`);
        ids.push(((await response.json()) as { message: { id: string } }).message.id);
      }
      return ids;
    },
    { roomId, bodies, replyTo },
  );
}

/** No serious or critical WCAG 2.2 A/AA violation (2.2 adds target size) on the page. */
async function expectNoSeriousViolations22(page: Page): Promise<void> {
  const violations = await axeViolations(page, { impacts: ["serious", "critical"], wcag22: true });
  expect(violations, formatViolations(violations)).toEqual([]);
}

/** Edits a message through the HTTP API from inside the page. */
async function edit(page: Page, roomId: string, messageId: string, body: string): Promise<void> {
  await page.evaluate(
    async ({ roomId, messageId, body }) => {
      const me = (await (await fetch("/api/v1/me")).json()) as { csrfToken: string };
      const response = await fetch(`/api/v1/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(messageId)}`, {
        method: "PATCH",
        headers: { "content-type": "application/json", "x-csrf-token": me.csrfToken },
        body: JSON.stringify({ body }),
      });
      if (!response.ok) throw new Error(`edit: ${response.status}`);
    },
    { roomId, messageId, body },
  );
}

/** Whether the element is what is drawn at its own centre (nothing covers it). */
function onTop(page: Page, testId: string): Promise<boolean> {
  return page.evaluate((id) => {
    const el = document.activeElement;
    if (!(el instanceof HTMLElement) || el.dataset.testid !== id) return false;
    const box = el.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && el.contains(hit);
  }, testId);
}

describe("accessibility of the web client", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  let roomId = "";
  const roomName = `a11y-${unique()}`.slice(0, 40);
  const otherRoom = `a11y-other-${unique()}`.slice(0, 40);

  beforeAll(async () => {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    people = await twoPeople({ room: roomName });
    ({ ada, bob } = people);
    roomId = await ada.openRoomId();
    // A long history from both, written while Ada is in another room: she opens it with history to read.
    await ada.createRoom(otherRoom);
    const bodies = Array.from({ length: HISTORY }, (_, i) => `history ${i + 1}`);
    const [first] = await post(ada.page, roomId, bodies.slice(0, HISTORY / 2));
    await edit(ada.page, roomId, first!, "history 1");
    await post(bob.page, roomId, bodies.slice(HISTORY / 2));
    await bob.waitForMessage(`history ${HISTORY}`);
    await ada.openRoom(roomName);
    await ada.waitForMessage(`history ${HISTORY}`);
  }, 60_000);

  afterAll(async () => {
    await people?.close();
  });

  it("the list is not live; one announcer says a new message from someone else once, and not reactions or edits", async () => {
    const list = ada.byTestId("message-list");
    // No live region around or inside the messages: opening the room read nothing aloud.
    expect(await list.evaluate((el) => el.closest("[aria-live]") === null && el.querySelector("[aria-live]") === null)).toBe(true);
    expect(await ada.page.getByRole("list", { name: `Messages in #${roomName}` }).count()).toBe(1);
    const announcements = ada.byTestId("live-announcer").getByTestId("announcement");
    const before = await announcements.allInnerTexts();
    expect(before.some((t) => t.includes("history"))).toBe(false);

    await bob.send("Lunch at noon?");
    await ada.waitForMessage("Lunch at noon?");
    await eventually("Ada's announcer says it", async () => (await announcements.allInnerTexts()).includes(`${bob.username}: Lunch at noon?`));

    // Her own message, a reaction and an edit are not announced.
    await ada.send("Sounds good");
    await ada.waitForMessage("Sounds good");
    const lunch = (await ada.waitForMessage("Lunch at noon?")).first();
    await lunch.hover();
    await lunch.getByTestId("reaction-bar").getByRole("button", { name: "React with 👍" }).click();
    await lunch.locator('[data-testid="reaction"][data-emoji="👍"]').waitFor();
    await eventually("Bob sees Ada's reaction", async () => (await bob.messagesWithBody("Lunch at noon?").locator('[data-testid="reaction"]').count()) === 1);
    const said = await announcements.allInnerTexts();
    expect(said.filter((t) => t.includes("Lunch at noon?"))).toEqual([`${bob.username}: Lunch at noon?`]);
    expect(said.some((t) => t.includes("Sounds good"))).toBe(false);
    expect(said.some((t) => t.includes("👍"))).toBe(false);
  });

  it("names every message by author, time and text: 'You' for one's own, the author on follow-ups", async () => {
    const items = ada.page.getByRole("listitem", { name: /history 21$/ });
    // Bob's follow-ups (not the first of his run) still name him.
    expect(await ada.page.getByRole("listitem", { name: new RegExp(`^${bob.username} \\d{1,2}:\\d{2}.* history 22$`) }).count()).toBe(1);
    expect(await items.count()).toBe(1);
    expect(await ada.page.getByRole("listitem", { name: /^You \d{1,2}:\d{2}.* history 2$/ }).count()).toBe(1);
    expect(await bob.page.getByRole("listitem", { name: new RegExp(`^${ada.username} \\d{1,2}:\\d{2}.* history 2$`) }).count()).toBe(1);
  });

  it("is one Tab stop: a few Shift+Tabs from the composer to the conversation list; ↑/↓ between messages; Enter reaches the actions", async () => {
    const page = ada.page;
    await page.mouse.move(1, 1); // no message hovered
    await ada.composer().focus(); // and none focused
    // Out of the accessibility tree until a message is selected.
    const list = page.getByRole("list", { name: `Messages in #${roomName}` });
    expect(await list.getByRole("button", { name: "Reply" }).count()).toBe(0);
    expect(await list.getByRole("toolbar", { name: "React" }).count()).toBe(0);

    await ada.composer().focus();
    let presses = 0;
    while ((await focused(page)) !== "room-item" && presses < 60) {
      await page.keyboard.press("Shift+Tab");
      presses += 1;
    }
    expect(await focused(page)).toBe("room-item");
    expect(presses).toBeLessThanOrEqual(12);

    // Back into the list: the message last used (the one Ada reacted to) takes the focus.
    await ada.composer().focus();
    await page.keyboard.press("Shift+Tab");
    while ((await focused(page)) !== "message") await page.keyboard.press("Shift+Tab");
    expect(await focusedMessageBody(page)).toBe("Lunch at noon?");
    await page.keyboard.press("ArrowDown");
    expect(await focusedMessageBody(page)).toBe("Sounds good");
    await page.keyboard.press("End");
    expect(await focusedMessageBody(page)).toBe("Sounds good");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("ArrowUp");
    expect(await focusedMessageBody(page)).toBe(`history ${HISTORY - 1}`);
    await page.keyboard.press("ArrowDown");
    expect(await focusedMessageBody(page)).toBe(`history ${HISTORY}`);

    // The selected message's actions are there now, and its time and receipt are shown.
    const selected = page.locator('[data-testid="message"]:focus');
    expect(await selected.getByRole("button", { name: "Reply" }).count()).toBe(1);
    expect(await list.getByRole("button", { name: "Reply" }).count()).toBe(1);
    // The time and receipt fade in (0.12 s, unless reduced motion is asked for).
    await eventually("the selected message shows its time", async () => (await selected.locator(".message__meta").evaluate((el) => getComputedStyle(el).opacity)) === "1");
    await page.keyboard.press("Enter");
    expect(await focused(page)).toBe("message-reply");
    await page.keyboard.press("Escape");
    expect(await focusedMessageBody(page)).toBe(`history ${HISTORY}`);
    // Tab goes through this message's controls, then leaves the list (not into the next message).
    for (let i = 0; i < 12 && (await focused(page)) !== "composer-input"; i += 1) {
      await page.keyboard.press("Tab");
      const inNext = await page.evaluate(() => {
        const message = document.activeElement?.closest('[data-testid="message"]');
        return message ? message.querySelector('[data-testid="message-body"]')?.textContent ?? "" : null;
      });
      if (inNext !== null) expect(inNext).toBe(`history ${HISTORY}`);
    }
    expect(await focused(page)).toBe("composer-input");
  });

  it("skip links, F6 between regions and Alt+↑/↓ between conversations; the title names the open room", async () => {
    const page = ada.page;
    expect(await page.title()).toBe(`#${roomName} · Parley`);
    // The skip links are the page's first Tab stops, before the conversation list.
    await page.locator('[data-testid="sidebar"] nav').focus();
    for (let i = 0; i < 4 && (await focused(page)) !== "skip-to-messages"; i += 1) await page.keyboard.press("Shift+Tab");
    expect(await focused(page)).toBe("skip-to-messages");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("skip-to-composer");
    await page.keyboard.press("Shift+Tab");
    expect(await page.getByTestId("skip-to-messages").isVisible()).toBe(true);
    await page.keyboard.press("Enter");
    expect(await focusedMessageBody(page)).toBe(`history ${HISTORY}`); // the list's current message
    await page.keyboard.press("Shift+Tab");
    expect(await focused(page)).not.toBe("message");

    await ada.composer().focus();
    await page.keyboard.press("F6");
    expect(await focused(page)).toBe("room-item");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-current"))).toBe("page");
    await page.keyboard.press("F6");
    expect(await focused(page)).toBe("message");
    await page.keyboard.press("F6");
    expect(await focused(page)).toBe("composer-input");
    await page.keyboard.press("Shift+F6");
    expect(await focused(page)).toBe("message");

    const order = await page.locator('[data-testid="room-item"]').evaluateAll((els) => els.map((el) => el.getAttribute("data-room-name")));
    const at = order.indexOf(roomName);
    const next = order[at + 1] ?? null;
    const previous = order[at - 1] ?? null;
    const target = next ?? previous;
    expect(target).toBe(otherRoom);
    await page.keyboard.press(next ? "Alt+ArrowDown" : "Alt+ArrowUp");
    await ada.waitForOpenRoom(otherRoom);
    await eventually("the title names the room", async () => (await page.title()) === `#${otherRoom} · Parley`);
    await page.keyboard.press(next ? "Alt+ArrowUp" : "Alt+ArrowDown");
    await ada.waitForOpenRoom(roomName);
  });

  it("returns the focus to 'N replies' when the thread it opened closes", async () => {
    const [rootId] = await post(bob.page, roomId, ["Thread root for focus"]);
    await post(bob.page, roomId, ["First reply in the thread"], rootId);
    const root = (await ada.waitForMessage("Thread root for focus")).first();
    const link = root.getByTestId("thread-link");
    await link.waitFor();
    await link.click();
    const panel = ada.byTestId("thread-panel");
    await panel.waitFor();
    await ada.page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
    await eventually("focus is back on the replies button", async () => (await focused(ada.page)) === "thread-link");
    expect(await ada.page.evaluate(() => document.activeElement?.closest('[data-testid="message"]')?.querySelector('[data-testid="message-body"]')?.textContent)).toBe(
      "Thread root for focus",
    );
  });

  it("puts the focus somewhere after sign-in, and on a phone when a room opens and after Back", async () => {
    const phoneContext = await people.browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, baseURL: people.server.baseUrl });
    try {
      const phone = await phoneContext.newPage();
      await phone.goto(people.server.baseUrl);
      await phone.getByTestId("login-username").fill(ada.username);
      await phone.getByTestId("login-password").fill(PASSWORD);
      await phone.getByTestId("login-submit").tap();
      await phone.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 15_000 });
      await eventually("focus lands in the conversation list", async () => (await phone.evaluate(() => document.activeElement?.tagName)) === "NAV");

      await phone.locator(`[data-testid="room-item"][data-room-name="${roomName}"]`).tap();
      await phone.locator('[data-testid="room-view"] [data-testid="room-title"]', { hasText: roomName }).waitFor();
      await eventually("focus lands on the room's title", async () => (await focused(phone)) === "room-title");

      // On a phone a message's actions are one "More actions" button (the quick-reaction bar and the icon buttons
      // give way to the action sheet): focused, it is not covered by anything (WCAG 2.4.11), and it opens the sheet.
      const mine = phone.locator('[data-testid="message"]').filter({ has: phone.getByTestId("message-body").getByText("Sounds good", { exact: true }) });
      await mine.focus();
      for (let i = 0; i < 10 && (await focused(phone)) !== "message-more"; i += 1) await phone.keyboard.press("Tab");
      expect(await focused(phone)).toBe("message-more");
      expect(await onTop(phone, "message-more")).toBe(true);
      await phone.keyboard.press("Enter");
      const sheet = phone.getByRole("dialog", { name: "Message actions" });
      await sheet.waitFor();
      expect(await sheet.getByRole("button", { name: "Edit" }).count()).toBe(1);
      expect(await sheet.getByRole("button", { name: "Delete" }).count()).toBe(1);
      await phone.screenshot({ path: path.join(RESULTS_DIR, "a11y-phone-actions.png") });
      await phone.emulateMedia({ colorScheme: "dark" });
      await phone.screenshot({ path: path.join(RESULTS_DIR, "a11y-phone-dark.png") });
      await expectNoSeriousViolations22(phone);
      await phone.emulateMedia({ colorScheme: "light" });
      await phone.keyboard.press("Escape");

      await phone.getByRole("button", { name: "Back to conversations" }).tap();
      await eventually("focus lands on the room just left", async () => (await focused(phone)) === "room-item");
      expect(await phone.evaluate(() => document.activeElement?.getAttribute("data-room-name"))).toBe(roomName);
    } finally {
      await phoneContext.close();
    }

    // On a desktop, after signing up: the welcome heading.
    const carol = await ChatPage.open(people.browser, people.server.baseUrl);
    try {
      await carol.signUp("carol");
      await eventually("focus lands on the welcome heading", async () => (await carol.page.evaluate(() => document.activeElement?.tagName)) === "H1");
    } finally {
      await carol.close();
    }
  });

  it("ties field errors to their inputs with aria-invalid and aria-describedby", async () => {
    const visitor = await ChatPage.open(people.browser, people.server.baseUrl);
    try {
      const page = visitor.page;
      await visitor.byTestId("login-submit").click();
      const username = visitor.byTestId("login-username");
      await eventually("the username is marked invalid", async () => (await username.getAttribute("aria-invalid")) === "true");
      const describedBy = (await username.getAttribute("aria-describedby")) ?? "";
      const description = await page.evaluate(
        (ids) => ids.split(" ").map((id) => document.getElementById(id)?.textContent ?? "").join(" "),
        describedBy,
      );
      expect(description).toContain("Enter your username or email.");
      // The first invalid field takes the focus.
      expect(await focused(page)).toBe("login-username");
      await username.fill("someone");
      await visitor.byTestId("login-password").fill("wrong password here");
      await visitor.byTestId("login-submit").click();
      await visitor.byTestId("form-error").waitFor();
      await expectNoSeriousViolations22(page); // the form error's contrast was 4.44:1

      await visitor.byTestId("show-signup").click();
      const password = visitor.byTestId("signup-password");
      // A hint describes the field before any error.
      const hintId = (await password.getAttribute("aria-describedby")) ?? "";
      expect(await page.evaluate((id) => document.getElementById(id)?.textContent, hintId)).toBe("At least 8 characters");
      expect(await password.getAttribute("aria-invalid")).toBeNull();
      await visitor.byTestId("signup-email").fill(`x_${unique()}@example.test`);
      await visitor.byTestId("signup-username").fill(`x_${unique()}`);
      await password.fill("short");
      await visitor.byTestId("signup-submit").click();
      await eventually("the password is marked invalid", async () => (await password.getAttribute("aria-invalid")) === "true");
      const errorId = (await password.getAttribute("aria-describedby")) ?? "";
      expect(await page.evaluate((id) => document.getElementById(id)?.getAttribute("data-testid"), errorId)).toBe("error-password");
      await expectNoSeriousViolations22(page);
    } finally {
      await visitor.close();
    }
  });

  it("passes axe in the light and the dark colour scheme", async () => {
    const page = ada.page;
    await ada.openRoom(roomName);
    await page.mouse.move(1, 1);
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(background).toBe(scheme === "dark" ? "rgb(16, 20, 29)" : "rgb(255, 255, 255)");
      await page.screenshot({ path: path.join(RESULTS_DIR, `a11y-${scheme}.png`) });
      await expectNoSeriousViolations22(page);
    }
    // The thread panel ("Show in conversation") in the dark.
    await page.locator('[data-testid="thread-link"]').first().click();
    await page.getByTestId("thread-show-original").waitFor();
    await page.screenshot({ path: path.join(RESULTS_DIR, "a11y-dark-thread.png") });
    await expectNoSeriousViolations22(page);
    await page.keyboard.press("Escape");
    await page.getByTestId("thread-panel").waitFor({ state: "detached" });
    // A focused message with its actions, in the dark.
    await ada.composer().focus();
    await page.keyboard.press("Shift+Tab");
    while ((await focused(page)) !== "message") await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("ArrowUp");
    await page.screenshot({ path: path.join(RESULTS_DIR, "a11y-dark-focused.png") });
    await expectNoSeriousViolations22(page);
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("turns transitions and smooth scrolling off when reduced motion is asked for", async () => {
    const page = ada.page;
    const actions = page.locator('[data-testid="message-actions"]').first();
    const duration = () => actions.evaluate((el) => parseFloat(getComputedStyle(el).transitionDuration));
    await page.emulateMedia({ reducedMotion: "no-preference" });
    expect(await duration()).toBeGreaterThanOrEqual(0.1);
    await page.emulateMedia({ reducedMotion: "reduce" });
    expect(await duration()).toBeLessThan(0.001);
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).scrollBehavior)).toBe("auto");
    await page.emulateMedia({ reducedMotion: "no-preference" });
  });
});
