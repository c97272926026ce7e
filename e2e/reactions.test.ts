/**
 * Reactions in the browser, with two people: Bob reacts to Ada's message
 * from the quick reactions on hover, Ada sees the count and who reacted
 * live; Ada finds 🎉 by searching "party" in the emoji picker (checked for
 * accessibility while open) and Bob sees it; clicking one's own reaction
 * takes it back, on both screens.
 */
import fs from "node:fs";
import path from "node:path";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatPage, eventually, twoPeople, type TwoPeople, unique } from "./chat-page.js";
import { expectNoSeriousA11yViolations } from "./axe.js";

describe("reactions in the browser", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  const roomName = `reactions-${unique()}`.slice(0, 40);
  const results = path.resolve(import.meta.dirname, "../test-results");

  /** The reaction button of `emoji` on a message, and what it says. */
  const chip = (message: Locator, emoji: string): Locator => message.locator(`[data-testid="reaction"][data-emoji="${emoji}"]`);
  const chipState = async (message: Locator, emoji: string) => {
    // Read in one go: the button may be replaced or removed between two separate reads.
    const [state] = await chip(message, emoji).evaluateAll((buttons) =>
      buttons.map((b) => ({ count: b.getAttribute("data-count"), pressed: b.getAttribute("aria-pressed"), label: b.getAttribute("aria-label") })),
    );
    return state ?? null;
  };

  beforeAll(async () => {
    people = await twoPeople({ room: roomName });
    ({ ada, bob } = people);
    fs.mkdirSync(results, { recursive: true });
  });

  afterAll(async () => {
    await people?.close();
  });

  it("Bob reacts from the quick reactions on hover; Ada sees the count and who reacted, live", async () => {
    await ada.send("Ship the release today?");
    const bobsView = await bob.waitForMessage("Ship the release today?");
    const adasView = await ada.waitForMessage("Ship the release today?");

    await bobsView.hover();
    const bar = bobsView.getByTestId("reaction-bar");
    await eventually("the quick reactions show on hover", async () => (await bar.evaluate((el) => getComputedStyle(el).opacity)) === "1");
    await bar.getByRole("button", { name: "React with 👍" }).click();

    await eventually("Bob sees his reaction", async () => (await chipState(bobsView, "👍"))?.pressed === "true");
    await eventually("Ada sees Bob's reaction live", async () => (await chipState(adasView, "👍"))?.count === "1");
    const seen = await chipState(adasView, "👍");
    expect(seen).toMatchObject({ pressed: "false", label: `👍 1, reacted by ${bob.username}; click to add yours` });
    // The names show on hover.
    await chip(adasView, "👍").hover();
    const who = chip(adasView, "👍").getByTestId("reaction-who");
    await eventually("the names show on hover", () => who.isVisible());
    expect(await who.innerText()).toBe(bob.username);
    await ada.page.screenshot({ path: path.join(results, "reactions-who.png") });
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("Ada finds 🎉 by searching “party” in the picker (accessible while open); Bob sees it; clicking one's own reaction takes it back", async () => {
    const adasView = await ada.waitForMessage("Ship the release today?");
    const bobsView = await bob.waitForMessage("Ship the release today?");

    // Keyboard: focus reaches the quick reactions, and the picker opens from them.
    await adasView.hover();
    await adasView.getByTestId("add-reaction").click();
    const picker = ada.byTestId("emoji-picker");
    await picker.waitFor();
    const search = picker.getByTestId("emoji-search");
    await eventually("the search box has the focus", () => search.evaluate((el) => el === document.activeElement));
    await eventually("the emoji are loaded", async () => (await picker.getByTestId("emoji-option").count()) > 0);
    await search.fill("party");
    const party = picker.locator('[data-testid="emoji-option"][data-emoji="🎉"]');
    await party.waitFor();
    expect(await party.getAttribute("aria-label")).toBe("party popper");
    await expectNoSeriousA11yViolations(ada.page);
    await ada.page.screenshot({ path: path.join(results, "emoji-picker.png") });
    await party.click();
    await eventually("the picker closed", async () => (await ada.byTestId("emoji-picker").count()) === 0);

    await eventually("Ada sees her 🎉", async () => (await chipState(adasView, "🎉"))?.pressed === "true");
    await eventually("Bob sees Ada's 🎉 live", async () => (await chipState(bobsView, "🎉"))?.count === "1");
    expect((await chipState(bobsView, "🎉"))?.label).toBe(`🎉 1, reacted by ${ada.username}; click to add yours`);

    // Ada adds hers to Bob's 👍 by clicking it: two, and she is named first to herself.
    await chip(adasView, "👍").click();
    await eventually("Ada's 👍 counts", async () => (await chipState(adasView, "👍"))?.count === "2");
    expect((await chipState(adasView, "👍"))?.label).toBe(`👍 2, reacted by you and ${bob.username}; click to remove yours`);
    await eventually("Bob sees two", async () => (await chipState(bobsView, "👍"))?.count === "2");
    expect((await chipState(bobsView, "👍"))?.label).toBe(`👍 2, reacted by you and ${ada.username}; click to remove yours`);
    await bob.page.screenshot({ path: path.join(results, "reactions.png") });

    // Bob clicks his own 👍: it is taken back on both screens.
    await chip(bobsView, "👍").click();
    await eventually("Bob's 👍 is gone on his screen", async () => (await chipState(bobsView, "👍"))?.pressed === "false");
    await eventually("and on Ada's", async () => (await chipState(adasView, "👍"))?.count === "1");
    expect((await chipState(adasView, "👍"))?.label).toBe("👍 1, reacted by you; click to remove yours");
    // Ada takes back her 🎉: the emoji goes away for both.
    await chip(adasView, "🎉").click();
    await eventually("the 🎉 is gone for Bob", async () => (await chipState(bobsView, "🎉")) === null);
    await eventually("and for Ada", async () => (await chipState(adasView, "🎉")) === null);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("the emoji data is not in the initial bundle: it loads when the picker first opens", async () => {
    const scripts = await bob.page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.endsWith(".js")));
    expect(scripts.some((name) => /\/compact-[^/]*\.js$/.test(name)), scripts.join(" ")).toBe(false);
    const adas = await ada.page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name).filter((n) => n.endsWith(".js")));
    expect(adas.some((name) => /\/compact-[^/]*\.js$/.test(name)), adas.join(" ")).toBe(true);
  });
});
