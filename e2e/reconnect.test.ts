/**
 * Losing the connection: the status indicator says so, messages typed
 * meanwhile wait in the outbox as pending, and after the reconnect each is
 * delivered exactly once (the server deduplicates by clientId; the client
 * replaces the pending copy with the stored one).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { launchBrowser } from "./browser.js";
import { ChatPage, eventually, unique } from "./chat-page.js";

interface History {
  messages: { body: string; clientId: string | null }[];
}

describe("offline and reconnect", () => {
  let server: TestServer;
  let browser: Browser;
  let ada: ChatPage;
  let bob: ChatPage;
  let roomName: string;
  let roomId: string;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    ada = await ChatPage.open(browser, server.baseUrl, { testHooks: true });
    bob = await ChatPage.open(browser, server.baseUrl);
    await ada.signUp("ada");
    await bob.signUp("bob");
    roomName = `resilient-${unique()}`;
    await ada.createRoom(roomName);
    roomId = await ada.openRoomId();
    await bob.joinPublicRoom(roomName);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.destroy();
  });

  /** How many stored messages in the room have this body (asked as Bob, over HTTP). */
  async function storedCount(body: string): Promise<number> {
    const history = await bob.apiGet<History>(`/rooms/${roomId}/messages?limit=100`);
    return history.messages.filter((m) => m.body === body).length;
  }

  it("holds messages typed while the network is down and delivers each exactly once when it is back", async () => {
    await ada.context.setOffline(true);
    await eventually("Ada's status says offline", async () => (await ada.connectionState()) === "offline");
    await ada.byTestId("offline-banner").waitFor();

    await ada.send("typed while offline, first");
    await ada.send("typed while offline, second");
    const first = ada.messagesWithBody("typed while offline, first");
    expect(await first.getAttribute("data-status")).toBe("queued");
    expect(await first.getByTestId("message-pending").innerText()).toBe("sending…");
    expect(await ada.messagesWithBody("typed while offline, second").getAttribute("data-status")).toBe("queued");

    await bob.page.waitForTimeout(1000);
    expect(await bob.messagesWithBody("typed while offline, first").count()).toBe(0);

    await ada.context.setOffline(false);
    await ada.waitUntilConnected();
    await bob.waitForMessage("typed while offline, first");
    await bob.waitForMessage("typed while offline, second");
    await eventually("Ada's copies are stored, not pending", async () =>
      (await ada.messagesWithBody("typed while offline, second").getAttribute("data-status")) === "sent",
    );
    // Give any duplicate time to show up, then count.
    await ada.page.waitForTimeout(500);
    for (const person of [ada, bob]) {
      const bodies = await person.messageBodies();
      expect(bodies.filter((b) => b === "typed while offline, first")).toHaveLength(1);
      expect(bodies.filter((b) => b === "typed while offline, second")).toHaveLength(1);
      // Kept in the order they were typed.
      expect(bodies.indexOf("typed while offline, first")).toBeLessThan(bodies.indexOf("typed while offline, second"));
    }
    expect(await storedCount("typed while offline, first")).toBe(1);
    expect(await storedCount("typed while offline, second")).toBe(1);
  });

  it("resends a send that was in flight when the socket dropped with the same clientId, stored once", async () => {
    const text = `in flight at the drop ${unique()}`;
    await ada.composer().fill(text);
    // Send and cut the socket in the same task: the frame is on the wire but
    // its ack can never reach this socket.
    await ada.page.evaluate(() => {
      (document.querySelector('[data-testid="composer-send"]') as HTMLButtonElement).click();
      (window as unknown as { __parley: { dropSocket(): void } }).__parley.dropSocket();
    });
    expect(["offline", "connecting"]).toContain(await ada.connectionState());
    await ada.waitUntilConnected();
    await bob.waitForMessage(text);
    await eventually("Ada's copy is stored", async () => (await ada.messagesWithBody(text).getAttribute("data-status")) === "sent");
    await ada.page.waitForTimeout(500);
    expect(await ada.messagesWithBody(text).count()).toBe(1);
    expect(await bob.messagesWithBody(text).count()).toBe(1);
    const history = await bob.apiGet<History>(`/rooms/${roomId}/messages?limit=100`);
    const stored = history.messages.filter((m) => m.body === text);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.clientId).toBeTruthy();
  });

  it("survives a server restart: reconnects with backoff, resumes, and delivers what was typed meanwhile", async () => {
    const port = new URL(server.baseUrl).port;
    const dataDir = server.dataDir;
    await server.stop();
    await eventually("Ada sees the connection go", async () => (await ada.connectionState()) !== "connected");
    await ada.send("typed while the server was down");
    expect(await ada.messagesWithBody("typed while the server was down").getAttribute("data-status")).toBe("queued");
    // Someone else's message while Ada is away comes back through resume.
    await new Promise((r) => setTimeout(r, 1500));

    server = await startTestServer({ dataDir, port: Number(port) });
    await ada.waitUntilConnected(30_000);
    await bob.waitUntilConnected(30_000);
    await bob.send("bob says hi after the restart");
    await ada.waitForMessage("bob says hi after the restart");
    await bob.waitForMessage("typed while the server was down");
    await ada.page.waitForTimeout(500);
    expect(await ada.messagesWithBody("typed while the server was down").count()).toBe(1);
    expect(await ada.messagesWithBody("typed while the server was down").getAttribute("data-status")).toBe("sent");
    expect(await storedCount("typed while the server was down")).toBe(1);
    expect(ada.pageErrors).toEqual([]);
  });

  it("catches up on messages missed while offline (resume by seq), without duplicates", async () => {
    await ada.context.setOffline(true);
    await eventually("Ada is offline", async () => (await ada.connectionState()) === "offline");
    await bob.send("missed one");
    await bob.send("missed two");
    await bob.waitForMessage("missed two");
    await ada.page.waitForTimeout(500);
    expect(await ada.messagesWithBody("missed one").count()).toBe(0);

    await ada.context.setOffline(false);
    await ada.waitForMessage("missed two", 20_000);
    await ada.page.waitForTimeout(500);
    const bodies = await ada.messageBodies();
    expect(bodies.filter((b) => b === "missed one")).toHaveLength(1);
    expect(bodies.filter((b) => b === "missed two")).toHaveLength(1);
    expect(bodies.indexOf("missed one")).toBeLessThan(bodies.indexOf("missed two"));
  });
});
