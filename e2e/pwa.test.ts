/**
 * The installable app (issue 19, item 5) in real Chromium, against the
 * built client (dist/web):
 *
 * - the manifest is linked, parses, says what an install needs (name,
 *   start_url, display, colours) and its icons load at their stated sizes,
 *   a maskable one among them;
 * - the service worker registers, controls the page and precaches the shell;
 * - without network (`context.setOffline`) a reload still starts the app
 *   from the precache, which says it is offline, and signs back in by
 *   itself when the network returns; with the server stopped, it says it
 *   cannot reach the server;
 * - the unread total goes to the app icon (navigator.setAppBadge, wrapped
 *   in an init script to read what it was called with) and is cleared when
 *   read; the title count stays.
 *
 * The push path with every tab closed is e2e/pwa-push.test.ts.
 * Screenshots: pwa-offline-desktop.png, pwa-offline-phone.png, pwa-offline-phone-dark.png.
 */
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { expectNoSeriousA11yViolations } from "./axe.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually } from "./chat-page.js";
import { controllingWorker } from "./service-worker.js";

const RESULTS_DIR = path.resolve(import.meta.dirname, "../test-results");

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

interface ManifestIcon {
  src: string;
  sizes: string;
  type: string;
  purpose?: string;
}

describe("installable app", () => {
  it("links a valid manifest whose icons (a maskable one too) load at their stated sizes", async () => {
    const ada = await ChatPage.open(browser, server.baseUrl);
    try {
      const { href, manifest, contentType } = await ada.page.evaluate(async () => {
        const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
        if (!link) return { href: null, manifest: null, contentType: null };
        const response = await fetch(link.href);
        return { href: link.href, manifest: (await response.json()) as unknown, contentType: response.headers.get("content-type") };
      });
      expect(href).toBe(`${server.baseUrl}/manifest.webmanifest`);
      expect(contentType).toMatch(/^application\/manifest\+json/);
      expect(manifest).toMatchObject({
        name: "Parley",
        short_name: "Parley",
        start_url: "/",
        scope: "/",
        display: "standalone",
        theme_color: "#171b26",
        background_color: "#ffffff",
      });
      const icons = (manifest as { icons: ManifestIcon[] }).icons;
      expect(icons.map((i) => `${i.sizes} ${i.purpose ?? "any"}`).sort()).toEqual(["192x192 any", "512x512 any", "512x512 maskable"]);
      // Each icon and the iOS one: served as PNG, and their pixels are the size the manifest says.
      const appleTouch = await ada.page.getAttribute('link[rel="apple-touch-icon"]', "href");
      expect(appleTouch).not.toBeNull();
      const checks = [...icons.map((i) => ({ src: i.src, size: Number(i.sizes.split("x")[0]) })), { src: appleTouch ?? "", size: 180 }];
      for (const { src, size } of checks) {
        const loaded = await ada.page.evaluate(async (url) => {
          const response = await fetch(url);
          const blob = await response.blob();
          const bitmap = await createImageBitmap(blob);
          return { status: response.status, type: response.headers.get("content-type"), width: bitmap.width, height: bitmap.height };
        }, src);
        expect(loaded, src).toEqual({ status: 200, type: "image/png", width: size, height: size });
      }
    } finally {
      await ada.close();
    }
  });

  it("registers the service worker, which controls the page and precaches the shell; /sw.js is never cached unasked", async () => {
    const ada = await ChatPage.open(browser, server.baseUrl);
    try {
      const worker = await controllingWorker(ada.context, ada.page);
      expect(worker.url()).toBe(`${server.baseUrl}/sw.js`);
      const cached = await ada.page.evaluate(async () => {
        const urls: string[] = [];
        for (const name of await caches.keys()) {
          for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
        }
        return urls;
      });
      expect(cached).toContain("/index.html");
      expect(cached).toContain("/icons/icon-192.png");
      expect(cached.some((p) => /^\/assets\/index-.*\.js$/.test(p))).toBe(true);
      // Source maps are not downloaded into every browser.
      expect(cached.some((p) => p.endsWith(".map"))).toBe(false);
      const sw = await fetch(`${server.baseUrl}/sw.js`);
      expect(sw.headers.get("cache-control")).toBe("no-cache");
      // The API is never answered by the worker: a navigation to it still reaches the server.
      const api = await ada.page.evaluate(async () => (await fetch("/api/v1/session")).headers.get("content-type"));
      expect(api).toMatch(/^application\/json/);
    } finally {
      await ada.close();
    }
  });

  it("starts offline from the precache and says so; signs back in by itself when the network returns", async () => {
    const bob = await ChatPage.open(browser, server.baseUrl);
    try {
      await bob.signUp("bob");
      await controllingWorker(bob.context, bob.page);
      await bob.context.setOffline(true);
      await bob.page.reload();
      // The shell and its scripts come from the precache; the session check cannot reach the server.
      const offline = bob.page.getByTestId("unreachable");
      await offline.waitFor({ timeout: 15_000 });
      await expect(offline.getByRole("heading").innerText()).resolves.toBe("You’re offline");
      // Which sentence follows depends on navigator.onLine, which Chromium's offline emulation leaves true in a
      // reloaded document; a real offline device says "…when the network is back".
      await expect(offline.getByTestId("unreachable-reason").innerText()).resolves.toMatch(/^Parley (opens your conversations when the network is back|cannot reach its server)/);
      await expectNoSeriousA11yViolations(bob.page);
      await bob.page.screenshot({ path: path.join(RESULTS_DIR, "pwa-offline-desktop.png") });
      await bob.page.setViewportSize({ width: 375, height: 740 });
      await bob.page.screenshot({ path: path.join(RESULTS_DIR, "pwa-offline-phone.png") });
      // Reduced motion: no transition between the schemes' colours (axe would measure one half-way).
      await bob.page.emulateMedia({ colorScheme: "dark", reducedMotion: "reduce" });
      await expectNoSeriousA11yViolations(bob.page);
      await bob.page.screenshot({ path: path.join(RESULTS_DIR, "pwa-offline-phone-dark.png") });
      await bob.page.emulateMedia({ colorScheme: "light", reducedMotion: "no-preference" });
      await bob.page.setViewportSize({ width: 1280, height: 800 });

      await bob.context.setOffline(false);
      // The page's "online" event retries: the session is restored and the socket connects, no click needed.
      await bob.waitUntilConnected();
      await expect(bob.byTestId("current-user").innerText()).resolves.toBe(bob.username);
    } finally {
      await bob.close();
    }
  });

  it("puts the unread total on the app icon, clears it when read, and keeps the title's count", async () => {
    const ada = await ChatPage.open(browser, server.baseUrl);
    const bob = await ChatPage.open(browser, server.baseUrl);
    try {
      await ada.signUp("ada");
      await bob.signUp("bob");
      const room = `badge-${Date.now().toString(36)}`;
      await ada.createRoom(room);
      await bob.joinPublicRoom(room);
      // Bob reads elsewhere: the home screen. The Badging API, wrapped before the app loads, records its calls.
      await bob.context.addInitScript(() => {
        const calls: (number | "clear")[] = [];
        (window as unknown as { __badge: typeof calls }).__badge = calls;
        Object.defineProperty(navigator, "setAppBadge", { value: (n?: number) => (calls.push(n ?? 0), Promise.resolve()) });
        Object.defineProperty(navigator, "clearAppBadge", { value: () => (calls.push("clear"), Promise.resolve()) });
      });
      await bob.page.goto(`${server.baseUrl}/#/`);
      // The hash alone does not load the page again; the init script runs on a load.
      await bob.page.reload();
      await bob.waitUntilConnected();
      const badge = () => bob.page.evaluate(() => (window as unknown as { __badge: (number | "clear")[] }).__badge.at(-1) ?? null);
      await eventually("the badge starts clear", async () => (await badge()) === "clear");

      await ada.send("one");
      await ada.send("two");
      await eventually("the badge says 2", async () => (await badge()) === 2);
      expect(await bob.page.title()).toMatch(/^\(2\) /);

      await bob.openRoom(room);
      await eventually("the badge is cleared once read", async () => (await badge()) === "clear");
      expect(await bob.page.title()).not.toMatch(/^\(/);
    } finally {
      await ada.close();
      await bob.close();
    }
  });

  // Last: it stops the server.
  it("with the server stopped, a reload starts from the precache and says it cannot reach the server", async () => {
    const carol = await ChatPage.open(browser, server.baseUrl);
    try {
      await carol.signUp("carol");
      await controllingWorker(carol.context, carol.page);
      await server.stop();
      await carol.page.reload();
      const unreachable = carol.page.getByTestId("unreachable");
      await unreachable.waitFor({ timeout: 15_000 });
      await expect(unreachable.getByRole("heading").innerText()).resolves.toBe("You’re offline");
      await expect(unreachable.getByTestId("unreachable-reason").innerText()).resolves.toBe("Parley cannot reach its server. It opens your conversations once it can.");
      await expect(unreachable.getByRole("button", { name: "Try again" }).isVisible()).resolves.toBe(true);
    } finally {
      await carol.close();
    }
  });
});
