/**
 * A page object for the Parley web client: what a person does (sign up,
 * create a room, send a message) as methods, so the tests read as stories
 * and the selectors (data-testid) live in one place.
 */
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { launchBrowser } from "./browser.js";

// The integration tests' password and unique suffix: one definition for both suites.
import { PASSWORD, unique } from "../test/support/client.js";
export { PASSWORD, unique };

/**
 * Signs up on a touch page (a phone context) by taps, as a person on a phone
 * does, and waits until the socket is connected. @returns the username
 */
export async function signUpByTouch(page: Page, name: string): Promise<string> {
  const username = `${name}_${unique()}`;
  await page.getByTestId("show-signup").tap();
  await page.getByTestId("signup-email").fill(`${username}@example.test`);
  await page.getByTestId("signup-username").fill(username);
  await page.getByTestId("signup-password").fill(PASSWORD);
  await page.getByTestId("signup-password-confirm").fill(PASSWORD);
  await page.getByTestId("signup-submit").tap();
  await page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: 15_000 });
  return username;
}

/** Polls `check` until it returns true or `timeoutMs` passes; the error says what was awaited. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ChatPageOptions {
  /** Exposes window.__parley (socket drop, state) to the test. */
  testHooks?: boolean;
}

export class ChatPage {
  /** Console errors and uncaught exceptions seen on the page (a test can assert none). */
  readonly pageErrors: string[] = [];
  username = "";

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly baseUrl: string,
  ) {
    page.on("pageerror", (error) => this.pageErrors.push(String(error)));
  }

  /** A fresh browser context (its own cookies) with the app loaded. */
  static async open(browser: Browser, baseUrl: string, options: ChatPageOptions = {}): Promise<ChatPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: baseUrl });
    if (options.testHooks) {
      await context.addInitScript(() => {
        (window as unknown as { __PARLEY_TEST_HOOKS__: boolean }).__PARLEY_TEST_HOOKS__ = true;
      });
    }
    const page = await context.newPage();
    const chat = new ChatPage(context, page, baseUrl);
    await page.goto(baseUrl);
    return chat;
  }

  byTestId(id: string): Locator {
    return this.page.getByTestId(id);
  }

  // ---- account ----

  async signUp(name: string): Promise<string> {
    const username = `${name}_${unique()}`;
    await this.byTestId("show-signup").click();
    await this.byTestId("signup-email").fill(`${username}@example.test`);
    await this.byTestId("signup-username").fill(username);
    await this.byTestId("signup-password").fill(PASSWORD);
    await this.byTestId("signup-password-confirm").fill(PASSWORD);
    await this.byTestId("signup-submit").click();
    await this.waitUntilConnected();
    this.username = username;
    return username;
  }

  async logIn(usernameOrEmail: string, password = PASSWORD): Promise<void> {
    await this.byTestId("login-username").fill(usernameOrEmail);
    await this.byTestId("login-password").fill(password);
    await this.byTestId("login-submit").click();
  }

  async waitUntilConnected(timeoutMs = 15_000): Promise<void> {
    await this.page.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout: timeoutMs });
  }

  async connectionState(): Promise<string | null> {
    return this.byTestId("connection-status").getAttribute("data-state");
  }

  // ---- rooms ----

  /** Creates a room through the dialog; the new room opens. */
  async createRoom(name: string, options: { kind?: "public" | "private"; topic?: string } = {}): Promise<void> {
    await this.byTestId("create-room").click();
    await this.byTestId("room-name-input").fill(name);
    if (options.topic) await this.byTestId("room-topic-input").fill(options.topic);
    if (options.kind === "private") await this.byTestId("room-kind-private").check();
    await this.byTestId("create-room-submit").click();
    await this.waitForOpenRoom(name);
  }

  /** Finds a public room in the browse dialog and joins it; the room opens. */
  async joinPublicRoom(name: string): Promise<void> {
    await this.byTestId("browse-rooms").click();
    const dialog = this.byTestId("browse-dialog");
    await dialog.getByTestId("browse-filter").fill(name);
    await dialog.locator(`[data-testid="public-room"][data-room-name="${name}"]`).getByTestId("join-room").click();
    await this.waitForOpenRoom(name);
  }

  /** The sidebar entry of a room (by its shown name). */
  roomItem(name: string): Locator {
    return this.page.locator(`[data-testid="room-item"][data-room-name="${name}"]`);
  }

  async openRoom(name: string): Promise<void> {
    await this.roomItem(name).click();
    await this.waitForOpenRoom(name);
  }

  async waitForOpenRoom(name: string): Promise<void> {
    await this.page.locator(`[data-testid="room-view"] [data-testid="room-title"]`, { hasText: name }).waitFor();
  }

  /** Starts (or reopens) a direct conversation with `username` through the people search. */
  async startDirect(username: string, displayName = username): Promise<void> {
    await this.byTestId("new-direct").click();
    const dialog = this.byTestId("direct-dialog");
    await dialog.getByTestId("user-search").fill(username);
    await dialog.locator(`[data-testid="user-result"][data-username="${username}"]`).getByTestId("user-pick").click();
    await this.waitForOpenRoom(displayName);
  }

  // ---- messages ----

  composer(): Locator {
    return this.byTestId("composer-input");
  }

  /** Types into the composer and presses Enter. */
  async send(text: string): Promise<void> {
    await this.composer().fill(text);
    await this.composer().press("Enter");
  }

  /** Messages in the open room whose body is exactly `text`. */
  messagesWithBody(text: string): Locator {
    return this.page
      .locator('[data-testid="room-view"] [data-testid="message"]')
      .filter({ has: this.page.getByTestId("message-body").getByText(text, { exact: true }) });
  }

  async waitForMessage(text: string, timeoutMs = 10_000): Promise<Locator> {
    const message = this.messagesWithBody(text);
    await message.first().waitFor({ timeout: timeoutMs });
    return message;
  }

  /** Bodies of the messages in the open room, in display order. */
  async messageBodies(): Promise<string[]> {
    return this.page.locator('[data-testid="room-view"] [data-testid="message-body"]').allInnerTexts();
  }

  /** Calls the API from inside the page (same cookie session, same origin). */
  async apiGet<T>(path: string): Promise<T> {
    return this.page.evaluate(async (url) => {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`${url}: ${response.status}`);
      return (await response.json()) as T;
    }, `/api/v1${path}`);
  }

  /** The open room's id (from the URL). */
  async openRoomId(): Promise<string> {
    const id = await this.byTestId("room-view").getAttribute("data-room-id");
    if (!id) throw new Error("no room is open");
    return id;
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** A server, a browser, and two people signed up in their own contexts: the usual start of a story. */
export interface TwoPeople {
  server: TestServer;
  browser: Browser;
  ada: ChatPage;
  bob: ChatPage;
  close(): Promise<void>;
}

/** With `room`, Ada also creates that public room and Bob joins it; `server` sets the node's settings. */
export async function twoPeople(options: { room?: string; server?: Parameters<typeof startTestServer>[0] } = {}): Promise<TwoPeople> {
  const server = await startTestServer(options.server);
  const browser = await launchBrowser();
  const ada = await ChatPage.open(browser, server.baseUrl);
  const bob = await ChatPage.open(browser, server.baseUrl);
  await ada.signUp("ada");
  await bob.signUp("bob");
  if (options.room !== undefined) {
    await ada.createRoom(options.room);
    await bob.joinPublicRoom(options.room);
  }
  return {
    server,
    browser,
    ada,
    bob,
    async close() {
      await browser.close();
      await server.destroy();
    },
  };
}
