import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import type { TestServer } from "../support/server.js";
import { freePort, installation, startNode, type Installation } from "../support/cluster.js";
import { launchBrowser } from "../../e2e/browser.js";
import { ChatPage, eventually, unique } from "../../e2e/chat-page.js";

/**
 * A load balancer in miniature: one TCP port forwarding every connection to
 * the node `target` names at the time it is made. `cut` drops the
 * connections in flight, as a balancer does when their node is gone.
 */
class Forwarder {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  port = 0;

  constructor(public target: number) {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on("close", () => this.open.delete(s));
        s.on("error", () => s.destroy());
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(port: number): Promise<void> {
    this.port = port;
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
  }

  cut(): void {
    for (const s of this.open) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * The web client across a node's death (issue 11): a person in a browser,
 * connected through the balancer to a node that stops, carries on through
 * another node without a reload, and misses nothing.
 */
describe("the web client when its node goes away", () => {
  let inst: Installation;
  let a: TestServer;
  let b: TestServer;
  let lb: Forwarder;
  let browser: Browser;
  let ada: ChatPage;
  let bob: ChatPage;

  beforeAll(async () => {
    inst = await installation();
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    // Both nodes serve the balancer's address: its origin may open cookie-authenticated sockets.
    [a, b] = [await startNode(inst, { allowedOrigins: origin }), await startNode(inst, { allowedOrigins: origin })];
    lb = new Forwarder(Number(new URL(a.baseUrl).port));
    await lb.listen(port);
    browser = await launchBrowser();
    ada = await ChatPage.open(browser, origin);
    bob = await ChatPage.open(browser, b.baseUrl);
  });
  afterAll(async () => {
    await browser?.close();
    await lb?.close();
    await a?.destroy().catch(() => undefined);
    await b?.destroy();
    await inst?.drop();
  });

  it("reconnects through the balancer to the other node, without a reload, and shows every message once", async () => {
    await ada.signUp("ada");
    await bob.signUp("bob");
    const roomName = `failover-${unique()}`;
    await ada.createRoom(roomName);
    await bob.joinPublicRoom(roomName);
    await ada.send("before the failover");
    await bob.waitForMessage("before the failover");
    // A mark in the page: a reload would lose it.
    await ada.page.evaluate(() => ((window as unknown as { parleyMark: number }).parleyMark = 42));

    // Node A stops (graceful: its sockets get 1012); the balancer sends new connections to B.
    lb.target = Number(new URL(b.baseUrl).port);
    await a.stop();
    lb.cut();
    await bob.send("while ada moves");
    await ada.waitUntilConnected();
    await ada.waitForMessage("while ada moves");
    await ada.send("after the failover");
    await bob.waitForMessage("after the failover");

    expect(await ada.page.evaluate(() => (window as unknown as { parleyMark?: number }).parleyMark)).toBe(42);
    await eventually("no duplicate shows up", async () => {
      const bodies = await ada.messageBodies();
      return ["before the failover", "while ada moves", "after the failover"].every((t) => bodies.filter((x) => x === t).length === 1);
    });
    const bodies = await ada.messageBodies();
    expect(bodies.indexOf("before the failover")).toBeLessThan(bodies.indexOf("while ada moves"));
    expect(bodies.indexOf("while ada moves")).toBeLessThan(bodies.indexOf("after the failover"));
  });
});
