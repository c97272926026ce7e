/**
 * Receipts, unread state and the conversation list in the browser, with two
 * people: Bob's direct message shows ✓✓ delivered while Ada is elsewhere,
 * then "Read" once she has it on screen; in a room "Read by 1" names Ada;
 * Bob's sidebar reorders live with "ada: …" previews and unread badges, the
 * title shows the unread total, and "Mark all as read" clears it all. The
 * sidebar and the read-by popover pass the accessibility check.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatPage, eventually, twoPeople, type TwoPeople, unique } from "./chat-page.js";
import { expectNoSeriousA11yViolations } from "./axe.js";

const results = path.resolve(import.meta.dirname, "../test-results");

describe("receipts, unread state and the conversation list in the browser", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  const r1 = `rcpt-one-${unique()}`.slice(0, 40);
  const r2 = `rcpt-two-${unique()}`.slice(0, 40);

  const receiptOf = (page: ChatPage, text: string) => page.messagesWithBody(text).last().getByTestId("receipt");
  const roomOrder = (page: ChatPage) => page.byTestId("room-list").getByTestId("room-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-room-name")));

  beforeAll(async () => {
    fs.mkdirSync(results, { recursive: true });
    people = await twoPeople();
    ({ ada, bob } = people);
    await ada.createRoom(r1);
    await ada.createRoom(r2);
    await bob.joinPublicRoom(r1);
    await bob.joinPublicRoom(r2);
  });

  afterAll(async () => {
    await people?.close();
  });

  it("a direct message shows ✓✓ delivered while Ada is elsewhere, then Read once it is on her screen", async () => {
    await bob.startDirect(ada.username);
    await bob.send("Hi Ada, got a minute?");
    await bob.waitForMessage("Hi Ada, got a minute?");
    // Ada is in another room: her device has it (delivered), she has not seen it.
    await eventually("Bob sees delivered", async () => (await receiptOf(bob, "Hi Ada, got a minute?").getAttribute("data-state")) === "delivered");
    expect(await receiptOf(bob, "Hi Ada, got a minute?").getAttribute("aria-label")).toBe("Delivered");
    const dm = ada.roomItem(bob.username);
    await eventually("Ada sees the DM unread", async () => (await dm.getByTestId("unread-badge").count()) === 1);
    expect(await ada.page.title()).toMatch(/^\(1\) #.+ · Parley$/); // the unread count, then the open room

    await ada.openRoom(bob.username);
    await ada.waitForMessage("Hi Ada, got a minute?");
    // Where she left off: the divider sits right above the message she had not read.
    expect(await ada.byTestId("unread-divider").innerText()).toBe("New messages");
    await eventually("Bob sees Read", async () => (await receiptOf(bob, "Hi Ada, got a minute?").getAttribute("data-state")) === "read");
    expect(await receiptOf(bob, "Hi Ada, got a minute?").getAttribute("aria-label")).toBe("Read");
    // Not by colour alone (WCAG 1.4.1): read says so in words beside the ticks.
    expect(await receiptOf(bob, "Hi Ada, got a minute?").evaluate((el) => getComputedStyle(el, "::after").content)).toBe('" Read"');
    await eventually("Ada's title clears", async () => (await ada.page.title()) === `${bob.username} · Parley`);
    await bob.page.screenshot({ path: path.join(results, "receipts-dm-read.png") });
  });

  it("in a room, Bob's message shows Read by 1 with Ada's name in an accessible popover", async () => {
    await bob.openRoom(r2);
    await bob.send("Room hello from Bob");
    await bob.waitForMessage("Room hello from Bob");
    await ada.openRoom(r2);
    await ada.waitForMessage("Room hello from Bob");
    const receipt = receiptOf(bob, "Room hello from Bob");
    await eventually("Bob sees Read by 1", async () => ((await receipt.textContent()) ?? "").includes("Read by 1"));
    await receipt.focus();
    const popover = bob.byTestId("receipt-readers");
    await popover.waitFor();
    expect(await popover.innerText()).toContain(ada.username);
    await bob.page.screenshot({ path: path.join(results, "receipts-read-by.png") });
    await expectNoSeriousA11yViolations(bob.page, '[data-testid="room-view"]');
    await receipt.press("Escape");
    await eventually("the popover closes", async () => (await popover.count()) === 0);
  });

  it("Bob's sidebar reorders live with ada: previews and badges, the title counts, mark all as read clears", async () => {
    await bob.openRoom(ada.username); // neither room is open on Bob's side now
    await eventually("r2 is on top", async () => (await roomOrder(bob))[0] === r2);

    await ada.openRoom(r1);
    await ada.send("Ada writes in one");
    const item1 = bob.roomItem(r1);
    await eventually("r1 moves to the top", async () => (await roomOrder(bob))[0] === r1);
    await eventually("r1 shows 1 unread", async () => (await item1.getByTestId("unread-badge").count()) === 1);
    expect(await item1.getByTestId("room-preview").innerText()).toBe(`${ada.username}: Ada writes in one`);

    await ada.openRoom(r2);
    await ada.send("And in two");
    await eventually("r2 moves back to the top", async () => (await roomOrder(bob))[0] === r2);
    expect(await bob.roomItem(r2).getByTestId("room-preview").innerText()).toBe(`${ada.username}: And in two`);
    await eventually("the title shows 2 unread", async () => (await bob.page.title()) === `(2) ${ada.username} · Parley`);
    await bob.page.screenshot({ path: path.join(results, "receipts-sidebar.png") });
    await expectNoSeriousA11yViolations(bob.page, '[data-testid="sidebar"]');

    await bob.byTestId("mark-all-read").click();
    await eventually("badges clear", async () => (await bob.byTestId("sidebar").getByTestId("unread-badge").count()) === 0);
    await eventually("the title clears", async () => (await bob.page.title()) === `${ada.username} · Parley`);
    await eventually("the server's unread counts are 0", async () => {
      const { rooms } = await bob.apiGet<{ rooms: { unreadCount: number }[] }>("/rooms");
      return rooms.every((r) => r.unreadCount === 0);
    });
  });
});
