/**
 * The composer and text safety: user text is shown as text (never HTML),
 * newlines are kept, and empty or over-long drafts are refused with a
 * visible reason before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_CHARS } from "@shared/protocol/index.js";
import { type ChatPage, unique, twoPeople, type TwoPeople } from "./chat-page.js";

describe("composer and text safety", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  let roomName: string;

  beforeAll(async () => {
    people = await twoPeople();
    ({ ada, bob } = people);
    roomName = `text-${unique()}`;
    await ada.createRoom(roomName);
    await bob.joinPublicRoom(roomName);
  });

  afterAll(async () => {
    await people?.close();
  });

  it("shows HTML and script in a message as literal text on both sides", async () => {
    const dialogs: string[] = [];
    for (const person of [ada, bob]) person.page.on("dialog", (d) => void d.dismiss().then(() => dialogs.push(d.message())));
    const evil = "<b>hi</b><script>alert(1)</script><img src=x onerror=alert(2)>";

    await ada.send(evil);
    for (const person of [ada, bob]) {
      const message = await person.waitForMessage(evil);
      const body = message.getByTestId("message-body");
      expect(await body.innerText()).toBe(evil);
      // Nothing was parsed into elements.
      expect(await body.locator("b, script, img").count()).toBe(0);
      expect(await body.evaluate((el) => el.childElementCount)).toBe(0);
      // The sidebar preview is text too.
      expect(await person.roomItem(roomName).getByTestId("room-preview").innerText()).toContain("<b>hi</b>");
    }
    await bob.page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
  });

  it("sends on Enter and keeps Shift+Enter newlines", async () => {
    const input = ada.composer();
    await input.click();
    await input.pressSequentially("line one");
    await input.press("Shift+Enter");
    await input.pressSequentially("  line two, indented");
    expect(await input.inputValue()).toBe("line one\n  line two, indented");
    await input.press("Enter");
    const message = await bob.waitForMessage("line one\n  line two, indented");
    expect(await message.getByTestId("message-body").evaluate((el) => getComputedStyle(el).whiteSpace)).toBe("pre-wrap");
    expect(await input.inputValue()).toBe("");
  });

  it("refuses an empty message with a visible reason and sends nothing", async () => {
    const before = (await ada.messageBodies()).length;
    await ada.composer().fill("   \n  ");
    await ada.composer().press("Enter");
    const reason = ada.byTestId("composer-error");
    expect(await reason.innerText()).toBe("Message is empty.");
    expect(await reason.isVisible()).toBe(true);
    await ada.byTestId("composer-send").click();
    expect(await reason.innerText()).toBe("Message is empty.");
    await ada.page.waitForTimeout(300);
    expect((await ada.messageBodies()).length).toBe(before);
    // Typing clears the reason.
    await ada.composer().pressSequentially("x");
    expect(await reason.innerText()).toBe("");
    await ada.composer().fill("");
  });

  it("counts characters near the limit and refuses an over-long message with the reason", async () => {
    const counter = ada.byTestId("composer-counter");
    expect(await counter.count()).toBe(0);

    await ada.composer().fill("a".repeat(MAX_BODY_CHARS - 10));
    expect(await counter.innerText()).toBe(`${(MAX_BODY_CHARS - 10).toLocaleString("en-US")} / ${MAX_BODY_CHARS.toLocaleString("en-US")}`);
    expect(await ada.byTestId("composer-error").innerText()).toBe("");

    const before = (await ada.messageBodies()).length;
    await ada.composer().fill("a".repeat(MAX_BODY_CHARS + 5));
    const reason = ada.byTestId("composer-error");
    expect(await reason.innerText()).toContain("too long");
    expect(await reason.innerText()).toContain("5 over");
    await ada.composer().press("Enter");
    await ada.page.waitForTimeout(300);
    expect((await ada.messageBodies()).length).toBe(before);
    // The draft is kept so it can be shortened, not lost.
    expect((await ada.composer().inputValue()).length).toBe(MAX_BODY_CHARS + 5);

    // Exactly the limit goes through.
    await ada.composer().fill("b".repeat(MAX_BODY_CHARS));
    await ada.composer().press("Enter");
    await bob.waitForMessage("b".repeat(MAX_BODY_CHARS));
    expect(ada.pageErrors).toEqual([]);
  });
});
