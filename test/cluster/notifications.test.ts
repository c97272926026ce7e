import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestServer } from "../support/server.js";
import { SocketClient, createRoom, postMessage, signup, type Caller } from "../support/client.js";
import { callerOn, eventually, installation, startNode, type Installation } from "../support/cluster.js";
import type { Room } from "@shared/protocol/entities.js";
import type { Notification } from "@shared/protocol/notifications.js";
import type { DecidedNotification } from "@server/notifications/sinks.js";

/**
 * Notifications on two nodes (issue 19): a user's settings changed through
 * node A reach their socket on node B; a message sent through node A is
 * decided there, with presence from every node (a socket on B counts as
 * connected: no Web Push, `@here` counts), and its in-app frame reaches
 * the socket on B.
 */
describe("notifications on two nodes", () => {
  let inst: Installation;
  let a: TestServer;
  let b: TestServer;
  let alice: Caller;
  let bob: Caller;
  let roomId: string;
  const decidedOnA: DecidedNotification[] = [];

  beforeAll(async () => {
    inst = await installation();
    [a, b] = [await startNode(inst), await startNode(inst)];
    a.server.services.notifications.addSink({ accept: (batch) => decidedOnA.push(...batch) });
    alice = await signup(a.baseUrl, "alice");
    bob = await signup(a.baseUrl, "bob");
    roomId = await createRoom(alice, "public");
    expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    await inst?.drop();
  });

  it("settings changed through node A are heard by the user's socket on node B", async () => {
    const sb = await SocketClient.connect(b.wsUrl, callerOn(bob, b.baseUrl));
    try {
      const until = new Date(Date.now() + 3_600_000).toISOString();
      expect((await bob.request("PATCH", "/notifications/settings", { directLevel: "mentions" })).status).toBe(200);
      expect(await sb.waitFor((f) => f.type === "notifications.updated")).toMatchObject({ settings: { directLevel: "mentions" } });
      expect((await bob.request("PUT", `/rooms/${roomId}/notifications`, { muted: true, mutedUntil: until })).status).toBe(200);
      expect(await sb.waitFor((f) => f.type === "room.notifications.updated")).toEqual({
        type: "room.notifications.updated",
        roomId,
        notifications: { level: "default", muted: true, mutedUntil: until },
      });
      // Node B's room list reads the same.
      const rooms = (await callerOn(bob, b.baseUrl).get<{ rooms: Room[] }>("/rooms")).body.rooms;
      expect(rooms.find((r) => r.id === roomId)?.notifications).toEqual({ level: "default", muted: true, mutedUntil: until });
      expect((await bob.request("PUT", `/rooms/${roomId}/notifications`, { muted: false })).status).toBe(200);
      expect((await bob.request("PATCH", "/notifications/settings", { directLevel: "all" })).status).toBe(200);
    } finally {
      await sb.close();
    }
  });

  it("a message through node A notifies the socket on node B; node A counts it as connected (@here too)", async () => {
    const sb = await SocketClient.connect(b.wsUrl, callerOn(bob, b.baseUrl));
    try {
      // Presence crosses nodes by gossip: node A learns of the socket on B shortly.
      await eventually("node A sees bob connected", () => a.server.services.presence.isConnected(bob.user.id));
      const direct = (await alice.post<{ room: Room }>("/direct", { userId: bob.user.id })).body.room.id;
      const dm = await postMessage(alice, direct, "across nodes");
      const got = await sb.waitFor<{ type: "notification"; notification: Notification }>((f) => f.type === "notification" && f.notification.messageId === dm.id);
      expect(got.notification).toMatchObject({ reason: "direct", roomId: direct, seq: dm.seq, title: alice.user.displayName });
      expect(decidedOnA.filter((d) => d.notification.messageId === dm.id)).toMatchObject([{ userId: bob.user.id, connected: true }]);
      const here = await postMessage(alice, roomId, "@here on any node?");
      const frame = await sb.waitFor<{ type: "notification"; notification: Notification }>((f) => f.type === "notification" && f.notification.messageId === here.id);
      expect(frame.notification.reason).toBe("room");
      // Exactly once on B's socket (the `users` envelope reached B once, through Redis).
      await postMessage(alice, direct, "marker");
      await sb.waitFor((f) => f.type === "notification" && f.notification.body.endsWith("marker"));
      expect(sb.frames.filter((f) => f.type === "notification" && f.notification.messageId === here.id)).toHaveLength(1);
    } finally {
      await sb.close();
    }
    // No socket anywhere: decided with connected false (Web Push's case), on node A.
    await eventually("node A sees bob gone", () => !a.server.services.presence.isConnected(bob.user.id));
    const direct = (await alice.post<{ room: Room }>("/direct", { userId: bob.user.id })).body.room.id;
    const offline = await postMessage(alice, direct, "while away");
    await eventually("decided", () => decidedOnA.some((d) => d.notification.messageId === offline.id));
    expect(decidedOnA.filter((d) => d.notification.messageId === offline.id)).toMatchObject([{ userId: bob.user.id, connected: false }]);
  });
});
