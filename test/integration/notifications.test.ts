import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { type SocketClient, createRoom, postMessage, signup, signupBot, socketPool, type Caller } from "../support/client.js";
import type { AckFrame, ErrorFrame, ServerFrame } from "@shared/protocol/frames.js";
import type { Message, Room } from "@shared/protocol/entities.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import {
  DEFAULT_NOTIFICATION_SETTINGS,
  DEFAULT_ROOM_NOTIFICATIONS,
  MUTED_FOREVER,
  type Notification,
  type NotificationSettingsResponse,
  type RoomNotificationsResponse,
} from "@shared/protocol/notifications.js";
import type { DecidedNotification, NotificationSink } from "@server/notifications/sinks.js";

/**
 * Notifications over a real server (issue 19), on SQLite and PostgreSQL:
 * the account settings and a room's level and mute over HTTP and the
 * socket, live on the user's other sockets; who the server decides to
 * notify of a message (levels, mute, do not disturb, mentions, @room and
 * @here, direct rooms, never the author, never a former member), seen two
 * ways: the in-app `notification` frame on the sockets of the connected
 * recipients, and the decided batch a sink (Web Push, email) is handed.
 *
 * Absence is asserted without waiting on the clock: the dispatcher decides
 * messages in commit order and hands each batch to its sinks in order, so
 * once a later "marker" message's decision is recorded, any decision about
 * an earlier message is recorded too; and one socket receives its frames in
 * order, so once a marker's frame arrived, an earlier frame would have too.
 */

/** Every decision, in order, as the sinks see them. */
class Recorder implements NotificationSink {
  readonly decided: DecidedNotification[] = [];
  accept(batch: readonly DecidedNotification[]): void {
    this.decided.push(...batch);
  }
  about(messageId: string): DecidedNotification[] {
    return this.decided.filter((d) => d.notification.messageId === messageId);
  }
}

