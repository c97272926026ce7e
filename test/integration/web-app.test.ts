/**
 * How the server serves the installable web app (issue 19): the service
 * worker is never cached without asking (a fixed worker must reach
 * browsers at their next check), the manifest and icons have their content
 * types, and the SPA fallback still serves the page. A web directory made
 * by the test stands in for dist/web, so this runs without a build.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

let node: TestServer;
let webDir: string;

beforeAll(async () => {
  webDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-web-"));
  fs.mkdirSync(path.join(webDir, "icons"));
  fs.mkdirSync(path.join(webDir, "assets"));
  fs.writeFileSync(path.join(webDir, "index.html"), '<!doctype html><link rel="manifest" href="/manifest.webmanifest"><div id="root"></div>');
  fs.writeFileSync(path.join(webDir, "sw.js"), "self.addEventListener('push', () => {});\n");
  fs.writeFileSync(path.join(webDir, "manifest.webmanifest"), JSON.stringify({ name: "Parley", start_url: "/" }));
  fs.writeFileSync(path.join(webDir, "icons", "icon-192.png"), Buffer.from("89504e470d0a1a0a", "hex"));
  fs.writeFileSync(path.join(webDir, "assets", "index-abc.js"), "export {};\n");
  node = await startTestServer({ webDir });
});

afterAll(async () => {
  await node.destroy();
  fs.rmSync(webDir, { recursive: true, force: true });
});

describe("the web app's files", () => {
  it("/sw.js: JavaScript, Cache-Control no-cache (the browser revalidates it at every check)", async () => {
    const response = await fetch(`${node.baseUrl}/sw.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^(application|text)\/javascript/);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(await response.text()).toContain("push");
    // Its query (a cache-buster some setups add) does not change that.
    expect((await fetch(`${node.baseUrl}/sw.js?v=2`)).headers.get("cache-control")).toBe("no-cache");
  });

  it("other files keep the static server's caching", async () => {
    const response = await fetch(`${node.baseUrl}/assets/index-abc.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).not.toBe("no-cache");
  });

  it("the manifest is application/manifest+json; icons are image/png", async () => {
    const manifest = await fetch(`${node.baseUrl}/manifest.webmanifest`);
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get("content-type")).toMatch(/^application\/manifest\+json/);
    expect(await manifest.json()).toMatchObject({ name: "Parley" });
    const icon = await fetch(`${node.baseUrl}/icons/icon-192.png`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toBe("image/png");
  });

  it("the page itself, and any client path, is index.html", async () => {
    for (const url of ["/", "/rooms/whatever"]) {
      const response = await fetch(`${node.baseUrl}${url}`);
      expect(response.status, url).toBe(200);
      expect(response.headers.get("content-type"), url).toMatch(/^text\/html/);
      expect(await response.text(), url).toContain('rel="manifest"');
    }
  });
});
