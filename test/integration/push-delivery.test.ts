import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PushPayloadSchema } from "@shared/protocol/notifications.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, signup, type Caller } from "../support/client.js";
import { startPushService, type PushService } from "../support/push-service.js";

/**
 * Web Push end to end (issue 19 item 3): real messages sent over HTTP, the
 * notification dispatcher deciding after the commit, the push sink sending
 * to the real push service of the test (which verifies VAPID and decrypts).
 * A user with no socket gets exactly one push; a user with a socket open
 * gets the in-app frame and no push. The send is answered before any push
 * is attempted (a push service that hangs does not delay it).
 */
describe("Web Push through the notification dispatcher", () => {
  let push: PushService;
  let t: TestServer;
  beforeAll(async () => {
    push = await startPushService();
    t = await startTestServer({ pushAllowPrivateEndpoints: "true", pushCollapseMs: 0, pushTimeoutMs: 120_000 }, { pushTls: { ca: push.ca } });
  });
  afterAll(async () => {
    // The push service first: it cuts the hanging request, which the node would otherwise wait for as it stops.
    await push.close();
    await t.destroy();
  });

  async function subscribed(name: string): Promise<{ caller: Caller; subscriptionId: string }> {
    const caller = await signup(t.baseUrl, name);
    const sub = push.subscriptionFor();
    expect((await caller.post("/push/subscriptions", sub.json)).status).toBe(201);
    return { caller, subscriptionId: sub.id };
  }

  it("a direct message to a user with no socket open: one push, decrypting to the message's notification", async () => {
    const alice = await signup(t.baseUrl, "alice");
    const bob = await subscribed("bob");
    const room = await alice.post<{ room: { id: string } }>("/direct", { userId: bob.caller.user.id });
    const message = await postMessage(alice, room.body.room.id, "are you there?");
    const [got] = await push.waitForPushes(1, { subscriptionId: bob.subscriptionId });
    expect(PushPayloadSchema.parse(got!.payload)).toEqual({
      kind: "message",
      notification: {
        roomId: message.roomId,
        messageId: message.id,
        seq: message.seq,
        reason: "direct",
        title: alice.user.displayName,
        body: `${alice.user.displayName}: are you there?`,
        tag: `room:${message.roomId}`,
        url: `/#/rooms/${encodeURIComponent(message.roomId)}/${message.seq}`,
        createdAt: message.createdAt,
      },
    });
    expect(got!.urgency).toBe("high");
    expect(push.refused).toEqual([]);
  });

  it("a user with a socket open gets the in-app notification and no push; one without gets the push", async () => {
    const alice = await signup(t.baseUrl, "alice");
    const [bob, carol] = await Promise.all([subscribed("bob"), subscribed("carol")]);
    const roomId = await createRoom(alice, "private");
    for (const who of [bob, carol]) expect((await alice.post(`/rooms/${roomId}/members`, { userId: who.caller.user.id })).status).toBe(201);
    const socket = await SocketClient.connect(t.wsUrl, bob.caller);
    try {
      // One message, both mentioned: one decided batch, bob connected, carol not.
      const message = await postMessage(alice, roomId, `@${bob.caller.user.username} @${carol.caller.user.username} standup?`);
      await socket.waitFor((f) => f.type === "notification" && f.notification.messageId === message.id);
      const [got] = await push.waitForPushes(1, { subscriptionId: carol.subscriptionId });
      expect(PushPayloadSchema.parse(got!.payload)).toMatchObject({ kind: "message", notification: { messageId: message.id, reason: "mention" } });
      // The sink skips a connected user when the batch arrives, before carol's push was even queued.
      expect(push.received.filter((r) => r.subscriptionId === bob.subscriptionId)).toEqual([]);
    } finally {
      await socket.close();
    }
  });

  it("answers the send while the push service hangs: pushes are never on the send path", async () => {
    const alice = await signup(t.baseUrl, "alice");
    const bob = await subscribed("bob");
    push.respondWith("hang", bob.subscriptionId);
    const room = await alice.post<{ room: { id: string } }>("/direct", { userId: bob.caller.user.id });
    // The push times out after 120 s (longer than this test may run): a send that waited for it would fail the test.
    const first = await postMessage(alice, room.body.room.id, "one");
    await push.waitForPushes(1, { subscriptionId: bob.subscriptionId });
    // The push of `first` hangs at the push service; the next send is answered all the same.
    const second = await postMessage(alice, room.body.room.id, "two");
    expect(second.seq).toBe(first.seq + 1);
  });
});
