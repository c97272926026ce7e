/**
 * Attachments in the web client (issue 17 items 3 and 7), in real Chromium
 * against a real server: files attached by the "Attach files" button, by
 * paste and by drop, chips with progress, Send that waits for the uploads,
 * a message of files only; the other person sees the image in a box of its
 * size before it loads, opens it in the lightbox and closes it with Escape
 * (the focus comes back), and downloads a document from its card; a file
 * over the server's limit says so; the phone layout at 375 px by touch. The
 * server is started with a small upload limit (64 KiB) so "too large" is
 * quick to reach.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually, unique } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");
const UPLOAD_MAX_BYTES = 64 * 1024;
const PHONE = { width: 375, height: 740 };
const TOUCH_PX = 44;

/** A PNG of `width` × `height` px: two colour bands, so a wrong crop or rotation would show in the screenshots. */
async function png(width: number, height: number, colour: string): Promise<Buffer> {
  const band = await sharp({ create: { width, height: Math.max(1, Math.round(height / 3)), channels: 3, background: "#ffffff" } }).png().toBuffer();
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .composite([{ input: band, top: 0, left: 0 }])
    .png()
    .toBuffer();
}

/** A tiny but real PDF (file-type sniffs `%PDF-`). */
const PDF = Buffer.from(
  "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
);

async function boxOf(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`no box: ${String(locator)}`);
  return box;
}

/** The message of the open room that has files, the newest one first. */
function messagesWithFiles(page: Page): Locator {
  return page.locator('[data-testid="room-view"] [data-testid="message"]').filter({ has: page.getByTestId("message-attachments") });
}

/** Hands files to the page's composer as a paste (clipboard) or a drop (drag over the conversation) would. */
async function dispatchFiles(page: Page, how: "paste" | "drop", files: { name: string; type: string; base64: string }[]): Promise<void> {
  await page.evaluate(
    ({ how, files }) => {
      const transfer = new DataTransfer();
      for (const f of files) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: f.type }));
      }
      if (how === "paste") {
        const input = document.querySelector('[data-testid="composer-input"]')!;
        input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
        return;
      }
      const list = document.querySelector('[data-testid="message-list"]')!;
      list.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
      list.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { how, files },
  );
  if (how === "drop") {
    // The drop zone shows while the files are over the conversation (React has rendered it by now).
    await page.getByTestId("drop-zone").waitFor();
    expect(await page.getByTestId("drop-zone").innerText()).toBe("Drop files to attach them");
    await page.evaluate(
      ({ files }) => {
        const transfer = new DataTransfer();
        for (const f of files) transfer.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
        document.querySelector('[data-testid="message-list"]')!.dispatchEvent(
          new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }),
        );
      },
      { files },
    );
    await eventually("the drop zone is gone", async () => (await page.getByTestId("drop-zone").count()) === 0);
  }
}

/** A chip of the composer by its file name. */
function chip(page: Page, name: string): Locator {
  return page.locator(`[data-testid="attachment-chip"][data-name="${name}"]`);
}

/** The status of a file path on the server as this page's session sees it. */
function statusOf(page: Page, url: string): Promise<number> {
  // no-store: files are cached for a year (their bytes never change), and this asks the server, not the cache.
  return page.evaluate(async (u) => (await fetch(u, { credentials: "same-origin", cache: "no-store" })).status, url);
}

