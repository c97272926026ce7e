/**
 * Voice notes in real Chromium (issue 17, item 4). The microphone is
 * Chromium's own fake device (`--use-fake-device-for-media-stream`: a
 * generated tone with beeps), and `--use-fake-ui-for-media-stream` grants
 * the permission as a person clicking "Allow" would; a second browser with
 * `--deny-permission-prompts` is a person who clicks "Block".
 *
 * Ada records: the clock runs, Cancel (and Escape) discard the recording
 * with nothing uploaded or sent; she records again and sends. Bob sees the
 * voice note with its waveform and duration, plays it (the audio element's
 * time advances, fetched with Range requests: 206) and seeks by a click on
 * the waveform and by the keyboard. axe finds nothing serious, and a phone
 * (375 px, touch) gets 44 px controls and a screenshot. Playwright's clock
 * makes five minutes pass at once for the length limit.
 */
import fs from "node:fs";
import path from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttachmentSchema, type Attachment } from "@shared/protocol/index.js";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually, signUpByTouch, unique } from "./chat-page.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");
const FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"];
const PHONE = { width: 375, height: 740 };
const TOUCH_PX = 44;
/** VoiceRecorder's MAX_RECORDING_MS: a recording stops by itself there. */
const RECORDING_LIMIT_MS = 5 * 60 * 1000;

/** The recorder's clock, in ms as the component counts it (data-elapsed-ms) and as shown (mm:ss). */
async function clockOf(page: Page): Promise<{ ms: number; text: string }> {
  const clock = page.getByTestId("voice-clock");
  return { ms: Number(await clock.getAttribute("data-elapsed-ms")), text: await clock.innerText() };
}

/** Records until the clock shows at least `seconds` (the clock is what the person watches, not a timer in the test). */
async function recordFor(page: Page, seconds: number): Promise<void> {
  await page.getByRole("button", { name: "Record voice note" }).click();
  await page.locator('[data-testid="voice-recorder"][data-phase="recording"]').waitFor();
  await eventually(`the clock reaches ${seconds} s`, async () => (await clockOf(page)).ms >= seconds * 1000, 15_000);
}

/** Upload rows of a user, straight from the node's database: what was stored, whatever the UI says. */
async function uploadsOf(server: TestServer, username: string): Promise<{ state: string; voice: number }[]> {
  const db = server.server.store.db;
  const user = await db.selectFrom("users").select("id").where("username", "=", username).executeTakeFirstOrThrow();
  return db.selectFrom("uploads").select(["state", "voice"]).where("owner_id", "=", user.id).execute();
}

function hasFocus(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el === document.activeElement);
}

/** The audio element's state in the page. */
function audioState(player: Locator): Promise<{ currentTime: number; paused: boolean; src: string }> {
  return player.getByTestId("voice-note-audio").evaluate((el) => {
    const audio = el as HTMLAudioElement;
    return { currentTime: audio.currentTime, paused: audio.paused, src: audio.currentSrc };
  });
}

