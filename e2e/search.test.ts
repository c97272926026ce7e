/**
 * Message search in the web client (issue 18, item 5), in real Chromium
 * against a real server: Ctrl+K opens the panel, results come as one types,
 * grouped by conversation with the matches marked (as text, never HTML),
 * the keyboard moves through them and Enter opens one in its room, loaded
 * around it (a message far beyond the first page) and highlighted; filter
 * chips, "no results", load more, the sort, searching one conversation from
 * its header, a reply kept in its thread, the phone's full-screen view, and
 * axe on the open panel. Screenshots: search-desktop.png, search-phone.png.
 */
import fs from "node:fs";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SEARCH_PAGE_SIZE } from "@shared/protocol/search.js";
import { postMessage, signup, type Caller } from "../test/support/client.js";
import { axeViolations } from "./axe.js";
import { type ChatPage, PASSWORD, eventually, twoPeople, unique, type TwoPeople } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");
const PHONE = { width: 375, height: 740 };
/** Filler messages that push the old one far beyond the first page of history. */
const FILLERS = 120;
/** The server counts this many matches at most (then says "100+"): fewer than the fillers. */
const COUNT_CAP = 100;

/** Ids of the messages that got the highlight, recorded in the page as it happens (it lasts only a moment). */
async function recordHighlights(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __highlighted: string[] }).__highlighted = seen;
    new MutationObserver((changes) => {
      for (const change of changes) {
        const el = change.target as HTMLElement;
        if (el.classList?.contains("message--highlight")) seen.push(el.dataset.messageId ?? "?");
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["class"] });
  });
}

function highlighted(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __highlighted?: string[] }).__highlighted ?? []);
}