describe("attachments in the web client", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;
  let bob: ChatPage;
  let roomName: string;

  beforeAll(async () => {
    server = await startTestServer({ uploadMaxBytes: UPLOAD_MAX_BYTES });
    browser = await launchBrowser();
    ada = await ChatPage.open(browser, server.baseUrl);
    bob = await ChatPage.open(browser, server.baseUrl);
    await ada.signUp("ada");
    await bob.signUp("bob");
    roomName = `files-${unique()}`;
    await ada.createRoom(roomName);
    await bob.joinPublicRoom(roomName);
    // No fades: axe then measures colours as they settle, not halfway through a hover bar's transition.
    for (const person of [ada, bob]) await person.page.emulateMedia({ reducedMotion: "reduce" });
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("attaches by the button with progress, waits for the upload to send, and Bob sees the image at its size before it loads", async () => {
    // Bob's copies of the image are held back until the test lets them go, to measure the box before the image.
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    await bob.page.route("**/api/v1/files/**", async (route) => {
      await released;
      await route.continue().catch(() => undefined); // the page may have given up on it meanwhile
    });
    // Ada's upload answer is held too, so the chip is seen uploading and Send seen waiting.
    let answer: () => void = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    await ada.page.route("**/api/v1/uploads", async (route) => {
      await answered;
      await route.continue().catch(() => undefined);
    });

    const landscape = await png(800, 400, "#3b82f6");
    await ada.byTestId("composer-file-input").setInputFiles({ name: "landscape.png", mimeType: "image/png", buffer: landscape });
    const landscapeChip = chip(ada.page, "landscape.png");
    await landscapeChip.waitFor();
    expect(await landscapeChip.getAttribute("data-status")).toBe("uploading");
    expect(await landscapeChip.getByRole("progressbar", { name: "Uploading landscape.png" }).isVisible()).toBe(true);
    expect(await landscapeChip.getByTestId("attachment-chip-detail").innerText()).toMatch(/^\d+(\.\d)? KB · \d+%$/);
    expect(await landscapeChip.getByRole("button", { name: "Cancel upload of landscape.png" }).isVisible()).toBe(true);

    // Send waits: Enter says why and sends nothing.
    await ada.composer().fill("look at this");
    await ada.composer().press("Enter");
    expect(await ada.byTestId("composer-error").innerText()).toBe("Wait until the files have uploaded.");
    expect(await ada.byTestId("composer-send").getAttribute("aria-disabled")).toBe("true");
    expect(await ada.messagesWithBody("look at this").count()).toBe(0);

    await ada.page.unroute("**/api/v1/uploads");
    answer();
    await eventually("the upload is done", async () => (await landscapeChip.getAttribute("data-status")) === "done");
    expect(await landscapeChip.getByRole("button", { name: "Remove landscape.png" }).isVisible()).toBe(true);
    expect(await ada.byTestId("composer-send").getAttribute("aria-disabled")).toBeNull();
    await ada.composer().press("Enter");
    expect(await ada.byTestId("attachment-chips").count()).toBe(0);

    // Bob: the message, its image in a 320 × 160 box (800 × 400 scaled to fit 320) while nothing has loaded.
    const message = await bob.waitForMessage("look at this");
    const image = message.getByTestId("attachment-image");
    await image.waitFor();
    expect(await image.getAttribute("aria-label")).toBe("Open image landscape.png");
    expect(await image.locator("img").evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(0);
    const before = await boxOf(image);
    expect(before.width).toBe(320);
    expect(before.height).toBe(160);

    release();
    await eventually("the thumbnail has loaded", async () =>
      image.locator("img").evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0),
    );
    // The thumbnail, not the full file, and the box kept its size (the list may have scrolled meanwhile).
    expect(await image.locator("img").getAttribute("src")).toMatch(/\/thumbnail$/);
    const after = await boxOf(image);
    expect({ width: after.width, height: after.height }).toEqual({ width: before.width, height: before.height });
    await bob.page.unroute("**/api/v1/files/**");
    await bob.page.screenshot({ path: path.join(RESULTS_DIR, "attachments-image-1280.png") });

    // The lightbox: the full image, its name, a download link; Escape closes it and the focus comes back.
    await image.click();
    const lightbox = bob.byTestId("lightbox");
    await lightbox.waitFor();
    expect(await lightbox.getAttribute("aria-label")).toBe("landscape.png");
    expect(await lightbox.getByRole("heading").innerText()).toBe("landscape.png");
    const full = bob.byTestId("lightbox-image");
    expect(await full.getAttribute("src")).toMatch(/^\/api\/v1\/files\/[0-9a-f]+$/);
    await eventually("the full image has loaded", async () => full.evaluate((el) => (el as HTMLImageElement).naturalWidth === 800));
    expect(await lightbox.getByRole("link", { name: "Download landscape.png" }).getAttribute("href")).toMatch(/\?download=1$/);
    expect(await bob.page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("lightbox-close");
    await expectNoSeriousA11yViolations(bob.page);
    await bob.page.screenshot({ path: path.join(RESULTS_DIR, "attachments-lightbox-1280.png") });
    await bob.page.keyboard.press("Escape");
    await eventually("the lightbox closed", async () => (await bob.byTestId("lightbox").count()) === 0);
    expect(await image.evaluate((el) => el === document.activeElement)).toBe(true);

    // The Close button closes it too.
    await image.press("Enter");
    await bob.byTestId("lightbox-close").click();
    await eventually("the lightbox closed again", async () => (await bob.byTestId("lightbox").count()) === 0);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("attaches by paste and by drop, sends files without text, and Bob downloads the document from its card", async () => {
    const square = await png(300, 300, "#16a34a");
    await ada.composer().click();
    await dispatchFiles(ada.page, "paste", [{ name: "image.png", type: "image/png", base64: square.toString("base64") }]);
    await chip(ada.page, "image.png").waitFor();
    await dispatchFiles(ada.page, "drop", [{ name: "report.pdf", type: "application/pdf", base64: PDF.toString("base64") }]);
    await chip(ada.page, "report.pdf").waitFor();
    await eventually("both uploads are done", async () =>
      (await ada.page.locator('[data-testid="attachment-chip"][data-status="done"]').count()) === 2,
    );
    expect(await ada.composer().inputValue()).toBe("");
    const before = await messagesWithFiles(bob.page).count();
    await ada.byTestId("composer-send").click();

    await eventually("Bob sees the message with two files", async () => (await messagesWithFiles(bob.page).count()) === before + 1);
    const message = messagesWithFiles(bob.page).last();
    expect(await message.getByTestId("message-body").count()).toBe(0);
    // Without text, the files are what the conversation list and the screen reader say.
    await eventually("the preview names the files", async () => (await bob.roomItem(roomName).getByTestId("room-preview").innerText()).endsWith(": 2 files"));
    expect(await bob.page.getByTestId("announcement").last().innerText()).toMatch(/: 2 files$/);
    expect(await message.getByTestId("attachment-image").count()).toBe(1);
    const card = message.getByTestId("attachment-file");
    expect(await card.getByTestId("attachment-file-name").innerText()).toBe("report.pdf");
    expect(await card.getByTestId("attachment-file-detail").innerText()).toBe(`${PDF.length} B · PDF document`);
    const download = card.getByRole("link", { name: "Download report.pdf" });
    const [file] = await Promise.all([bob.page.waitForEvent("download"), download.click()]);
    expect(file.suggestedFilename()).toBe("report.pdf");
    const saved = await file.path();
    expect(fs.readFileSync(saved).equals(PDF)).toBe(true);

    // A reply to a message of files only quotes its files in words, in the composer and on the reply.
    await message.hover();
    await message.getByRole("button", { name: "Reply", exact: true }).click();
    expect(await bob.byTestId("composer-reply").innerText()).toContain("2 files");
    await bob.send("Got both, thanks");
    const reply = await bob.waitForMessage("Got both, thanks");
    await eventually("the reply quotes the files", async () => (await reply.getByTestId("reply-quote-text").count()) === 1);
    expect(await reply.getByTestId("reply-quote-text").innerText()).toBe("2 files");

    await bob.page.mouse.move(1, 1); // no hover bar
    await expectNoSeriousA11yViolations(bob.page);
    expect(ada.pageErrors).toEqual([]);
    expect(bob.pageErrors).toEqual([]);
  });

  it("says a file is too large, blocks the send until it is removed, takes ten files at most, and deletes a removed upload", async () => {
    const big = Buffer.alloc(UPLOAD_MAX_BYTES + 10_000, 7);
    await ada.byTestId("composer-file-input").setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: big });
    const bigChip = chip(ada.page, "big.bin");
    await eventually("the upload failed", async () => (await bigChip.getAttribute("data-status")) === "failed");
    expect(await bigChip.getByTestId("attachment-chip-error").innerText()).toMatch(/^Too large to upload\./);
    expect(await bigChip.getByRole("button", { name: "Retry upload of big.bin" }).isVisible()).toBe(true);
    await ada.composer().fill("with a big file");
    await ada.composer().press("Enter");
    expect(await ada.byTestId("composer-error").innerText()).toBe("A file did not upload: retry it or remove it.");
    expect(await ada.messagesWithBody("with a big file").count()).toBe(0);
    await bigChip.getByRole("button", { name: "Remove big.bin" }).click();
    expect(await bigChip.count()).toBe(0);

    // Eleven files: ten are taken, and the composer says so.
    const eleven = Array.from({ length: 11 }, (_, i) => ({ name: `note-${i}.txt`, mimeType: "text/plain", buffer: Buffer.from(`note ${i}\n`) }));
    await ada.byTestId("composer-file-input").setInputFiles(eleven);
    expect(await ada.byTestId("attachment-notice").innerText()).toBe("A message takes up to 10 files: 1 was left out.");
    expect(await ada.byTestId("attachment-chip").count()).toBe(10);
    await eventually("ten uploads are done", async () =>
      (await ada.page.locator('[data-testid="attachment-chip"][data-status="done"]').count()) === 10,
    );

    // Removing a finished upload deletes it on the server: its file is gone.
    const first = chip(ada.page, "note-0.txt");
    const id = await first.getAttribute("data-upload-id");
    expect(id).toMatch(/^[0-9a-f]+$/);
    expect(await statusOf(ada.page, `/api/v1/files/${id}`)).toBe(200);
    await first.getByRole("button", { name: "Remove note-0.txt" }).click();
    await eventually("the removed upload is deleted", async () => (await statusOf(ada.page, `/api/v1/files/${id}`)) === 404);

    // The other nine go with the text.
    await ada.composer().press("Enter");
    const message = await bob.waitForMessage("with a big file");
    expect(await message.getByTestId("attachment-file").count()).toBe(9);
    expect(ada.pageErrors).toEqual([]);
  });

  it("an upload answered 401 (the session ended meanwhile) signs the person out, as any other call does", async () => {
    const eve = await ChatPage.open(browser, server.baseUrl);
    try {
      const username = await eve.signUp("eve");
      await eve.createRoom(`eve-${unique()}`);
      // Her session ends on the server (a logout elsewhere, an expiry) while the page is open.
      const db = server.server.store.db;
      const user = await db.selectFrom("users").select("id").where("username", "=", username).executeTakeFirstOrThrow();
      await db.deleteFrom("sessions").where("user_id", "=", user.id).execute();
      await eve.byTestId("composer-file-input").setInputFiles({ name: "late.txt", mimeType: "text/plain", buffer: Buffer.from("too late") });
      await eve.byTestId("login-username").waitFor();
    } finally {
      await eve.close();
    }
  });

  it("takes a message's files away with it when it is deleted", async () => {
    const withFiles = messagesWithFiles(bob.page);
    const count = await withFiles.count();
    const doomed = ada.messagesWithBody("with a big file");
    await eventually("Ada's copy is acked", async () => (await doomed.getAttribute("data-status")) === "sent");
    const fileUrl = await doomed.getByTestId("attachment-download").first().getAttribute("href");
    await doomed.hover();
    await doomed.getByRole("button", { name: "Delete message" }).click();
    await ada.byTestId("delete-message-confirm").click();
    await eventually("Bob's copy lost its files", async () => (await withFiles.count()) === count - 1);
    expect(await statusOf(bob.page, fileUrl!.replace(/\?download=1$/, ""))).toBe(404);
  });

  describe("on a phone", () => {
    let phoneContext: BrowserContext;
    let phone: Page;

    beforeAll(async () => {
      phoneContext = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, baseURL: server.baseUrl });
      phone = await phoneContext.newPage();
      await phone.emulateMedia({ reducedMotion: "reduce" });
      // Bob's session, on his phone: the same cookie as his desktop window.
      await phoneContext.addCookies(await bob.context.cookies());
      await phone.goto(`${server.baseUrl}/#/rooms/${await bob.openRoomId()}`);
      await phone.locator('[data-testid="room-view"] [data-testid="room-title"]', { hasText: roomName }).waitFor();
    });

    afterAll(async () => {
      await phoneContext?.close();
    });

    it("fits the screen, with 44 px targets, and opens an image by a tap", async () => {
      // A tall image and a document arrive from Ada.
      await ada.byTestId("composer-file-input").setInputFiles([
        { name: "portrait.png", mimeType: "image/png", buffer: await png(300, 600, "#f97316") },
        { name: "minutes-of-the-very-long-meeting-about-names.pdf", mimeType: "application/pdf", buffer: PDF },
      ]);
      await eventually("both uploads are done", async () =>
        (await ada.page.locator('[data-testid="attachment-chip"][data-status="done"]').count()) === 2,
      );
      await ada.send("from the phone's point of view");
      const message = phone
        .locator('[data-testid="room-view"] [data-testid="message"]')
        .filter({ has: phone.getByTestId("message-body").getByText("from the phone's point of view", { exact: true }) });
      await message.waitFor();
      const image = message.getByTestId("attachment-image");
      await eventually("the thumbnail has loaded", async () => image.locator("img").evaluate((el) => (el as HTMLImageElement).naturalWidth > 0));

      // Nothing is wider than the screen; the image keeps its proportions (1:2) in the narrower column.
      expect(await phone.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth))).toBeLessThanOrEqual(PHONE.width);
      const box = await boxOf(image);
      expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
      expect(Math.abs(box.height - box.width * 2)).toBeLessThanOrEqual(1);
      const card = await boxOf(message.getByTestId("attachment-file"));
      expect(card.x).toBeGreaterThanOrEqual(0);
      expect(card.x + card.width).toBeLessThanOrEqual(PHONE.width);
      for (const target of [message.getByTestId("attachment-download"), phone.getByTestId("composer-attach")]) {
        const b = await boxOf(target);
        expect(b.width).toBeGreaterThanOrEqual(TOUCH_PX);
        expect(b.height).toBeGreaterThanOrEqual(TOUCH_PX);
      }

      // A chip on the phone: full width, a 44 px remove button.
      await phone.getByTestId("composer-file-input").setInputFiles({ name: "draft.txt", mimeType: "text/plain", buffer: Buffer.from("draft\n") });
      const draftChip = chip(phone, "draft.txt");
      await eventually("the draft upload is done", async () => (await draftChip.getAttribute("data-status")) === "done");
      const remove = await boxOf(draftChip.getByRole("button", { name: "Remove draft.txt" }));
      expect(remove.width).toBeGreaterThanOrEqual(TOUCH_PX);
      expect(remove.height).toBeGreaterThanOrEqual(TOUCH_PX);
      expect((await boxOf(draftChip)).x + (await boxOf(draftChip)).width).toBeLessThanOrEqual(PHONE.width);
      await expectNoSeriousA11yViolations(phone);
      await phone.screenshot({ path: path.join(RESULTS_DIR, "attachments-375.png") });

      // A tap on the image opens the lightbox, not the message's action sheet; a tap on Close closes it.
      await image.tap();
      await phone.getByTestId("lightbox").waitFor();
      expect(await phone.getByTestId("message-sheet").count()).toBe(0);
      const full = await boxOf(phone.getByTestId("lightbox-image"));
      expect(full.x).toBeGreaterThanOrEqual(0);
      expect(full.x + full.width).toBeLessThanOrEqual(PHONE.width);
      expect(full.y + full.height).toBeLessThanOrEqual(PHONE.height);
      const close = await boxOf(phone.getByTestId("lightbox-close"));
      expect(close.height).toBeGreaterThanOrEqual(TOUCH_PX);
      await phone.screenshot({ path: path.join(RESULTS_DIR, "attachments-lightbox-375.png") });
      await phone.getByTestId("lightbox-close").tap();
      await eventually("the lightbox closed", async () => (await phone.getByTestId("lightbox").count()) === 0);
      await draftChip.getByRole("button", { name: "Remove draft.txt" }).tap();
    });
  });
});