describe("voice notes", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;
  let bob: ChatPage;
  const roomName = `voice-${unique()}`;
  /** The voice note Ada sent, as the server stores it. */
  let note: Attachment;
  /** Statuses of Bob's requests for files: a media element reads with Range, answered 206. */
  const fileStatuses: number[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser({ extraArgs: FAKE_MICROPHONE });
    ada = await ChatPage.open(browser, server.baseUrl);
    bob = await ChatPage.open(browser, server.baseUrl);
    await ada.signUp("ada");
    await bob.signUp("bob");
    await ada.createRoom(roomName);
    await bob.joinPublicRoom(roomName);
    bob.page.on("response", (response) => {
      if (new URL(response.url()).pathname.startsWith("/api/v1/files/")) fileStatuses.push(response.status());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("shows the running clock while recording; Cancel and Escape discard it, with nothing uploaded or sent", async () => {
    const page = ada.page;
    await page.getByRole("button", { name: "Record voice note" }).click();
    const recorder = page.getByTestId("voice-recorder");
    await page.locator('[data-testid="voice-recorder"][data-phase="recording"]').waitFor();
    // Recording: the text box steps aside for the recorder, whose Send button has the focus.
    expect(await ada.composer().isVisible()).toBe(false);
    await eventually("Send voice note has the focus", () => hasFocus(page.getByRole("button", { name: "Send voice note" })));
    // The clock moves (mm:ss), and the start was announced once, politely.
    await eventually("the clock moves on", async () => (await clockOf(page)).ms >= 2000, 15_000);
    // mm:ss, past the start (however late this read comes, it is not "00:00" any more).
    expect((await clockOf(page)).text).toMatch(/^\d\d:\d\d$/);
    expect((await clockOf(page)).text).not.toBe("00:00");
    expect(await page.getByTestId("voice-clock").getAttribute("role")).toBe("timer");
    expect(await page.getByTestId("announcement").allInnerTexts()).toContain("Recording a voice note. Escape cancels.");
    // The live level is drawn from the fake microphone's tone.
    expect(await page.getByTestId("voice-level").locator(".voice-recorder__bar").count()).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Cancel recording" }).click();
    await recorder.waitFor({ state: "detached" });
    expect(await ada.composer().isVisible()).toBe(true);
    await eventually("the microphone has the focus back", () => hasFocus(page.getByRole("button", { name: "Record voice note" })));

    // Escape cancels too.
    await recordFor(page, 1);
    await page.keyboard.press("Escape");
    await recorder.waitFor({ state: "detached" });

    // Discarded: no upload stored for Ada, no message in the room.
    expect(await uploadsOf(server, ada.username)).toEqual([]);
    expect(await page.locator('[data-testid="room-view"] [data-testid="message"]').count()).toBe(0);
  });

  it("sends a recording: Bob sees the voice note with its waveform and duration", async () => {
    const page = ada.page;
    // Six seconds: the playing test below waits for progress and then pauses, which a slow machine must not
    // find already ended.
    await recordFor(page, 6);
    await page.getByRole("button", { name: "Send voice note" }).click();
    await page.getByTestId("voice-recorder").waitFor({ state: "detached" });

    // What the server stored: a voice note, attached, with the recorded duration and waveform.
    await eventually("the upload is attached", async () => (await uploadsOf(server, ada.username)).some((u) => u.state === "attached"));
    const roomId = await bob.openRoomId();
    const history = await bob.apiGet<{ messages: { attachments?: unknown[] }[] }>(`/rooms/${roomId}/messages`);
    const stored = history.messages.flatMap((m) => m.attachments ?? []).map((a) => AttachmentSchema.parse(a));
    expect(stored).toHaveLength(1);
    note = stored[0]!;
    expect(note).toMatchObject({ voice: true, kind: "audio" });
    // The container as sniffed (file-type names an audio-only WebM video/webm; the voice field makes it audio).
    expect(note.mime).toMatch(/^(audio|video)\/(webm|ogg)$/);
    expect(note.durationMs).toBeGreaterThanOrEqual(6000);
    expect(note.durationMs).toBeLessThan(60_000);
    expect(note.waveform).toHaveLength(64);
    // The fake microphone's beeps: a waveform with loud and quiet parts, not a flat line.
    expect(Math.max(...note.waveform!)).toBe(255);
    expect(Math.min(...note.waveform!)).toBeLessThan(200);

    // Bob's timeline: the player, its bars and its duration.
    const player = bob.page.locator(`[data-testid="voice-note"][data-attachment-id="${note.id}"]`);
    await player.waitFor();
    const seconds = Math.floor(note.durationMs! / 1000);
    const slider = player.getByRole("slider", { name: "Voice note position" });
    expect(await slider.getAttribute("aria-valuetext")).toBe(`0:00 of 0:${String(seconds).padStart(2, "0")}`);
    expect(await slider.getAttribute("aria-valuemax")).toBe(String(Math.round(note.durationMs! / 1000)));
    expect(await player.getByTestId("voice-note-time").innerText()).toBe(`0:00 / 0:${String(seconds).padStart(2, "0")}`);
    const heights = await player.locator("rect").evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("height"))));
    expect(heights.length).toBeGreaterThanOrEqual(32);
    expect(new Set(heights).size).toBeGreaterThan(1);
    // Ada sees her own note too.
    await ada.page.locator(`[data-testid="voice-note"][data-attachment-id="${note.id}"]`).waitFor();

    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    await bob.page.screenshot({ path: path.join(RESULTS_DIR, "voice-note.png") });
  });

  it("plays the voice note and seeks by a click on the waveform and by the keyboard", async () => {
    const player = bob.page.locator(`[data-testid="voice-note"][data-attachment-id="${note.id}"]`);
    const slider = player.getByRole("slider", { name: "Voice note position" });
    const durationS = note.durationMs! / 1000;

    await player.getByRole("button", { name: "Play voice note" }).click();
    await eventually("the audio plays on", async () => (await audioState(player)).currentTime > 0.3);
    expect((await audioState(player)).paused).toBe(false);
    await player.getByRole("button", { name: "Pause voice note" }).click();
    await eventually("the audio pauses", async () => (await audioState(player)).paused);
    await player.getByRole("button", { name: "Play voice note" }).waitFor();
    // The file came with Range requests, answered 206 (so a seek can fetch from there).
    expect(fileStatuses).toContain(206);

    // A click three quarters of the way along the waveform jumps there.
    const box = (await slider.boundingBox())!;
    await slider.click({ position: { x: box.width * 0.75, y: box.height / 2 } });
    const target = durationS * 0.75;
    await eventually("the click seeks", async () => Math.abs((await audioState(player)).currentTime - target) < 0.6);
    const playedBars = player.locator(".voice-note__bar--played");
    await eventually("the bars before the click are filled", async () => (await playedBars.count()) > 0);
    expect(await playedBars.count()).toBeLessThan(await player.locator("rect").count());

    // The keyboard: Home to the start, an arrow 1 s on, End to the end.
    await slider.focus();
    await bob.page.keyboard.press("Home");
    await eventually("Home seeks to the start", async () => (await audioState(player)).currentTime < 0.05);
    await eventually("the slider says 0:00", async () => /^0:00 of /.test((await slider.getAttribute("aria-valuetext")) ?? ""));
    await bob.page.keyboard.press("ArrowRight");
    await eventually("the arrow steps 1 s", async () => Math.abs((await audioState(player)).currentTime - 1) < 0.05);
    await eventually("the slider says 0:01", async () => /^0:01 of /.test((await slider.getAttribute("aria-valuetext")) ?? ""));
    expect(await slider.getAttribute("aria-valuenow")).toBe("1");

    // Playing from a seeked position goes on from there.
    await player.getByRole("button", { name: "Play voice note" }).click();
    await eventually("it plays from 1 s", async () => (await audioState(player)).currentTime > 1.2);
    await player.getByRole("button", { name: "Pause voice note" }).click();
    expect([...ada.pageErrors, ...bob.pageErrors]).toEqual([]);
  });

  it("has no serious accessibility violations while recording or beside a voice note", async () => {
    await expectNoSeriousA11yViolations(bob.page);
    await ada.page.getByRole("button", { name: "Record voice note" }).click();
    await ada.page.locator('[data-testid="voice-recorder"][data-phase="recording"]').waitFor();
    await expectNoSeriousA11yViolations(ada.page);
    await ada.page.screenshot({ path: path.join(RESULTS_DIR, "voice-recording.png") });
    await ada.page.getByRole("button", { name: "Cancel recording" }).click();
  });

  it("stops by itself at the 5-minute limit and waits for Send or Cancel", async () => {
    const eve = await ChatPage.open(browser, server.baseUrl);
    try {
      // The page's clock (timers, performance.now) is Playwright's, so five minutes pass in one step.
      await eve.context.clock.install();
      await eve.signUp("eve");
      await eve.joinPublicRoom(roomName);
      await recordFor(eve.page, 1);
      await eve.context.clock.fastForward(RECORDING_LIMIT_MS);
      await eve.page.locator('[data-testid="voice-recorder"][data-phase="stopped"]').waitFor();
      expect((await clockOf(eve.page)).text).toBe("05:00");
      expect(await eve.page.getByTestId("voice-recorder").innerText()).toContain("5:00 limit reached");
      await eventually("Send voice note has the focus", () => hasFocus(eve.page.getByRole("button", { name: "Send voice note" })));
      const said = "Recording stopped at the 5:00 limit. Send it or cancel.";
      await eventually("the stop is announced", async () => (await eve.page.getByTestId("announcement").allInnerTexts()).includes(said));
      await eve.page.getByRole("button", { name: "Cancel recording" }).click();
      await eve.page.getByRole("button", { name: "Record voice note" }).waitFor();
      expect(await uploadsOf(server, eve.username)).toEqual([]);
    } finally {
      await eve.close();
    }
  });

  it("says in words that the microphone was refused", async () => {
    const blocking = await launchBrowser({ extraArgs: ["--use-fake-device-for-media-stream", "--deny-permission-prompts"] });
    try {
      const cy = await ChatPage.open(blocking, server.baseUrl);
      await cy.signUp("cy");
      await cy.joinPublicRoom(roomName);
      await cy.page.getByRole("button", { name: "Record voice note" }).click();
      const problem = cy.page.getByTestId("voice-problem");
      await problem.waitFor();
      expect(await problem.innerText()).toMatch(/Microphone access was refused/);
      expect(await problem.getAttribute("role")).toBe("alert");
      await cy.page.getByRole("button", { name: "Dismiss" }).click();
      await cy.page.getByRole("button", { name: "Record voice note" }).waitFor();
      expect(await uploadsOf(server, cy.username)).toEqual([]);
    } finally {
      await blocking.close();
    }
  });

  it("fits a phone (375 px, touch): 44 px controls, the recorder and the player within the screen", async () => {
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, baseURL: server.baseUrl });
    try {
      const phone = await context.newPage();
      await phone.goto(server.baseUrl);
      await signUpByTouch(phone, "dee");
      await phone.getByTestId("browse-rooms").tap();
      const dialog = phone.getByTestId("browse-dialog");
      await dialog.getByTestId("browse-filter").fill(roomName);
      await dialog.locator(`[data-testid="public-room"][data-room-name="${roomName}"]`).getByTestId("join-room").tap();
      await phone.locator('[data-testid="room-view"] [data-testid="room-title"]', { hasText: roomName }).waitFor();

      const player = phone.getByTestId("voice-note").first();
      await player.waitFor();
      const withinScreen = async (locator: Locator, what: string) => {
        const box = (await locator.boundingBox())!;
        expect(box.x, `${what} left`).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width, `${what} right`).toBeLessThanOrEqual(PHONE.width);
      };
      const touchTarget = async (locator: Locator, what: string) => {
        const box = (await locator.boundingBox())!;
        expect(box.width, `${what} width`).toBeGreaterThanOrEqual(TOUCH_PX);
        expect(box.height, `${what} height`).toBeGreaterThanOrEqual(TOUCH_PX);
      };
      await withinScreen(player, "the voice note");
      await touchTarget(player.getByRole("button", { name: "Play voice note" }), "play");
      await touchTarget(player.getByRole("slider"), "waveform");

      // A tap on the waveform seeks; it does not open the message's action sheet.
      await player.getByRole("slider").tap();
      expect(await phone.getByRole("dialog", { name: "Message actions" }).count()).toBe(0);

      const mic = phone.getByRole("button", { name: "Record voice note" });
      await touchTarget(mic, "microphone");
      await mic.tap();
      await phone.locator('[data-testid="voice-recorder"][data-phase="recording"]').waitFor();
      await eventually("the clock moves on the phone", async () => (await clockOf(phone)).ms >= 1000, 15_000);
      for (const name of ["Cancel recording", "Send voice note"]) await touchTarget(phone.getByRole("button", { name }), name);
      await withinScreen(phone.getByTestId("voice-recorder"), "the recorder");
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-voice-recording.png") });
      await expectNoSeriousA11yViolations(phone);
      await phone.getByRole("button", { name: "Cancel recording" }).tap();
      await phone.screenshot({ path: path.join(RESULTS_DIR, "phone-voice-note.png") });
    } finally {
      await context.close();
    }
  });
});
