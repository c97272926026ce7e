/**
 * Replies and threads in the browser, with two people: Bob replies to Ada's
 * message from its actions, and both see the quote; Ada sees the reply
 * count appear live, opens the thread panel, which lists the original and
 * the reply, and replies there (the reply stays in the thread: issue 16);
 * Bob replies in a thread from a message's "Reply in thread", the root
 * shows "1 reply" with his avatar, and "Also send to the room" puts one
 * copy in the timeline, which a reload keeps exactly so; Bob, whose page
 * holds only the newest messages, activates the quote of a reply also sent
 * to the room and the original is loaded, scrolled to and highlighted. With the panel open, reactions to the
 * original and to a reply show there live, whoever reacts and from where.
 * The page with the thread panel open passes the accessibility check.
 */
import fs from "node:fs";
import path from "node:path";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatPage, eventually, twoPeople, type TwoPeople, unique } from "./chat-page.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { signupBot } from "../test/support/client.js";

describe("replies and threads in the browser", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  const roomName = `threads-${unique()}`.slice(0, 40);
  const results = path.resolve(import.meta.dirname, "../test-results");

  beforeAll(async () => {
    people = await twoPeople({ room: roomName });
    ({ ada, bob } = people);
    fs.mkdirSync(results, { recursive: true });
  });

  afterAll(async () => {
    await people?.close();
  });

  it("a reply from the message actions quotes the original; the other person sees the quote and the count live", async () => {
    await ada.send("Where shall we meet on Friday?");
    const original = await bob.waitForMessage("Where shall we meet on Friday?");
    await original.hover();
    await original.getByRole("button", { name: "Reply" }).click();
    const bar = bob.byTestId("composer-reply");
    await bar.waitFor();
    expect(await bar.innerText()).toContain("Where shall we meet on Friday?");
    await bob.send("At the library, at noon");
    expect(await bob.byTestId("composer-reply").count()).toBe(0);

    // Bob's reply carries the quote of Ada's message.
    const bobsReply = await bob.waitForMessage("At the library, at noon");
    await eventually("Bob's reply shows the quote", async () => (await bobsReply.getByTestId("reply-quote-text").count()) === 1);
    expect(await bobsReply.getByTestId("reply-quote-text").innerText()).toBe("Where shall we meet on Friday?");

    // Ada sees the reply with its quote, and her message's count, live.
    const adasCopy = await ada.waitForMessage("At the library, at noon");
    expect(await adasCopy.getByTestId("reply-quote-text").innerText()).toBe("Where shall we meet on Friday?");
    const adasOriginal = ada.messagesWithBody("Where shall we meet on Friday?");
    await eventually("the count shows on Ada's message", async () => (await adasOriginal.getByTestId("thread-count").count()) === 1);
    expect(await adasOriginal.getByTestId("thread-count").innerText()).toBe("1 reply");
    expect(await adasOriginal.getByTestId("thread-last-reply").count()).toBe(1);
  });

  it("the thread panel lists the original and its replies, replying there works, and the other person's count follows", async () => {
    const adasOriginal = ada.messagesWithBody("Where shall we meet on Friday?");
    await adasOriginal.getByTestId("thread-link").click();
    const panel = ada.page.getByRole("complementary", { name: "Thread" });
    await panel.waitFor();
    await eventually("the panel lists the reply", async () => (await panel.getByTestId("thread-message").count()) === 1);
    expect(await panel.getByTestId("thread-root").getByTestId("thread-message-body").innerText()).toBe("Where shall we meet on Friday?");
    expect(await panel.getByTestId("thread-message-body").allInnerTexts()).toContain("At the library, at noon");

    await panel.getByRole("textbox", { name: "Reply in thread" }).fill("Perfect, see you there");
    await panel.getByRole("textbox", { name: "Reply in thread" }).press("Enter");
    await eventually("the panel shows Ada's reply", async () =>
      (await panel.locator('[data-testid="thread-message"]:not([data-status])').filter({ hasText: "Perfect, see you there" }).count()) === 1,
    );
    // Bob, who has the original on screen, sees its count move to 2 live.
    const bobsOriginal = bob.messagesWithBody("Where shall we meet on Friday?");
    await eventually("Bob sees 2 replies", async () => (await bobsOriginal.getByTestId("thread-count").innerText().catch(() => "")) === "2 replies");
    // The reply made in the thread stays there: the event that moved the count is in, and no timeline shows the reply.
    expect(await bob.messagesWithBody("Perfect, see you there").count()).toBe(0);
    expect(await ada.messagesWithBody("Perfect, see you there").count()).toBe(0);

    await expectNoSeriousA11yViolations(ada.page);
    await ada.page.screenshot({ path: path.join(results, "thread-panel.png") });
    // Phone width: the panel takes the whole screen.
    await ada.page.setViewportSize({ width: 390, height: 800 });
    const box = await panel.boundingBox();
    expect(box?.width).toBe(390);
    await ada.page.screenshot({ path: path.join(results, "thread-panel-phone.png") });
    await ada.page.setViewportSize({ width: 1280, height: 800 });

    await panel.getByRole("button", { name: "Close thread" }).click();
    await eventually("the panel closed", async () => (await ada.byTestId("thread-panel").count()) === 0);
  });

  it("with the thread panel open, reactions show there live: Bob's on the reply from the conversation, Ada's on the original from the panel", async () => {
    const chip = (message: Locator, emoji: string): Locator => message.locator(`[data-testid="reaction"][data-emoji="${emoji}"]`);
    /** The count and pressed state of one reaction button, read in one go (it may be replaced between two reads). */
    const chipState = async (message: Locator, emoji: string) => {
      const [state] = await chip(message, emoji).evaluateAll((buttons) =>
        buttons.map((b) => ({ count: b.getAttribute("data-count"), pressed: b.getAttribute("aria-pressed") })),
      );
      return state ?? null;
    };
    /** Hovers `message` until its quick reactions show, then clicks `emoji` there. */
    const react = async (message: Locator, emoji: string) => {
      await message.hover();
      const bar = message.getByTestId("reaction-bar").first();
      await eventually("the quick reactions show on hover", async () => (await bar.evaluate((el) => getComputedStyle(el).opacity)) === "1");
      await bar.getByRole("button", { name: `React with ${emoji}` }).click();
    };

    await ada.messagesWithBody("Where shall we meet on Friday?").getByTestId("thread-link").click();
    const panel = ada.page.getByRole("complementary", { name: "Thread" });
    const panelReply = panel.getByTestId("thread-message").filter({ hasText: "At the library, at noon" });
    await panelReply.waitFor();
    expect(await chip(panelReply, "👍").count()).toBe(0);

    // Bob reacts to the reply in his conversation; Ada's open panel shows it without a reload.
    await react(bob.messagesWithBody("At the library, at noon"), "👍");
    await eventually("Ada's panel shows Bob's reaction on the reply", async () => (await chipState(panelReply, "👍"))?.count === "1");
    expect(await chipState(panelReply, "👍")).toEqual({ count: "1", pressed: "false" });

    // Ada reacts to the original from the panel: the panel and Bob's conversation both show it.
    const panelRoot = panel.getByTestId("thread-root");
    await react(panelRoot, "🎉");
    await eventually("Ada's panel shows her reaction on the original", async () => (await chipState(panelRoot, "🎉"))?.pressed === "true");
    const bobsOriginal = bob.messagesWithBody("Where shall we meet on Friday?");
    await eventually("Bob sees Ada's reaction on the original", async () => (await chipState(bobsOriginal, "🎉"))?.count === "1");

    // Bob takes his back: it leaves Ada's panel live too.
    await chip(bob.messagesWithBody("At the library, at noon"), "👍").click();
    await eventually("the reaction leaves Ada's panel", async () => (await chip(panelReply, "👍").count()) === 0);
    await expectNoSeriousA11yViolations(ada.page);

    await panel.getByRole("button", { name: "Close thread" }).click();
    await eventually("the panel closed", async () => (await ada.byTestId("thread-panel").count()) === 0);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("a reply in a thread stays in the thread; the root shows '1 reply' and the replier; 'Also send to the room' puts one copy in the timeline, after a reload too", async () => {
    await ada.send("Lunch plans for today?");
    const bobsRoot = await bob.waitForMessage("Lunch plans for today?");
    await bobsRoot.hover();
    await bobsRoot.getByRole("button", { name: "Open thread" }).click();
    const panel = bob.page.getByRole("complementary", { name: "Thread" });
    await panel.waitFor();
    const input = panel.getByRole("textbox", { name: "Reply in thread" });
    await input.fill("Pizza at one?");
    await input.press("Enter");
    await eventually("Bob's panel shows his reply, stored", async () =>
      (await panel.locator('[data-testid="thread-message"]:not([data-status])').filter({ hasText: "Pizza at one?" }).count()) === 1,
    );

    // Ada's copy of the root says "1 reply", with Bob's avatar and name; the reply is in no timeline.
    const adasRoot = ada.messagesWithBody("Lunch plans for today?");
    await eventually("Ada sees 1 reply", async () => (await adasRoot.getByTestId("thread-count").innerText().catch(() => "")) === "1 reply");
    expect(await adasRoot.getByTestId("thread-repliers").locator(".avatar").count()).toBe(1);
    expect(await adasRoot.getByTestId("thread-link").innerText()).toContain("1 reply");
    expect(await adasRoot.getByRole("button", { name: /^1 reply.*from bob/i }).count()).toBe(1);
    expect(await bob.messagesWithBody("Lunch plans for today?").getByTestId("thread-count").innerText()).toBe("1 reply");
    expect(await ada.messagesWithBody("Pizza at one?").count()).toBe(0);
    expect(await bob.messagesWithBody("Pizza at one?").count()).toBe(0);

    // "Also send to the room": one copy in the timeline (with its quote), and the box is clear again.
    const also = panel.getByRole("checkbox", { name: "Also send to the room" });
    await also.check();
    await expectNoSeriousA11yViolations(bob.page, '[data-testid="thread-panel"]');
    await bob.page.screenshot({ path: path.join(results, "thread-also-in-room.png") });
    await input.fill("Or sushi, everyone welcome");
    await input.press("Enter");
    const adasCopy = await ada.waitForMessage("Or sushi, everyone welcome");
    expect(await adasCopy.getByTestId("reply-quote-text").innerText()).toBe("Lunch plans for today?");
    await eventually("Ada sees 2 replies", async () => (await adasRoot.getByTestId("thread-count").innerText().catch(() => "")) === "2 replies");
    expect(await ada.messagesWithBody("Or sushi, everyone welcome").count()).toBe(1);
    await eventually("Bob's timeline has its copy, once", async () => (await bob.messagesWithBody("Or sushi, everyone welcome").count()) === 1);
    expect(await also.isChecked()).toBe(false);
    // In the thread, both replies; the one also sent to the room says so.
    await eventually("the panel lists both replies", async () => (await panel.getByTestId("thread-message").count()) === 2);
    expect(await panel.getByTestId("thread-also-sent").count()).toBe(1);
    await ada.page.screenshot({ path: path.join(results, "thread-summary.png") });
    await panel.getByRole("button", { name: "Close thread" }).click();

    // A reload (history) keeps both kinds as they were: the thread-only reply stays out, the other shows once.
    await ada.page.reload();
    await ada.waitUntilConnected();
    await ada.waitForOpenRoom(roomName);
    await ada.waitForMessage("Or sushi, everyone welcome");
    expect(await ada.messagesWithBody("Or sushi, everyone welcome").count()).toBe(1);
    expect(await ada.messagesWithBody("Pizza at one?").count()).toBe(0);
    expect(await ada.messagesWithBody("Lunch plans for today?").getByTestId("thread-count").innerText()).toBe("2 replies");
    expect(await ada.messagesWithBody("Lunch plans for today?").getByTestId("thread-repliers").locator(".avatar").count()).toBe(1);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("the quote jumps to the original after scrolling away, loading older messages when it is not loaded", async () => {
    // Sixty messages from someone else push the original out of the newest page.
    const roomId = await ada.openRoomId();
    const cleo = await signupBot(people.server.baseUrl, "cleo");
    expect((await cleo.post(`/rooms/${roomId}/join`)).status).toBe(200);
    for (let i = 0; i < 60; i++) expect((await cleo.post(`/rooms/${roomId}/messages`, { body: `filler ${i}` })).status).toBe(201);
    // Sixty live messages render one by one: on a loaded machine that can take longer than the default wait.
    await bob.waitForMessage("filler 59", 30_000);

    // Bob reloads: only the newest messages are loaded, the original is not among them.
    await bob.page.reload();
    await bob.waitUntilConnected();
    await bob.waitForOpenRoom(roomName);
    await bob.waitForMessage("filler 59");
    expect(await bob.messagesWithBody("Where shall we meet on Friday?").count()).toBe(0);

    // Ada replies to the original once more, from its thread.
    await ada.messagesWithBody("Where shall we meet on Friday?").getByTestId("thread-link").click();
    const panel = ada.page.getByRole("complementary", { name: "Thread" });
    await panel.getByRole("textbox", { name: "Reply in thread" }).fill("Bring the tickets");
    // Also sent to the room: Bob's timeline shows it, with its quote.
    await panel.getByRole("checkbox", { name: "Also send to the room" }).check();
    await panel.getByRole("button", { name: "Send reply" }).click();

    const latest = await bob.waitForMessage("Bring the tickets");
    await latest.getByTestId("reply-quote").click();
    const original = bob.messagesWithBody("Where shall we meet on Friday?");
    await original.first().waitFor();
    await eventually("the original is highlighted", async () => (await original.first().getAttribute("class"))?.includes("message--highlight") ?? false);
    // It is on screen: inside the list's visible box.
    const list = await bob.byTestId("message-list").boundingBox();
    const found = await original.first().boundingBox();
    expect(list && found).toBeTruthy();
    expect(found!.y).toBeGreaterThanOrEqual(list!.y - 1);
    expect(found!.y + found!.height).toBeLessThanOrEqual(list!.y + list!.height + 1);
    expect(await original.getByTestId("thread-count").innerText()).toBe("3 replies");
    await bob.page.screenshot({ path: path.join(results, "reply-jump.png") });
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });
});
