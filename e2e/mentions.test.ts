/**
 * Mentions in the browser, with two people: Ada types "@bo" in the
 * composer, picks Bob from the autocomplete with the keyboard and sends;
 * Bob, in another room, gets a mention badge on the room in his list, opens
 * it, sees the message marked as mentioning him, and the badge goes. The
 * room with the autocomplete open passes the accessibility check.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatPage, eventually, twoPeople, type TwoPeople, unique } from "./chat-page.js";
import { expectNoSeriousA11yViolations } from "./axe.js";

describe("mentions in the browser", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  const roomName = `mentions-${unique()}`.slice(0, 40);
  const elsewhere = `elsewhere-${unique()}`.slice(0, 40);
  const results = path.resolve(import.meta.dirname, "../test-results");

  beforeAll(async () => {
    fs.mkdirSync(results, { recursive: true });
    people = await twoPeople();
    ({ ada, bob } = people);
    await ada.createRoom(roomName);
    await bob.joinPublicRoom(roomName);
    // Bob looks at another room, so the mention arrives where he is not reading.
    await bob.createRoom(elsewhere);
  });

  afterAll(async () => {
    await people?.close();
  });

  it("Ada picks Bob from the autocomplete with the keyboard; Bob sees a mention badge, then the highlighted message", async () => {
    const composer = ada.composer();
    await composer.fill("");
    await composer.pressSequentially("lunch @bo");
    const listbox = ada.byTestId("mention-listbox");
    const bobOption = ada.page.locator(`[data-testid="mention-option"][data-insert="@${bob.username}"]`);
    await bobOption.waitFor();
    expect(await composer.getAttribute("role")).toBe("combobox");
    expect(await composer.getAttribute("aria-expanded")).toBe("true");
    expect(await composer.getAttribute("aria-controls")).toBe(await listbox.getAttribute("id"));
    // Only members matching "bo": Ada herself is never offered, and @room/@here do not match.
    expect(await ada.byTestId("mention-option").count()).toBe(1);
    expect(await composer.getAttribute("aria-activedescendant")).toBe(await bobOption.getAttribute("id"));
    expect(await bobOption.getAttribute("aria-selected")).toBe("true");

    await expectNoSeriousA11yViolations(ada.page);
    await ada.page.screenshot({ path: path.join(results, "mention-autocomplete.png") });

    // Escape closes the list; typing on ("@bob") reopens it; Enter inserts the username.
    await composer.press("Escape");
    expect(await composer.getAttribute("aria-expanded")).toBe("false");
    expect(await listbox.isHidden()).toBe(true);
    await composer.pressSequentially("b");
    await bobOption.waitFor();
    await composer.press("ArrowDown");
    await composer.press("Enter");
    expect(await composer.inputValue()).toBe(`lunch @${bob.username} `);
    expect(await composer.getAttribute("aria-expanded")).toBe("false");
    await composer.pressSequentially("at noon?");
    await composer.press("Enter");
    const text = `lunch @${bob.username} at noon?`;
    await ada.waitForMessage(text);

    // Bob, in the other room: a mention badge "@1" on the room, said in words too.
    const item = bob.roomItem(roomName);
    const badge = item.getByTestId("mention-badge");
    await badge.waitFor();
    expect(await badge.innerText()).toBe("@1");
    expect(await badge.getAttribute("aria-label")).toBe("1 mention");
    expect(await bob.roomItem(elsewhere).getByTestId("mention-badge").count()).toBe(0);
    await bob.page.screenshot({ path: path.join(results, "mention-badge.png") });

    await bob.openRoom(roomName);
    const message = await bob.waitForMessage(text);
    expect(await message.getAttribute("data-mentions-me")).toBe("true");
    expect(await message.getByTestId("message-mention-tag").innerText()).toMatch(/mentions you/i);
    expect(await message.getByTestId("message-mention").innerText()).toBe(`@${bob.username}`);
    await eventually("the badge is gone once Bob reads the room", async () => (await item.getByTestId("mention-badge").count()) === 0);
    await bob.page.screenshot({ path: path.join(results, "mention-highlight.png") });
    await expectNoSeriousA11yViolations(bob.page);

    // Ada's own copy mentions Bob, not her: no highlight for her.
    expect(await (await ada.waitForMessage(text)).getAttribute("data-mentions-me")).toBeNull();
    // And the server agrees: Bob's count is 0 once his read reaches it (the badge may clear first).
    await eventually("the server's mention count is 0", async () => {
      const rooms = await bob.apiGet<{ rooms: { name: string; mentionCount?: number }[] }>("/rooms");
      return rooms.rooms.find((r) => r.name === roomName)?.mentionCount === 0;
    });
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });
});