describe("message search in the web client", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  let carol: Caller;
  const opsName = `ops-${unique()}`;
  const randomName = `random-${unique()}`;
  let opsId: string;
  let randomId: string;
  /** The old message in #ops, beyond the first page. */
  let zebraId: string;

  const search = () => ada.byTestId("search-dialog");
  const input = () => ada.byTestId("search-input");
  const hits = () => search().getByTestId("search-hit");

  async function typeQuery(text: string): Promise<void> {
    await input().fill(text);
  }

  /** Waits until the panel shows the answer to what is typed now (not an earlier query's, not "Searching…"). */
  async function settled(): Promise<string> {
    // Read at once in the page: read one by one, the state could be the last answer's and the query the next one's.
    await eventually("the search has answered what is typed", () =>
      ada.page.evaluate(() => {
        const dialog = document.querySelector('[data-testid="search-dialog"]');
        const typed = dialog?.querySelector<HTMLInputElement>('[data-testid="search-input"]')?.value;
        const results = dialog?.querySelector<HTMLElement>('[data-testid="search-results"]');
        const state = results?.dataset.state;
        return (state === "done" || state === "error") && results?.dataset.query?.split("|")[0] === typed;
      }),
    );
    return (await search().getByTestId("search-status").textContent()) ?? "";
  }

  beforeAll(async () => {
    people = await twoPeople({ room: opsName, server: { searchCountCap: COUNT_CAP } });
    ({ ada, bob } = people);
    opsId = await ada.openRoomId();
    await bob.createRoom(randomName);
    randomId = await bob.openRoomId();
    await ada.joinPublicRoom(randomName);

    // Carol fills #ops over HTTP: one old message, then enough to push it far beyond the first page.
    carol = await signup(people.server.baseUrl, "carol");
    expect((await carol.post(`/rooms/${opsId}/join`)).status).toBe(200);
    zebraId = (await postMessage(carol, opsId, "the zebra migration plan is ready for review")).id;
    for (let i = 1; i <= FILLERS; i += 1) await postMessage(carol, opsId, `filler note ${i}`);
    // A thread: Ada's root in #ops, Carol's reply kept in the thread.
    const root = await postMessage(carol, opsId, "who owns the kiwi dashboard?");
    await postMessage(carol, opsId, "the kiwi dashboard belongs to the platform team", { replyTo: root.id, inThread: true });

    await ada.openRoom(opsName);
    await ada.send("We should deploy the release on friday");
    await ada.waitForMessage("We should deploy the release on friday");
    await bob.openRoom(randomName);
    await bob.send("The deployment went fine, <b>deploy</b> notes are in the wiki");
    await ada.openRoom(randomName);
    await ada.waitForMessage("The deployment went fine, <b>deploy</b> notes are in the wiki");
  }, 120_000);

  afterAll(async () => {
    await people?.close();
  });

  it("opens with Ctrl+K and shows results as one types, grouped by conversation, matches marked as text", async () => {
    await ada.composer().click();
    await ada.page.keyboard.press("Control+k");
    await search().waitFor();
    expect(await input().evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await search().getByTestId("search-hints").isVisible()).toBe(true);

    const requests: string[] = [];
    const onRequest = (r: { url: () => string }) => {
      if (r.url().includes("/api/v1/search")) requests.push(r.url());
    };
    ada.page.on("request", onRequest);
    await input().pressSequentially("deploy", { delay: 30 });
    const status = await settled();
    ada.page.off("request", onRequest);
    // Debounced: typing six letters did not ask six times.
    expect(requests.length).toBeLessThan(6);
    expect(new URL(requests.at(-1)!).searchParams.get("q")).toBe("deploy");
    expect(status).toBe("2 results");

    const titles = await search().getByTestId("search-group-title").allTextContents();
    expect(titles.sort()).toEqual([`#${opsName}`, `#${randomName}`].sort());
    const marks = await search().locator("[data-testid=search-hit-snippet] mark").allTextContents();
    expect(marks.length).toBeGreaterThanOrEqual(2);
    for (const mark of marks) expect(mark.toLowerCase()).toContain("deploy");
    // Bob's "<b>deploy</b>" is text in the snippet, never markup.
    const bobsHit = search().locator(`[data-testid=search-group][data-room-id="${randomId}"] [data-testid=search-hit]`);
    expect(await bobsHit.getByTestId("search-hit-snippet").textContent()).toContain("<b>deploy</b>");
    expect(await bobsHit.locator("b").count()).toBe(0);
    expect(await bobsHit.getByTestId("search-hit-author").textContent()).toContain("bob");

    // The keyboard: ↓ makes the first result active (the focus stays in the box), ↓ again the next.
    await input().press("ArrowDown");
    const first = hits().nth(0);
    expect(await first.getAttribute("aria-selected")).toBe("true");
    expect(await input().getAttribute("aria-activedescendant")).toBe(await first.getAttribute("id"));
    await input().press("ArrowDown");
    expect(await hits().nth(1).getAttribute("aria-selected")).toBe("true");
    await input().press("ArrowUp");
    expect(await first.getAttribute("aria-selected")).toBe("true");

    // Escape closes it and the focus goes back where it was.
    await ada.page.keyboard.press("Escape");
    await search().waitFor({ state: "hidden" });
    expect(await ada.composer().evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it("has no serious axe violations with results open, and looks right at 1280 px", async () => {
    await ada.byTestId("search-open").click();
    await search().waitFor();
    // Reopened: the last search is still there.
    expect(await input().inputValue()).toBe("deploy");
    await settled();
    await input().press("ArrowDown");
    // WCAG 2.1 A/AA, and 2.2's target size too (the chips' remove buttons, the sort).
    const violations = await axeViolations(ada.page, { impacts: ["serious", "critical"], wcag22: true });
    expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "search-desktop.png") });
    // The dark colour scheme passes the same checks (the marks have their own colours there).
    await ada.page.emulateMedia({ colorScheme: "dark" });
    const dark = await axeViolations(ada.page, { impacts: ["serious", "critical"] });
    expect(dark, JSON.stringify(dark, null, 2)).toEqual([]);
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "search-dark.png") });
    await ada.page.emulateMedia({ colorScheme: "light" });
    await ada.page.keyboard.press("Escape");
    await search().waitFor({ state: "hidden" });
    // Closed with Escape from the sidebar's box: the focus is back on it.
    expect(await ada.byTestId("search-open").evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it("opens an old message in its room with Enter: the page around it, scrolled to and highlighted", async () => {
    // A fresh load: #ops was open while Carol wrote, so this tab held every message live.
    await ada.page.reload();
    await ada.waitUntilConnected();
    await ada.openRoom(randomName);
    await recordHighlights(ada.page);
    const history: string[] = [];
    const onRequest = (r: { url: () => string }) => {
      if (r.url().includes("/messages?")) history.push(r.url());
    };
    ada.page.on("request", onRequest);

    // `/` opens it too, when the focus is not in a text field.
    await ada.byTestId("room-title").focus();
    await ada.page.keyboard.press("/");
    await search().waitFor();
    await typeQuery("zebra");
    expect(await settled()).toBe("1 result");
    await input().press("ArrowDown");
    await input().press("Enter");
    await search().waitFor({ state: "hidden" });

    await ada.waitForOpenRoom(opsName);
    const zebra = await ada.waitForMessage("the zebra migration plan is ready for review");
    await eventually("the found message is highlighted", async () => (await highlighted(ada.page)).includes(zebraId));
    // Focused, so the keyboard goes on from it; on screen.
    expect(await zebra.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await zebra.isVisible()).toBe(true);
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "search-opened.png") });
    // Loaded around it (not every page in between): the newest messages are not in the list...
    expect(history.some((url) => new URL(url).searchParams.has("around"))).toBe(true);
    ada.page.off("request", onRequest);
    // (Scrolling near either end of the window may add a page; the newest are still far below.)
    const bodies = await ada.messageBodies();
    expect(bodies).not.toContain(`filler note ${FILLERS}`);
    expect(bodies).not.toContain("We should deploy the release on friday");
    // ...until "Jump to latest".
    await ada.byTestId("jump-to-present").click();
    await ada.waitForMessage("We should deploy the release on friday");
    await eventually("the list is at the bottom", async () =>
      (await ada.byTestId("message-list").evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)) < 5,
    );
    expect(await ada.byTestId("jump-to-present").count()).toBe(0);
  });

  it("sending from a message opened far back goes to the present, where the message appears", async () => {
    await ada.page.keyboard.press("Control+k");
    await typeQuery("zebra");
    expect(await settled()).toBe("1 result");
    await input().press("Enter");
    await ada.waitForMessage("the zebra migration plan is ready for review");
    await ada.byTestId("jump-to-present").waitFor();
    await ada.send("sent while reading old messages");
    await ada.waitForMessage("sent while reading old messages");
    await ada.waitForMessage(`filler note ${FILLERS}`);
    await eventually("the list is at the bottom", async () =>
      (await ada.byTestId("message-list").evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)) < 5,
    );
    expect(await ada.byTestId("jump-to-present").count()).toBe(0);
    expect(await ada.messagesWithBody("sent while reading old messages").count()).toBe(1);
  });

  it("opens a reply kept in its thread: the root in the room and the reply in its thread", async () => {
    await recordHighlights(ada.page);
    await ada.page.keyboard.press("Control+k");
    await typeQuery("kiwi platform");
    expect(await settled()).toBe("1 result");
    expect(await hits().first().textContent()).toContain("in a thread");
    await hits().first().click();
    await search().waitFor({ state: "hidden" });
    const panel = ada.byTestId("thread-panel");
    await panel.getByText("the kiwi dashboard belongs to the platform team").waitFor();
    await ada.waitForMessage("who owns the kiwi dashboard?");
    const replyId = await panel.locator("[data-message-id]", { hasText: "platform team" }).last().getAttribute("data-message-id");
    await eventually("the reply is highlighted in its thread", async () => (await highlighted(ada.page)).includes(replyId!));
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "search-thread.png") });
    await ada.byTestId("thread-close").click();
  });

  it("shows filters as chips that can be removed, adds quick filters, and says when nothing matches", async () => {
    await ada.page.keyboard.press("Control+k");
    await typeQuery(`deploy from:@${bob.username}`);
    expect(await settled()).toBe("1 result");
    const chip = search().locator(`[data-testid=filter-chip][data-filter="from:@${bob.username}"]`);
    await chip.waitFor();
    expect(await search().getByTestId("search-group-title").allTextContents()).toEqual([`#${randomName}`]);

    await search().getByRole("button", { name: `Remove filter from:@${bob.username}` }).click();
    expect(await input().inputValue()).toBe("deploy");
    expect(await chip.count()).toBe(0);
    expect(await settled()).toBe("2 results");

    // A quick filter adds its word; nothing has a file, so nothing matches, and the panel suggests removing it.
    await search().locator("[data-testid=quick-filter][data-filter='has:file']").click();
    expect(await input().inputValue()).toBe("deploy has:file ");
    expect(await settled()).toBe("No results");
    const empty = search().getByTestId("search-empty");
    expect(await empty.textContent()).toContain("No messages match “deploy”");
    expect(await empty.textContent()).toContain("Try removing a filter");
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "search-no-results.png") });
    await search().getByRole("button", { name: "Remove filter has:file" }).click();
    expect(await settled()).toBe("2 results");
    // Or all of them at once.
    await typeQuery(`deploy is:mention from:@${bob.username}`);
    expect(await settled()).toBe("No results");
    await search().getByTestId("search-remove-filters").click();
    expect(await input().inputValue()).toBe("deploy");
    expect(await settled()).toBe("2 results");

    // Without a filter, it says so and does not suggest removing one.
    await typeQuery("xylophonequartz");
    expect(await settled()).toBe("No results");
    expect(await empty.textContent()).toContain("No messages match “xylophonequartz”");
    expect(await empty.textContent()).not.toContain("filter");

    // A misspelt word: the server searched a close word instead, and the panel says which.
    await typeQuery("deploymnet");
    expect(await settled()).toBe("2 results");
    expect(await search().getByTestId("search-correction").textContent()).toBe("Showing results for deployment");

    // A filter the parser refuses is said before anything is sent.
    await typeQuery("deploy before:yesterday");
    await search().getByTestId("search-error").waitFor();
    expect(await search().getByTestId("search-error").textContent()).toContain("YYYY-MM-DD");
    await ada.page.keyboard.press("Escape");
  });

  it("loads more results by cursor, and sorts by date on request", async () => {
    await ada.page.keyboard.press("Control+k");
    await typeQuery("filler");
    // More match than the server counts: it says so.
    expect(await settled()).toBe(`${DEFAULT_SEARCH_PAGE_SIZE} of ${COUNT_CAP}+ results`);
    expect(await hits().count()).toBe(DEFAULT_SEARCH_PAGE_SIZE);
    await search().getByTestId("search-more").click();
    await eventually("the next page is shown", async () => (await hits().count()) === 2 * DEFAULT_SEARCH_PAGE_SIZE);
    expect(await search().getByTestId("search-status").textContent()).toBe(`${2 * DEFAULT_SEARCH_PAGE_SIZE} of ${COUNT_CAP}+ results`);
    // Still one group: the new page joined it.
    expect(await search().getByTestId("search-group").count()).toBe(1);

    const sorted = ada.page.waitForRequest((r) => r.url().includes("/api/v1/search") && new URL(r.url()).searchParams.get("sort") === "date");
    await search().getByTestId("sort-date").click();
    await sorted;
    await settled();
    expect(await search().getByTestId("sort-date").getAttribute("aria-pressed")).toBe("true");
    expect(await hits().first().getByTestId("search-hit-snippet").textContent()).toContain(`filler note ${FILLERS}`);
    await search().getByTestId("sort-relevance").click();
    await ada.page.keyboard.press("Escape");
  });

  it("searches the open conversation from its header, shown as a chip", async () => {
    await ada.openRoom(randomName);
    await ada.byTestId("search-in-room").click();
    await search().waitFor();
    const chip = search().locator(`[data-testid=filter-chip][data-filter="in:#${randomName}"]`);
    await chip.waitFor();
    await typeQuery("deploy");
    expect(await settled()).toBe("1 result");
    expect(await search().getByTestId("search-group-title").allTextContents()).toEqual([`#${randomName}`]);
    await search().getByRole("button", { name: `Remove filter in:#${randomName}` }).click();
    await eventually("every conversation is searched again", async () => (await search().getByTestId("search-status").textContent()) === "2 results");
    await search().getByRole("button", { name: "Close search" }).click();
    await search().waitFor({ state: "hidden" });
    expect(await ada.byTestId("search-in-room").evaluate((el) => el === document.activeElement)).toBe(true);
  });

  it("names a direct conversation's group by the other person", async () => {
    await bob.startDirect(ada.username);
    await bob.send("the pelican report is due on monday");
    await ada.page.keyboard.press("Control+k");
    await typeQuery("pelican");
    expect(await settled()).toBe("1 result");
    expect(await search().getByTestId("search-group-title").allTextContents()).toEqual([bob.username]);
    await input().press("ArrowDown");
    await input().press("Enter");
    await ada.waitForOpenRoom(bob.username);
    await ada.waitForMessage("the pelican report is due on monday");
  });

  describe("on a phone (375 px, touch)", () => {
    let context: BrowserContext;
    let phone: Page;

    beforeAll(async () => {
      context = await people.browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, baseURL: people.server.baseUrl });
      phone = await context.newPage();
      await phone.goto(people.server.baseUrl);
      await phone.getByTestId("login-username").fill(ada.username);
      await phone.getByTestId("login-password").fill(PASSWORD);
      await phone.getByTestId("login-submit").tap();
      await phone.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 15_000 });
    });

    afterAll(async () => {
      await context?.close();
    });

    it("searches in a full-screen view with a way back, and opens a result in its conversation", async () => {
      await phone.getByTestId("search-open").tap();
      const dialog = phone.getByTestId("search-dialog");
      await dialog.waitFor();
      expect(await dialog.boundingBox()).toEqual({ x: 0, y: 0, width: PHONE.width, height: PHONE.height });
      const back = dialog.getByTestId("search-back");
      const box = (await back.boundingBox())!;
      expect(box.width).toBeGreaterThanOrEqual(44);
      expect(box.height).toBeGreaterThanOrEqual(44);
      expect(await dialog.getByTestId("search-close").isVisible()).toBe(false);

      await dialog.getByTestId("search-input").fill("deploy");
      await eventually("results on the phone", async () => (await dialog.getByTestId("search-status").textContent()) === "2 results");
      expect((await dialog.getByTestId("search-clear").boundingBox())!.height).toBeGreaterThanOrEqual(44);
      for (const hit of await dialog.getByTestId("search-hit").all()) expect((await hit.boundingBox())!.height).toBeGreaterThanOrEqual(44);
      const scrollWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
      expect(scrollWidth).toBeLessThanOrEqual(PHONE.width);
      const violations = await axeViolations(phone, { impacts: ["serious", "critical"] });
      expect(violations, JSON.stringify(violations, null, 2)).toEqual([]);
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      await phone.screenshot({ path: path.join(RESULTS_DIR, "search-phone.png") });

      // Back closes it, to the list.
      await back.tap();
      await dialog.waitFor({ state: "hidden" });

      // A tap on a result opens its conversation (the pane switches), the message in view.
      await phone.getByTestId("search-open").tap();
      await dialog.locator(`[data-testid=search-group][data-room-id="${opsId}"] [data-testid=search-hit]`).tap();
      await dialog.waitFor({ state: "hidden" });
      await phone.locator("[data-testid=room-view] [data-testid=room-title]", { hasText: opsName }).waitFor();
      const found = phone.locator("[data-testid=room-view] [data-testid=message]", { hasText: "We should deploy the release on friday" });
      await found.waitFor();
      expect(await found.isVisible()).toBe(true);
      expect(await phone.getByTestId("sidebar").isVisible()).toBe(false);
    });
  });
});