async function eventually(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms: ${what}`);
}

const inMinutes = (minutes: number): string => new Date(Date.now() + minutes * 60_000).toISOString();

describe("notifications", () => {
  let t: TestServer;
  let alice: Caller; // owner of the room (cookie)
  let bob: Caller; // member (Bearer)
  let carol: Caller; // member
  let dan: Caller; // in no room of alice's
  let roomId: string; // public, alice + bob + carol
  let roomName: string;
  const recorder = new Recorder();
  const pool = socketPool(() => t.wsUrl);

  const dm = async (from: Caller, to: Caller): Promise<string> => {
    const res = await from.post<{ room: Room }>("/direct", { userId: to.user.id });
    expect(res.status).toBe(200);
    return res.body.room.id;
  };
  /** Sends a DM from alice to `to` and waits until its decision is recorded: every earlier message's is then too. */
  const marker = async (to: Caller): Promise<Message> => {
    const m = await postMessage(alice, await dm(alice, to), "marker");
    await eventually("the marker's decision", () => recorder.about(m.id).length > 0);
    return m;
  };
  const reasonsFor = (messageId: string): Record<string, string> =>
    Object.fromEntries(recorder.about(messageId).map((d) => [d.userId, d.notification.reason]));
  const notificationOn = (s: SocketClient, messageId: string) =>
    s.waitFor<{ type: "notification"; notification: Notification }>((f) => f.type === "notification" && f.notification.messageId === messageId);
  const notified = (s: SocketClient, messageId: string): boolean => s.frames.some((f) => f.type === "notification" && f.notification.messageId === messageId);
  const putRoom = (as: Caller, room: string, body: unknown) => as.request<RoomNotificationsResponse | ErrorBody>("PUT", `/rooms/${room}/notifications`, body);
  const patchSettings = (as: Caller, body: unknown) => as.request<NotificationSettingsResponse | ErrorBody>("PATCH", "/notifications/settings", body);
  const roomOf = async (as: Caller, room: string): Promise<Room> => {
    const found = (await as.get<{ rooms: Room[] }>("/rooms")).body.rooms.find((r) => r.id === room);
    if (!found) throw new Error("room not in the list");
    return found;
  };

  beforeAll(async () => {
    t = await startTestServer();
    t.server.services.notifications.addSink(recorder);
    [alice, carol, dan] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "carol"), signup(t.baseUrl, "dan")]);
    bob = await signupBot(t.baseUrl, "bob");
    roomName = `general ${Date.now()}`;
    const created = await alice.post<{ room: Room }>("/rooms", { name: roomName, kind: "public" });
    roomId = created.body.room.id;
    for (const c of [bob, carol]) expect((await c.post(`/rooms/${roomId}/join`)).status).toBe(200);
  });
  afterAll(async () => {
    await pool.closeAll();
    await t.destroy();
  });

  it("requires authentication", async () => {
    const res = await fetch(`${t.baseUrl}/api/v1/notifications/settings`);
    expect(res.status).toBe(401);
    const put = await fetch(`${t.baseUrl}/api/v1/rooms/${roomId}/notifications`, { method: "PUT", headers: { "content-type": "application/json" }, body: "{}" });
    expect(put.status).toBe(401);
  });

  it("defaults: account settings, no email without SMTP, the room's settings on the room list", async () => {
    const res = await dan.get<NotificationSettingsResponse>("/notifications/settings");
    expect(res.status).toBe(200);
    // push.publicKey: the node's VAPID key (generated at first start: none is configured here), for PushManager.subscribe.
    expect(res.body).toEqual({ settings: DEFAULT_NOTIFICATION_SETTINGS, emailAvailable: false, push: { publicKey: t.server.services.pushKeys.publicKey() } });
    expect(res.body.push.publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
    expect((await roomOf(bob, roomId)).notifications).toEqual(DEFAULT_ROOM_NOTIFICATIONS);
    // Not a member: no notifications on the room.
    const publicView = (await dan.get<{ room: Room }>(`/rooms/${roomId}`)).body.room;
    expect(publicView.notifications).toBeUndefined();
  });

  it("account settings: PATCH changes the fields given, live on the user's other socket; GET agrees", async () => {
    const other = await pool.connect(carol);
    const until = inMinutes(60);
    const res = await patchSettings(carol, { roomLevel: "all", dndUntil: until });
    expect(res.status).toBe(200);
    const settings = { ...DEFAULT_NOTIFICATION_SETTINGS, roomLevel: "all", dndUntil: until };
    expect((res.body as NotificationSettingsResponse).settings).toEqual(settings);
    const live = await other.waitFor((f) => f.type === "notifications.updated");
    expect(live).toEqual({ type: "notifications.updated", settings });
    // Only what was given changes.
    const more = await patchSettings(carol, { email: false });
    expect((more.body as NotificationSettingsResponse).settings).toEqual({ ...settings, email: false });
    expect((await carol.get<NotificationSettingsResponse>("/notifications/settings")).body.settings).toEqual({ ...settings, email: false });
    // Over the socket: the ack carries the settings.
    const ack = (await other.command({ type: "notifications.set", dndUntil: null, roomLevel: "mentions", email: true })) as AckFrame;
    expect(ack.type).toBe("ack");
    expect(ack.notifications).toEqual(DEFAULT_NOTIFICATION_SETTINGS);
    expect((await carol.get<NotificationSettingsResponse>("/notifications/settings")).body.settings).toEqual(DEFAULT_NOTIFICATION_SETTINGS);
  });

  it("bad input: a stable code, nothing changed, the socket survives", async () => {
    const before = (await bob.get<NotificationSettingsResponse>("/notifications/settings")).body.settings;
    for (const body of [{ roomLevel: "loud" }, { dndUntil: "tomorrow" }, { dndUntil: new Date(Date.now() - 60_000).toISOString() }, { email: "yes" }, { extra: 1 }]) {
      const res = await patchSettings(bob, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body as ErrorBody).error.code).toBe("validation_failed");
    }
    expect((await bob.get<NotificationSettingsResponse>("/notifications/settings")).body.settings).toEqual(before);
    for (const body of [{ level: "loud" }, { muted: "yes" }, { mutedUntil: inMinutes(10) }, { muted: true, mutedUntil: new Date(Date.now() - 1000).toISOString() }, { muted: false, mutedUntil: inMinutes(5) }, { nope: true }]) {
      const res = await putRoom(bob, roomId, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body as ErrorBody).error.code).toBe("validation_failed");
    }
    expect((await roomOf(bob, roomId)).notifications).toEqual(DEFAULT_ROOM_NOTIFICATIONS);
    const s = await pool.connect(bob);
    const bad = (await s.command({ type: "room.notifications.set", roomId, level: "loud" })) as ErrorFrame;
    expect(bad).toMatchObject({ type: "error", code: "validation_failed" });
    const bad2 = (await s.command({ type: "notifications.set", dndUntil: 5 })) as ErrorFrame;
    expect(bad2).toMatchObject({ type: "error", code: "validation_failed" });
    expect((await s.command({ type: "ping" })).type).toBe("ack");
  });

  it("a room's level and mute: only a member sets them; live on the other socket; on the room list", async () => {
    const other = await pool.connect(bob);
    const res = await putRoom(bob, roomId, { level: "all" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ roomId, notifications: { level: "all", muted: false, mutedUntil: null } });
    expect(await other.waitFor((f) => f.type === "room.notifications.updated")).toEqual({
      type: "room.notifications.updated",
      roomId,
      notifications: { level: "all", muted: false, mutedUntil: null },
    });
    const until = inMinutes(60);
    expect((await putRoom(bob, roomId, { muted: true, mutedUntil: until })).body).toEqual({ roomId, notifications: { level: "all", muted: true, mutedUntil: until } });
    expect((await putRoom(bob, roomId, { muted: true })).body).toEqual({ roomId, notifications: { level: "all", muted: true, mutedUntil: null } });
    expect((await roomOf(bob, roomId)).notifications).toEqual({ level: "all", muted: true, mutedUntil: null });
    const stored = await t.server.store.db.selectFrom("room_members").select("muted_until").where("room_id", "=", roomId).where("user_id", "=", bob.user.id).executeTakeFirstOrThrow();
    expect(stored.muted_until).toBe(MUTED_FOREVER);
    // Over the socket; back to the defaults.
    const ack = (await other.command({ type: "room.notifications.set", roomId, level: "default", muted: false })) as AckFrame;
    expect(ack.roomNotifications).toEqual({ roomId, notifications: DEFAULT_ROOM_NOTIFICATIONS });
    expect((await roomOf(bob, roomId)).notifications).toEqual(DEFAULT_ROOM_NOTIFICATIONS);

    // Not a member: a public room says join first; a private one and an unknown one do not exist.
    expect((await putRoom(dan, roomId, { level: "all" })).status).toBe(403);
    const secret = await createRoom(alice, "private");
    const hidden = await putRoom(dan, secret, { level: "all" });
    expect(hidden.status).toBe(404);
    expect((hidden.body as ErrorBody).error.code).toBe("not_found");
    expect((await putRoom(dan, "no-such-room", { level: "all" })).status).toBe(404);
    const sd = await pool.connect(dan);
    expect(await sd.command({ type: "room.notifications.set", roomId: secret, muted: true })).toMatchObject({ type: "error", code: "not_found" });
  });

  it("default level: a mention notifies the mentioned only, with the room, the author and a preview; the author never", async () => {
    const [sa, sb, sc] = [await pool.connect(alice), await pool.connect(bob), await pool.connect(carol)];
    const plain = await postMessage(alice, roomId, "nothing special");
    const mention = await postMessage(alice, roomId, `hey @${bob.user.username} look`);
    const got = await notificationOn(sb, mention.id);
    expect(got.notification).toEqual({
      roomId,
      messageId: mention.id,
      seq: mention.seq,
      reason: "mention",
      title: `#${roomName}`,
      body: `${alice.user.displayName}: hey @${bob.user.username} look`,
      tag: `room:${roomId}`,
      url: `/#/rooms/${encodeURIComponent(roomId)}/${mention.seq}`,
      createdAt: mention.createdAt,
    });
    expect(notified(sb, plain.id)).toBe(false);
    // carol and alice: a marker of their own arrived, so nothing about these messages did.
    const [mc, ma] = [await marker(carol), await postMessage(bob, await dm(bob, alice), "to alice")];
    await notificationOn(sc, mc.id);
    await notificationOn(sa, ma.id);
    for (const s of [sa, sc]) expect(notified(s, mention.id) || notified(s, plain.id)).toBe(false);
    expect(reasonsFor(plain.id)).toEqual({});
    expect(reasonsFor(mention.id)).toEqual({ [bob.user.id]: "mention" });
  });

  it("levels: all notifies every message; nothing silences even a mention; the account default applies to rooms left at default", async () => {
    const sb = await pool.connect(bob);
    await putRoom(bob, roomId, { level: "all" });
    await putRoom(carol, roomId, { level: "nothing" });
    const m1 = await postMessage(alice, roomId, `for everyone, even @${carol.user.username}`);
    expect((await notificationOn(sb, m1.id)).notification.reason).toBe("message");
    await marker(carol);
    expect(reasonsFor(m1.id)).toEqual({ [bob.user.id]: "message" });
    // Back to default; carol's account default all then notifies her of every room message.
    await putRoom(bob, roomId, { level: "default" });
    await putRoom(carol, roomId, { level: "default" });
    await patchSettings(carol, { roomLevel: "all" });
    const m2 = await postMessage(alice, roomId, "second");
    await marker(bob);
    expect(reasonsFor(m2.id)).toEqual({ [carol.user.id]: "message" });
    await patchSettings(carol, { roomLevel: "mentions" });
  });

  it("mute for a while and until unmuted silences; an expired mute does not; unread counts stay", async () => {
    const readHead = async (as: Caller) => expect((await as.post(`/rooms/${roomId}/read`, { seq: (await roomOf(as, roomId)).lastSeq })).status).toBe(204);
    await readHead(bob);
    await putRoom(bob, roomId, { muted: true, mutedUntil: inMinutes(60) });
    const m1 = await postMessage(alice, roomId, `@${bob.user.username} muted for an hour`);
    await putRoom(bob, roomId, { muted: true });
    const m2 = await postMessage(alice, roomId, `@${bob.user.username} muted for good`);
    await marker(carol);
    expect(reasonsFor(m1.id)).toEqual({});
    expect(reasonsFor(m2.id)).toEqual({});
    // The unread and mention counts of a muted room are kept.
    const muted = await roomOf(bob, roomId);
    expect(muted.unreadCount).toBe(2);
    expect(muted.mentionCount).toBe(2);
    expect(muted.notifications?.muted).toBe(true);
    // A mute whose end has passed reads as unmuted and notifies again.
    await t.server.store.db.updateTable("room_members").set({ muted_until: new Date(Date.now() - 1000).toISOString() }).where("room_id", "=", roomId).where("user_id", "=", bob.user.id).execute();
    expect((await roomOf(bob, roomId)).notifications).toEqual(DEFAULT_ROOM_NOTIFICATIONS);
    const m3 = await postMessage(alice, roomId, `@${bob.user.username} back`);
    await marker(carol);
    expect(reasonsFor(m3.id)).toEqual({ [bob.user.id]: "mention" });
    await putRoom(bob, roomId, { muted: false });
  });

  it("do not disturb silences direct messages and mentions until its end", async () => {
    await patchSettings(bob, { dndUntil: inMinutes(30) });
    const direct = await postMessage(alice, await dm(alice, bob), "are you there?");
    const mention = await postMessage(alice, roomId, `@${bob.user.username} ping`);
    await marker(carol);
    expect(reasonsFor(direct.id)).toEqual({});
    expect(reasonsFor(mention.id)).toEqual({});
    await patchSettings(bob, { dndUntil: null });
    const after = await postMessage(alice, await dm(alice, bob), "now?");
    await eventually("bob's DM decided", () => recorder.about(after.id).length > 0);
    expect(reasonsFor(after.id)).toEqual({ [bob.user.id]: "direct" });
  });

  it("a direct message: reason direct, titled with the author; the sink is told who has no socket", async () => {
    const sb = await pool.connect(bob);
    const room = await dm(alice, bob);
    const m = await postMessage(alice, room, "just between us");
    const got = await notificationOn(sb, m.id);
    expect(got.notification).toMatchObject({ reason: "direct", title: alice.user.displayName, body: `${alice.user.displayName}: just between us`, tag: `room:${room}` });
    expect(recorder.about(m.id)).toEqual([{ userId: bob.user.id, notification: got.notification, authorName: alice.user.displayName, roomKind: "direct", connected: true }]);
    // erin never opened a socket: decided, not framed, connected false (Web Push's case).
    const erin = await signup(t.baseUrl, "erin");
    const toErin = await postMessage(alice, await dm(alice, erin), "you there?");
    await eventually("erin's DM decided", () => recorder.about(toErin.id).length > 0);
    expect(recorder.about(toErin.id)).toMatchObject([{ userId: erin.user.id, connected: false, roomKind: "direct" }]);
  });

  it("@room notifies every member (the owner's); @here only those connected", async () => {
    // carol: no socket at all (every earlier one closed).
    await pool.closeAll();
    const sb2 = await pool.connect(bob);
    await eventually("carol offline", () => !t.server.services.presence.isConnected(carol.user.id));
    const all = await postMessage(alice, roomId, "@room standup");
    const here = await postMessage(alice, roomId, "@here anyone?");
    expect((await notificationOn(sb2, all.id)).notification.reason).toBe("room");
    expect((await notificationOn(sb2, here.id)).notification.reason).toBe("room");
    await marker(dan);
    expect(reasonsFor(all.id)).toEqual({ [bob.user.id]: "room", [carol.user.id]: "room" });
    expect(reasonsFor(here.id)).toEqual({ [bob.user.id]: "room" });
    // From a plain member they are text: nobody.
    const fromBob = await postMessage(bob, roomId, "@room @here hello");
    await marker(dan);
    expect(reasonsFor(fromBob.id)).toEqual({});
  });

  it("a member who left is notified of nothing more", async () => {
    const room = await createRoom(alice, "public");
    expect((await dan.post(`/rooms/${room}/join`)).status).toBe(200);
    await putRoom(dan, room, { level: "all" });
    const before = await postMessage(alice, room, "while dan is in");
    expect((await dan.post(`/rooms/${room}/leave`)).status).toBe(204);
    const after = await postMessage(alice, room, `after dan left @${dan.user.username}`);
    await marker(carol);
    expect(reasonsFor(before.id)).toEqual({ [dan.user.id]: "message" });
    expect(reasonsFor(after.id)).toEqual({});
  });

  it("a retried send (same clientId) notifies once", async () => {
    const room = await dm(alice, carol);
    const clientId = `retry-${Date.now()}`;
    const first = await alice.post<{ message: Message }>(`/rooms/${room}/messages`, { body: "once", clientId });
    const again = await alice.post<{ message: Message }>(`/rooms/${room}/messages`, { body: "once", clientId });
    expect(again.body.message.id).toBe(first.body.message.id);
    await marker(bob);
    expect(recorder.about(first.body.message.id)).toHaveLength(1);
  });

  it("the frame goes to every socket of the recipient, and only theirs", async () => {
    const [b1, b2, c1] = [await pool.connect(bob), await pool.connect(bob), await pool.connect(carol)];
    const m = await postMessage(alice, roomId, `@${bob.user.username} twice`);
    await notificationOn(b1, m.id);
    await notificationOn(b2, m.id);
    const mc = await marker(carol);
    await notificationOn(c1, mc.id);
    expect(notified(c1, m.id)).toBe(false);
    const frames = (s: SocketClient) => s.frames.filter((f: ServerFrame) => f.type === "notification" && f.notification.messageId === m.id);
    expect(frames(b1)).toHaveLength(1);
    expect(frames(b2)).toHaveLength(1);
  });
});

