/**
 * Two people in two browsers: one creates a public room, the other finds
 * and joins it, and each sees the other's messages live.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { type ChatPage, eventually, unique, twoPeople, type TwoPeople } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");

describe("public rooms in the browser", () => {
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

  it("one creates a public room, the other joins it, and both talk live", async () => {
    const roomName = `general-${unique()}`;
    await ada.createRoom(roomName, { topic: "Everything and anything" });
    expect(await ada.byTestId("room-topic").innerText()).toBe("Everything and anything");
    expect((await ada.byTestId("member-count").innerText()).trim()).toBe("1");

    await bob.joinPublicRoom(roomName);
    expect(await bob.roomItem(roomName).count()).toBe(1);
    // Ada's header follows the join live.
    await eventually("Ada sees two members", async () => (await ada.byTestId("member-count").innerText()).trim() === "2");

    await ada.send("Hello from Ada");
    const atBob = await bob.waitForMessage("Hello from Ada");
    expect(await atBob.getAttribute("data-mine")).toBe("false");
    expect(await atBob.getByTestId("message-author").innerText()).toBe(ada.username);
    const atAda = await ada.waitForMessage("Hello from Ada");
    expect(await atAda.getAttribute("data-mine")).toBe("true");
    expect(await atAda.getAttribute("data-status")).toBe("sent");

    await bob.send("Hi Ada! Bob here.");
    await ada.waitForMessage("Hi Ada! Bob here.");
    await ada.send("Welcome, Bob.\nGlad you made it.");
    await bob.waitForMessage("Welcome, Bob.\nGlad you made it.");

    // Each message once, in order, on both sides.
    const expected = ["Hello from Ada", "Hi Ada! Bob here.", "Welcome, Bob.\nGlad you made it."];
    await eventually("both show the same conversation", async () => {
      const [a, b] = await Promise.all([ada.messageBodies(), bob.messageBodies()]);
      return JSON.stringify(a) === JSON.stringify(expected) && JSON.stringify(b) === JSON.stringify(expected);
    });

    // A timestamp in local time with the full date in its title.
    const time = atAda.getByTestId("message-time");
    expect(await time.getAttribute("title")).toMatch(/\d{4}/);

    // The sidebar preview follows the conversation.
    await eventually("Bob's preview shows Ada's last message", async () =>
      (await bob.roomItem(roomName).getByTestId("room-preview").innerText()).includes("Glad you made it"),
    );

    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "room-view.png") });
    // The room view (sidebar, header, messages of both people, composer) meets WCAG 2.1 AA as far as axe can tell.
    await expectNoSeriousA11yViolations(bob.page);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("counts unread messages in rooms that are not open, orders rooms by activity, and clears on open", async () => {
    const quiet = `quiet-${unique()}`;
    const busy = `busy-${unique()}`;
    await ada.createRoom(busy);
    await bob.joinPublicRoom(busy);
    await ada.createRoom(quiet);
    await bob.joinPublicRoom(quiet);
    // Bob looks at the quiet room while Ada talks in the busy one.
    await ada.openRoom(busy);
    await ada.send("first while you look away");
    await ada.send("second while you look away");

    const badge = bob.roomItem(busy).getByTestId("unread-badge");
    await eventually("Bob's busy room shows 2 unread", async () => (await badge.count()) === 1 && (await badge.innerText()) === "2");
    // The busy room moved to the top of Bob's list.
    await eventually("busy room is first", async () =>
      (await bob.byTestId("room-list").getByTestId("room-item").first().getAttribute("data-room-name")) === busy,
    );

    await bob.openRoom(busy);
    await bob.waitForMessage("second while you look away");
    await eventually("the badge is gone", async () => (await badge.count()) === 0);
    // The read position reached the server: a reload shows no unread either.
    await bob.page.reload();
    await bob.waitUntilConnected();
    await bob.roomItem(busy).waitFor();
    expect(await bob.roomItem(busy).getByTestId("unread-badge").count()).toBe(0);
  });

  it("an owner adds someone to a private room, who sees it appear and can leave it", async () => {
    const secret = `secret-${unique()}`;
    await ada.createRoom(secret, { kind: "private", topic: "Invite only" });
    await ada.send("only for invited eyes");

    await ada.byTestId("add-member").click();
    const dialog = ada.byTestId("members-dialog");
    await dialog.getByTestId("user-search").fill(bob.username);
    await dialog.locator(`[data-testid="user-result"][data-username="${bob.username}"]`).getByTestId("user-pick").click();
    await dialog.getByTestId("member-added").waitFor();
    await ada.page.keyboard.press("Escape");
    // Closing gives focus back to the control that opened the dialog (WAI-ARIA dialog pattern).
    await dialog.waitFor({ state: "detached" });
    await eventually("focus is back on the add-member button", () =>
      ada.byTestId("add-member").evaluate((el) => el === document.activeElement),
    );

    // Bob was not in the room: it appears in his sidebar by itself.
    await bob.roomItem(secret).waitFor({ timeout: 10_000 });
    await bob.openRoom(secret);
    await bob.waitForMessage("only for invited eyes");
    // Not a public room: nobody else can find it.
    const publicRooms = await bob.apiGet<{ rooms: { name: string }[] }>("/rooms/public");
    expect(publicRooms.rooms.map((r) => r.name)).not.toContain(secret);

    await bob.byTestId("leave-room").click();
    await bob.byTestId("leave-confirm").click();
    await bob.byTestId("welcome").waitFor();
    expect(await bob.roomItem(secret).count()).toBe(0);
    await eventually("Ada sees one member again", async () => (await ada.byTestId("member-count").innerText()).trim() === "1");
  });
});
