import https from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import { decryptPush, makeKeys, startPushService, verifyVapid, type PushService } from "../support/push-service.js";

/**
 * The test push service (test/support/push-service.ts) itself: it accepts
 * what web-push sends with a valid VAPID token and decrypts it, and refuses
 * what a real push service would (a token for another origin, a token
 * signed by another key), so that the push tests built on it can fail.
 */
describe("test push service", () => {
  let push: PushService;
  let agent: https.Agent;
  const vapid = webpush.generateVAPIDKeys();
  beforeAll(async () => {
    push = await startPushService();
    agent = new https.Agent({ ca: push.ca });
  });
  afterAll(async () => {
    agent.destroy();
    await push.close();
  });

  it("verifies the VAPID token and decrypts the payload with the subscription's keys", async () => {
    const sub = push.subscriptionFor();
    await webpush.sendNotification(sub.json, JSON.stringify({ hello: "world" }), {
      vapidDetails: { subject: "mailto:ops@example.com", ...vapid },
      TTL: 60,
      urgency: "high",
      topic: "room1",
      agent,
    });
    const [got] = await push.waitForPushes(1, { subscriptionId: sub.id });
    expect(got).toMatchObject({ ttl: 60, urgency: "high", topic: "room1", payload: { hello: "world" }, answered: 201 });
    expect(got!.vapid).toMatchObject({ aud: push.origin, sub: "mailto:ops@example.com", publicKey: vapid.publicKey });
    expect(push.refused).toEqual([]);
  });

  it("refuses a token whose signature is not by k, and an audience that is not its origin", () => {
    const other = webpush.generateVAPIDKeys();
    const good = webpush.getVapidHeaders(push.origin, "mailto:a@example.com", vapid.publicKey, vapid.privateKey, "aes128gcm").Authorization;
    expect(typeof verifyVapid(good, push.origin)).toBe("object");
    const forged = good.replace(/k=[A-Za-z0-9_-]+/, `k=${other.publicKey}`);
    expect(verifyVapid(forged, push.origin)).toMatch(/signature/);
    const elsewhere = webpush.getVapidHeaders("https://elsewhere.example", "mailto:a@example.com", vapid.publicKey, vapid.privateKey, "aes128gcm").Authorization;
    expect(verifyVapid(elsewhere, push.origin)).toMatch(/aud/);
  });

  it("answers as told, and a body for other keys does not decrypt", async () => {
    const sub = push.subscriptionFor();
    push.respondWith(410, sub.id);
    const sent = webpush.sendNotification(sub.json, "x", { vapidDetails: { subject: "mailto:ops@example.com", ...vapid }, agent });
    await expect(sent).rejects.toMatchObject({ statusCode: 410 });
    const encrypted = webpush.generateRequestDetails(sub.json, "secret", { vapidDetails: { subject: "mailto:ops@example.com", ...vapid } }).body as Buffer;
    expect(decryptPush(encrypted, sub.keys).toString()).toBe("secret");
    expect(() => decryptPush(encrypted, makeKeys())).toThrow();
  });
});
