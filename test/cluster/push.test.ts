import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PushPayloadSchema } from "@shared/protocol/notifications.js";
import type { Message } from "@shared/protocol/entities.js";
import type { TestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, signup, type Caller } from "../support/client.js";
import { eventually } from "../support/cluster.js";
import { callerOn, installation, startNode, type Installation } from "../support/cluster.js";
import { startPushService, type PushService } from "../support/push-service.js";

/**
 * Web Push on two nodes (issue 19 item 3): nodes started together on one
 * PostgreSQL database end with ONE VAPID key pair (the first insert into
 * installation_secrets wins, both read it back), so a subscription made
 * through either node is pushed to, VAPID-signed with that key, by
 * whichever node handles the message; and the node that handles a message
 * sends its push exactly once (the other node sends nothing). Through the
 * dispatcher, with presence from every node: a user whose socket is on
 * node B gets no push for a message sent through node A; a user with no
 * socket anywhere gets exactly one.
 */
describe("Web Push on two nodes", () => {
  let push: PushService;
  let inst: Installation;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    push = await startPushService();
    inst = await installation();
    const settings = { pushAllowPrivateEndpoints: "true", pushCollapseMs: 0 } as const;
    // At once: both find no key and race to create it.
    [a, b] = await Promise.all([startNode(inst, settings, { pushTls: { ca: push.ca } }), startNode(inst, settings, { pushTls: { ca: push.ca } })]);
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    await inst?.drop();
    await push?.close();
  });

  /** A direct message from `from` to `to` as the decider hands it to the push sink. */
  const decided = (message: Message, to: Caller) => ({
    userId: to.user.id,
    authorName: message.author.displayName,
    roomKind: "direct" as const,
    connected: false,
    notification: {
      roomId: message.roomId,
      messageId: message.id,
      seq: message.seq,
      reason: "direct" as const,
      title: message.author.displayName,
      body: `${message.author.displayName}: ${message.body}`,
      tag: `room:${message.roomId}`,
      url: `/#/rooms/${encodeURIComponent(message.roomId)}/${message.seq}`,
      createdAt: message.createdAt,
    },
  });

  it("shares one VAPID key pair from the database, and a subscription made through node B is pushed once by node A", async () => {
    const key = a.server.services.pushKeys.publicKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{87}$/);
    expect(b.server.services.pushKeys.publicKey()).toBe(key);

    const alice = await signup(a.baseUrl, "alice");
    const bob = callerOn(await signup(a.baseUrl, "bob"), b.baseUrl);
    // Only this test's own batches reach the sinks for bob: the dispatcher notifies him of nothing.
    expect((await bob.request("PATCH", "/notifications/settings", { roomLevel: "nothing", directLevel: "nothing" })).status).toBe(200);
    const sub = push.subscriptionFor();
    expect((await bob.post("/push/subscriptions", sub.json)).status).toBe(201);
    const room = await alice.post<{ room: { id: string } }>("/direct", { userId: bob.user.id });
    const message = await postMessage(alice, room.body.room.id, "across nodes");
    a.server.services.push.accept([decided(message, bob)]);
    const [got] = await push.waitForPushes(1, { subscriptionId: sub.id });
    expect(got!.vapid.publicKey).toBe(key);
    expect(PushPayloadSchema.parse(got!.payload)).toMatchObject({ kind: "message", notification: { messageId: message.id } });
    // A second message through B: once B's push is here, A's (had it sent a duplicate) would be too.
    const second = await postMessage(callerOn(alice, b.baseUrl), room.body.room.id, "second");
    b.server.services.push.accept([decided(second, bob)]);
    const pushes = await push.waitForPushes(2, { subscriptionId: sub.id });
    expect(pushes.map((p) => (p.payload as { notification: { messageId: string } }).notification.messageId)).toEqual([message.id, second.id]);
    expect(push.refused).toEqual([]);
  });

  it("through the dispatcher: no push for a user whose socket is on the other node, exactly one for a user with no socket anywhere", async () => {
    const alice = await signup(a.baseUrl, "alice");
    const [bob, carol] = await Promise.all([signup(a.baseUrl, "bob"), signup(a.baseUrl, "carol")]);
    const [bobSub, carolSub] = [push.subscriptionFor(), push.subscriptionFor()];
    expect((await bob.post("/push/subscriptions", bobSub.json)).status).toBe(201);
    expect((await carol.post("/push/subscriptions", carolSub.json)).status).toBe(201);
    const roomId = await createRoom(alice, "private");
    for (const who of [bob, carol]) expect((await alice.post(`/rooms/${roomId}/members`, { userId: who.user.id })).status).toBe(201);
    const socket = await SocketClient.connect(b.wsUrl, callerOn(bob, b.baseUrl));
    try {
      // Node A must know bob is connected on B before it decides (presence crosses the bus).
      await eventually("node A sees bob's socket on B", () => a.server.services.presence.isConnected(bob.user.id));
      const mention = `@${bob.user.username} @${carol.user.username}`;
      const first = await postMessage(alice, roomId, `${mention} one`);
      await socket.waitFor((f) => f.type === "notification" && f.notification.messageId === first.id);
      const second = await postMessage(alice, roomId, `${mention} two`);
      await socket.waitFor((f) => f.type === "notification" && f.notification.messageId === second.id);
      // Two messages, two pushes for carol: had a node sent one twice, or both nodes sent it, a message id would repeat.
      const pushes = await push.waitForPushes(2, { subscriptionId: carolSub.id });
      // (In either order: the two pushes may be in flight at once.)
      expect(pushes.map((p) => (p.payload as { notification: { messageId: string } }).notification.messageId).sort()).toEqual([first.id, second.id].sort());
      expect(push.received.filter((r) => r.subscriptionId === carolSub.id)).toHaveLength(2);
      expect(push.received.filter((r) => r.subscriptionId === bobSub.id)).toEqual([]);
    } finally {
      await socket.close();
    }
  });
});
