/**
 * Things people hit at a desktop (1280 × 800), with two people in a public
 * room: the hover reaction bar goes once the mouse leaves after a click;
 * "More actions" opens the message's sheet from the keyboard and gives the
 * focus back; "Read by" sits under the last read message only; the emoji
 * picker keeps its place as a search narrows; the mention suggestions and
 * a growing composer do not cover the newest message or its time; the
 * owner invites someone to a public room and any member can share its
 * link.
 */
import fs from "node:fs";
import path from "node:path";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { ChatPage, eventually, twoPeople, type TwoPeople, unique } from "./chat-page.js";

const results = path.resolve(import.meta.dirname, "../test-results");

type Box = { x: number; y: number; width: number; height: number };

async function boxOf(locator: Locator): Promise<Box> {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`no box: ${String(locator)}`);
  return box;
}

function opacityOf(locator: Locator): Promise<string> {
  return locator.evaluate((el) => getComputedStyle(el).opacity);
}

/** Whether `inner` is wholly inside the message list's visible area. */
async function inView(page: Page, inner: Locator): Promise<boolean> {
  const list = await boxOf(page.getByTestId("message-list"));
  const box = await boxOf(inner);
  return box.y >= list.y - 1 && box.y + box.height <= list.y + list.height + 1;
}