describe("notification changes per minute", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ notificationChangesPerMinute: 3 });
  });
  afterAll(() => t.destroy());

  it("PATCH settings and PUT a room's share one budget; past it 429 with Retry-After, nothing changed", async () => {
    const ada = await signup(t.baseUrl, "ada");
    const room = await createRoom(ada, "public");
    expect((await ada.request("PATCH", "/notifications/settings", { roomLevel: "all" })).status).toBe(200);
    expect((await ada.request("PUT", `/rooms/${room}/notifications`, { level: "all" })).status).toBe(200);
    expect((await ada.request("PATCH", "/notifications/settings", { roomLevel: "nothing" })).status).toBe(200);
    const refused = await ada.request<ErrorBody>("PUT", `/rooms/${room}/notifications`, { level: "nothing" });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const refused2 = await ada.request<ErrorBody>("PATCH", "/notifications/settings", { roomLevel: "mentions" });
    expect(refused2.status).toBe(429);
    expect((await ada.get<NotificationSettingsResponse>("/notifications/settings")).body.settings.roomLevel).toBe("nothing");
    const rooms = (await ada.get<{ rooms: Room[] }>("/rooms")).body.rooms;
    expect(rooms.find((r) => r.id === room)?.notifications?.level).toBe("all");
    // Reads are not counted.
    expect((await ada.get("/notifications/settings")).status).toBe(200);
  });
});
