/** Accounts in the browser: sign up with field errors, session kept across reloads, sign out, sign in. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, PASSWORD, unique } from "./chat-page.js";

describe("sign up, sign in, sign out", () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  it("shows field errors next to the fields, from the browser's check and from the server", async () => {
    const taken = await ChatPage.open(browser, server.baseUrl);
    const username = await taken.signUp("carol");
    await taken.close();

    const chat = await ChatPage.open(browser, server.baseUrl);
    // The sign-in screen meets WCAG 2.1 AA as far as axe can tell.
    await chat.byTestId("login-username").waitFor();
    await expectNoSeriousA11yViolations(chat.page);
    await chat.byTestId("show-signup").click();
    await chat.byTestId("signup-email").fill("not-an-email");
    await chat.byTestId("signup-username").fill("x");
    await chat.byTestId("signup-password").fill("short");
    await chat.byTestId("signup-password-confirm").fill("different");
    await chat.byTestId("signup-submit").click();
    expect(await chat.byTestId("error-email").innerText()).toBe("Email is not a valid address.");
    expect(await chat.byTestId("error-username").innerText()).toContain("3 to 32 characters");
    expect(await chat.byTestId("error-password").innerText()).toContain("at least 8");
    expect(await chat.byTestId("error-passwordConfirm").innerText()).toBe("Passwords do not match.");
    // So does the sign-up form with its field errors shown.
    await expectNoSeriousA11yViolations(chat.page);

    // Valid in the browser, refused by the server: the username is taken.
    await chat.byTestId("signup-email").fill(`other-${unique()}@example.test`);
    await chat.byTestId("signup-username").fill(username);
    await chat.byTestId("signup-password").fill(PASSWORD);
    await chat.byTestId("signup-password-confirm").fill(PASSWORD);
    await chat.byTestId("signup-submit").click();
    await chat.byTestId("error-username").waitFor();
    expect(await chat.byTestId("error-email").count()).toBe(0);
    expect(await chat.byTestId("sidebar").count()).toBe(0);
    await chat.close();
  });

  it("keeps the session across a reload, signs out, and signs back in with the email", async () => {
    const chat = await ChatPage.open(browser, server.baseUrl);
    const username = await chat.signUp("dave");
    expect(await chat.byTestId("current-user").innerText()).toBe(username);

    await chat.page.reload();
    await chat.waitUntilConnected();
    expect(await chat.byTestId("current-user").innerText()).toBe(username);

    await chat.byTestId("logout").click();
    await chat.byTestId("login-form").waitFor();
    await chat.page.reload();
    await chat.byTestId("login-form").waitFor();
    expect(await chat.byTestId("sidebar").count()).toBe(0);

    await chat.logIn(username, "wrong password!");
    await chat.byTestId("form-error").waitFor();
    expect(await chat.byTestId("sidebar").count()).toBe(0);

    await chat.logIn(`${username}@example.test`);
    await chat.waitUntilConnected();
    expect(await chat.byTestId("current-user").innerText()).toBe(username);
    expect(chat.pageErrors).toEqual([]);
    await chat.close();
  });

  it("loads the sign-in page without an error in the console (no 401 from the session check)", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      const failed: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("response", (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      await page.goto(server.baseUrl);
      await page.getByTestId("login-form").waitFor();
      await page.reload();
      await page.getByTestId("login-form").waitFor();
      expect(errors).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("signs up with a display name, shown as the user's name (the @username beside it)", async () => {
    const chat = await ChatPage.open(browser, server.baseUrl);
    const username = `fay_${unique()}`;
    await chat.byTestId("show-signup").click();
    await chat.byTestId("signup-email").fill(`${username}@example.test`);
    await chat.byTestId("signup-username").fill(username);
    await chat.page.getByLabel("Display name (optional)").fill("Fay Wray");
    await chat.byTestId("signup-password").fill(PASSWORD);
    await chat.byTestId("signup-password-confirm").fill(PASSWORD);
    await expectNoSeriousA11yViolations(chat.page);
    await chat.byTestId("signup-submit").click();
    await chat.waitUntilConnected();
    expect(await chat.byTestId("current-user").innerText()).toBe("Fay Wray");
    const me = await chat.apiGet<{ user: { displayName: string; username: string } }>("/me");
    expect(me.user).toMatchObject({ displayName: "Fay Wray", username });
    // A display name the shared rules refuse is refused next to its field, before any request.
    await chat.close();
    const again = await ChatPage.open(browser, server.baseUrl);
    await again.byTestId("show-signup").click();
    await again.byTestId("signup-display-name").fill("Evil\u202Ename");
    await again.byTestId("signup-submit").click();
    await again.byTestId("error-displayName").waitFor();
    await again.close();
  });

  it("goes back to sign-in when the session ends in another tab", async () => {
    const chat = await ChatPage.open(browser, server.baseUrl);
    await chat.signUp("erin");
    const otherTab = await chat.context.newPage();
    await otherTab.goto(server.baseUrl);
    await otherTab.getByTestId("logout").click();
    await otherTab.getByTestId("login-form").waitFor();

    // The first tab learns it from the server (socket closed 4401, or a 401).
    await chat.byTestId("login-form").waitFor({ timeout: 15_000 });
    await chat.byTestId("auth-notice").waitFor();
    await chat.close();
  });
});