describe("message actions and small things at a desktop", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  const roomName = `actions-${unique()}`.slice(0, 40);

  beforeAll(async () => {
    fs.mkdirSync(results, { recursive: true });
    people = await twoPeople({ room: roomName });
    ({ ada, bob } = people);
  });

  afterAll(async () => {
    await people?.close();
  });

  it("the hover reaction bar goes away once the mouse leaves after a click", async () => {
    await ada.send("Coffee at ten?");
    const message = await bob.waitForMessage("Coffee at ten?");
    await message.hover();
    const bar = message.getByTestId("reaction-bar");
    await eventually("the bar shows on hover", async () => (await opacityOf(bar)) === "1");
    await bar.getByRole("button", { name: "React with 👍" }).click();
    await eventually("the reaction is in", async () =>
      (await message.locator('[data-testid="reaction"][data-emoji="👍"]').getAttribute("aria-pressed")) === "true",
    );
    await bob.page.mouse.move(5, 795); // far from the message (the sidebar's bottom corner)
    await eventually("the bar hides", async () => (await opacityOf(bar)) === "0");
    expect(await opacityOf(message.getByTestId("message-actions"))).toBe("0");
    // The keyboard still brings it: Shift+Tab from the composer selects the newest message, and its bar shows.
    await bob.composer().focus();
    await bob.page.keyboard.press("Shift+Tab");
    expect(await bob.page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("message");
    await eventually("the bar shows for the keyboard", async () => (await opacityOf(bar)) === "1");
  });

  it("More actions opens the message's sheet from the keyboard; Escape gives the focus back", async () => {
    const message = await bob.waitForMessage("Coffee at ten?");
    const more = message.getByTestId("message-more");
    // As a keyboard user gets there: Shift+Tab from the composer selects the newest message, Enter goes into its
    // controls, Tab to "More actions".
    await bob.composer().focus();
    await bob.page.keyboard.press("Shift+Tab");
    await bob.page.keyboard.press("Enter");
    const focusedId = () => bob.page.evaluate(() => document.activeElement?.getAttribute("data-testid"));
    for (let i = 0; i < 10 && (await focusedId()) !== "message-more"; i += 1) await bob.page.keyboard.press("Tab");
    expect(await focusedId()).toBe("message-more");
    await bob.page.keyboard.press("Enter");
    const sheet = bob.page.getByRole("dialog", { name: "Message actions" });
    await sheet.waitFor();
    // The first quick reaction has the focus; the 👍 Bob gave shows as pressed.
    expect(await sheet.getByRole("button", { name: "React with 👍" }).evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await sheet.getByRole("button", { name: "React with 👍" }).getAttribute("aria-pressed")).toBe("true");
    expect((await sheet.locator(".message-sheet__actions button").allInnerTexts()).map((t) => t.trim())).toEqual([
      "Reply",
      "Reply in thread",
      "Copy text",
    ]);
    await bob.page.screenshot({ path: path.join(results, "desktop-message-sheet.png") });
    await expectNoSeriousA11yViolations(bob.page);
    await bob.page.keyboard.press("Escape");
    await sheet.waitFor({ state: "detached" });
    expect(await more.evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it("shows Read by only under the newest message read, the earlier ones with the read ticks", async () => {
    for (const text of ["one of three", "two of three", "three of three"]) {
      await ada.send(text);
      await ada.waitForMessage(text);
    }
    await bob.waitForMessage("three of three");
    const receipt = (text: string) => ada.messagesWithBody(text).getByTestId("receipt");
    await eventually("the newest shows Read by 1", async () => ((await receipt("three of three").textContent()) ?? "") === "Read by 1");
    for (const text of ["one of three", "two of three"]) {
      expect(await receipt(text).getAttribute("data-state")).toBe("read");
      expect(await receipt(text).getAttribute("aria-label")).toBe("Read");
    }
    expect(await ada.page.locator('[data-testid="room-view"] [data-testid="receipt"]').filter({ hasText: "Read by" }).count()).toBe(1);
  });

  it("the emoji picker does not move as the search narrows", async () => {
    const message = await ada.waitForMessage("Coffee at ten?");
    await message.hover();
    await message.getByTestId("add-reaction").click();
    const picker = ada.byTestId("emoji-picker");
    await picker.waitFor();
    await eventually("the emoji are loaded", async () => (await picker.getByTestId("emoji-option").count()) > 0);
    const search = picker.getByTestId("emoji-search");
    const start = await boxOf(search);
    const dialog = await boxOf(picker);
    for (const query of ["p", "pa", "par", "part", "party", "partyx"]) {
      await search.fill(query);
      await eventually(`the matches for ${query}`, async () => (await picker.getByTestId("emoji-status").innerText()).length > 0);
      expect(await boxOf(search), `search box after "${query}"`).toEqual(start);
      expect(await boxOf(picker), `picker after "${query}"`).toEqual(dialog);
    }
    await picker.getByRole("button", { name: "Close" }).click();
    await picker.waitFor({ state: "detached" });
  });

  it("the mention suggestions and a taller composer leave the newest message and its time in view", async () => {
    for (let i = 1; i <= 30; i += 1) await bob.send(`filler ${i}`);
    await ada.waitForMessage("filler 30");
    const newest = ada.messagesWithBody("filler 30");
    await eventually("the list is at the bottom", () => inView(ada.page, newest.getByTestId("message-body")));
    // A suggestion list over the messages used to hide the newest one's time.
    await ada.composer().fill("");
    await ada.composer().pressSequentially("@");
    await ada.byTestId("mention-option").first().waitFor();
    const time = newest.getByTestId("message-time");
    const options = await boxOf(ada.byTestId("mention-listbox"));
    const timeBox = await boxOf(time);
    expect(timeBox.y + timeBox.height, "the time is above the suggestions").toBeLessThanOrEqual(options.y + 1);
    await eventually("the time is in view", () => inView(ada.page, time));
    await ada.page.screenshot({ path: path.join(results, "mention-suggestions-placement.png") });
    await ada.composer().press("Escape");
    // Three lines in the composer make the list shorter; it stays at its bottom.
    await ada.composer().fill("first line\nsecond line\nthird line\nfourth line");
    await eventually("the newest message is still in view", () => inView(ada.page, time));
    await ada.composer().fill("");
  });

  it("the owner invites someone to a public room; a member can share its link", async () => {
    const carol = await ChatPage.open(people.browser, people.server.baseUrl);
    const carolName = await carol.signUp("carol");
    try {
      await ada.openRoom(roomName);
      const invite = ada.byTestId("add-member");
      expect((await invite.innerText()).trim()).toBe("Invite");
      await invite.click();
      const dialog = ada.byTestId("members-dialog");
      await dialog.getByRole("heading", { name: `Invite people to ${roomName}` }).waitFor();
      const link = await dialog.getByLabel("Anyone with this link can join the room").inputValue();
      expect(link).toBe(`${people.server.baseUrl}/#/rooms/${encodeURIComponent(await ada.openRoomId())}`);
      await dialog.getByTestId("user-search").fill(carolName);
      await dialog.locator(`[data-testid="user-result"][data-username="${carolName}"]`).getByRole("button", { name: /Add/ }).click();
      await dialog.getByTestId("member-added").waitFor();
      await expectNoSeriousA11yViolations(ada.page);
      await ada.page.screenshot({ path: path.join(results, "invite-public-room.png") });
      await ada.page.keyboard.press("Escape");
      // Carol has the room at once.
      await carol.roomItem(roomName).waitFor();

      // Bob, a plain member, is offered the link (no picker: only owners and admins add people).
      await bob.openRoom(roomName);
      await bob.byTestId("add-member").click();
      const bobs = bob.byTestId("members-dialog");
      expect(await bobs.getByTestId("invite-link").inputValue()).toBe(link);
      expect(await bobs.getByTestId("user-search").count()).toBe(0);
      await bob.page.keyboard.press("Escape");
    } finally {
      await carol.close();
    }
  });
});
