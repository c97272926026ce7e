/** Direct messages: find a person, write to them, and they see it appear without reloading. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatPage, eventually, twoPeople, type TwoPeople } from "./chat-page.js";

describe("direct messages in the browser", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;

  beforeAll(async () => {
    people = await twoPeople();
    ({ ada, bob } = people);
  });

  afterAll(async () => {
    await people?.close();
  });

  it("starts a conversation from the people search; the other side gets it live with an unread badge", async () => {
    await ada.startDirect(bob.username);
    expect(await ada.byTestId("direct-list").getByTestId("room-item").count()).toBe(1);
    await ada.send("Psst, Bob. Just between us.");
    await ada.waitForMessage("Psst, Bob. Just between us.");

    // Bob had no such conversation: it appears in his direct messages by itself.
    const item = bob.roomItem(ada.username);
    await item.waitFor({ timeout: 10_000 });
    expect(await bob.byTestId("direct-list").getByTestId("room-item").count()).toBe(1);
    expect(await bob.byTestId("room-list").getByTestId("room-item").count()).toBe(0);
    await eventually("Bob sees 1 unread", async () => (await item.getByTestId("unread-badge").count()) === 1);
    expect(await item.getByTestId("room-preview").innerText()).toContain("Just between us");

    await bob.openRoom(ada.username);
    await bob.waitForMessage("Psst, Bob. Just between us.");
    await bob.send("Got it, Ada.");
    await ada.waitForMessage("Got it, Ada.");

    // Opening the conversation again from the search reuses the same room.
    await bob.startDirect(ada.username);
    expect(await bob.byTestId("direct-list").getByTestId("room-item").count()).toBe(1);
    expect(await bob.messageBodies()).toEqual(["Psst, Bob. Just between us.", "Got it, Ada."]);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });
});
