/**
 * Editing and deleting in the browser, with two people: Ada edits through
 * the Edit action and through the up arrow, Bob sees the new text and
 * "(edited)" live and opens the history; Ada deletes with a confirmation and
 * Bob sees the tombstone live. The room with the history dialog open passes
 * the accessibility check.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChatPage, eventually, twoPeople, type TwoPeople, unique } from "./chat-page.js";
import { expectNoSeriousA11yViolations } from "./axe.js";

describe("editing and deleting messages in the browser", () => {
  let people: TwoPeople;
  let ada: ChatPage;
  let bob: ChatPage;
  const roomName = `edits-${unique()}`.slice(0, 40);

  beforeAll(async () => {
    people = await twoPeople({ room: roomName });
    ({ ada, bob } = people);
  });

  afterAll(async () => {
    await people?.close();
  });

  it("Ada edits with the Edit action and the up arrow; Bob sees the text and (edited) live, and opens the history", async () => {
    await ada.send("Meet at the libary at noon");
    await bob.waitForMessage("Meet at the libary at noon");

    // The Edit action on her own message (shown on hover).
    const first = await ada.waitForMessage("Meet at the libary at noon");
    await first.hover();
    await first.getByRole("button", { name: "Edit message" }).click();
    const editor = ada.byTestId("message-editor-input");
    await editor.fill("Meet at the library at noon");
    const results = path.resolve(import.meta.dirname, "../test-results");
    fs.mkdirSync(results, { recursive: true });
    await ada.page.screenshot({ path: path.join(results, "edit-in-place.png") });
    await editor.press("Enter");
    await ada.waitForMessage("Meet at the library at noon");
    const bobsFirst = await bob.waitForMessage("Meet at the library at noon");
    await bobsFirst.getByTestId("message-edited").waitFor();
    expect(await bob.messagesWithBody("Meet at the libary at noon").count()).toBe(0);

    // Bob may neither edit nor delete Ada's message: no such actions on it.
    await bobsFirst.hover();
    expect(await bobsFirst.getByTestId("message-edit").count()).toBe(0);
    expect(await bobsFirst.getByTestId("message-delete").count()).toBe(0);

    // The up arrow in the empty composer edits her last message; Escape cancels, Enter saves.
    await ada.send("Bring the slides");
    await bob.waitForMessage("Bring the slides");
    await ada.composer().press("ArrowUp");
    await editor.fill("Something else entirely");
    await editor.press("Escape");
    expect(await ada.byTestId("message-editor").count()).toBe(0);
    await ada.waitForMessage("Bring the slides");
    await ada.composer().press("ArrowUp");
    await editor.fill("Bring the slides and the projector");
    await editor.press("Enter");
    const bobsSecond = await bob.waitForMessage("Bring the slides and the projector");
    await bobsSecond.getByTestId("message-edited").waitFor();
    // Focus is back in the composer after the edit.
    await eventually("the composer has the focus", () => ada.composer().evaluate((el) => el === document.activeElement));

    // Bob opens the history of the first message: the current text, then the earlier one.
    await bobsFirst.getByRole("button", { name: /view edit history/ }).click();
    const dialog = bob.byTestId("edit-history-dialog");
    await dialog.waitFor();
    await eventually("the versions are listed", async () => (await dialog.getByTestId("edit-history-version").count()) === 2);
    expect(await dialog.getByTestId("edit-history-body").allInnerTexts()).toEqual(["Meet at the library at noon", "Meet at the libary at noon"]);
    await expectNoSeriousA11yViolations(bob.page);
    await bob.page.screenshot({ path: path.join(results, "edit-history.png") });
    await dialog.getByTestId("edit-history-close").click();
    await eventually("the dialog closed", async () => (await bob.byTestId("edit-history-dialog").count()) === 0);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("Ada deletes after confirming; Bob sees the tombstone live, and the owner may delete Bob's message", async () => {
    await ada.send("Oops, wrong room");
    // The seq from Bob's copy: it only exists once stored, while Ada's own copy may still be waiting for its ack.
    const seq = await (await bob.waitForMessage("Oops, wrong room")).getAttribute("data-seq");
    expect(seq).toMatch(/^\d+$/);
    const doomed = await ada.waitForMessage("Oops, wrong room");
    await eventually("Ada's copy is acked", async () => (await doomed.getAttribute("data-status")) === "sent");
    await doomed.hover();
    await doomed.getByRole("button", { name: "Delete message" }).click();
    const confirm = ada.byTestId("delete-message-dialog");
    await confirm.waitFor();
    // Cancel first: nothing happens.
    await confirm.getByTestId("delete-message-cancel").click();
    await eventually("the dialog closed", async () => (await ada.byTestId("delete-message-dialog").count()) === 0);
    expect(await bob.messagesWithBody("Oops, wrong room").count()).toBe(1);

    await doomed.hover();
    await doomed.getByRole("button", { name: "Delete message" }).click();
    await ada.byTestId("delete-message-confirm").click();
    const bobsTombstone = bob.page.locator(`[data-testid="room-view"] [data-testid="message"][data-seq="${seq}"]`);
    await eventually("Bob sees the tombstone", async () => (await bobsTombstone.getAttribute("data-deleted")) === "true");
    expect(await bobsTombstone.getByTestId("message-tombstone").innerText()).toBe("message deleted");
    expect(await bob.messagesWithBody("Oops, wrong room").count()).toBe(0);
    expect(await ada.messagesWithBody("Oops, wrong room").count()).toBe(0);

    // Ada owns the room: she may delete Bob's message too.
    await bob.send("Bob's off-topic remark");
    const remark = await ada.waitForMessage("Bob's off-topic remark");
    await remark.hover();
    await remark.getByRole("button", { name: "Delete message" }).click();
    await ada.byTestId("delete-message-confirm").click();
    await eventually("Bob sees his message deleted", async () => (await bob.messagesWithBody("Bob's off-topic remark").count()) === 0);
    const results = path.resolve(import.meta.dirname, "../test-results");
    fs.mkdirSync(results, { recursive: true });
    await bob.page.screenshot({ path: path.join(results, "deleted-message.png") });
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });
});
