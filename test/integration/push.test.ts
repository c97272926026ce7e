import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpush from "web-push";
import type { ErrorBody } from "@shared/protocol/errors.js";
import {
  PushPayloadSchema,
  PushSubscriptionResponseSchema,
  PushSubscriptionsResponseSchema,
  TEST_NOTIFICATION_TAG,
  type NotificationReason,
  type PushSubscription,
} from "@shared/protocol/notifications.js";
import type { Message } from "@shared/protocol/entities.js";
import type { DecidedNotification } from "@server/notifications/sinks.js";
import { newId, nowIso } from "@server/store/ids.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { Caller, postMessage, signup } from "../support/client.js";
import { eventually } from "../support/cluster.js";
import { startPushService, type PushService, type TestSubscription } from "../support/push-service.js";

/**
 * Issue 19 item 3, Web Push, over real HTTP against a real push service
 * played by the test (test/support/push-service.ts: TLS on 127.0.0.1, the
 * VAPID JWT verified, the aes128gcm body decrypted with the subscription's
 * keys): subscribing, listing, removing, the per-user bound, bad input and
 * the SSRF guard (at subscribe time and at send time); the sender: one
 * push for a user with no socket, none for a connected one, bursts
 * collapsed, previews off, 404/410 removing the subscription, a hanging
 * service timed out, the queue bound, the test button, the limits; VAPID
 * keys kept across a restart, or the configured ones.
 *
 * The sink is tested on its own here: the batches are built from real
 * messages and handed to the node's sink (`services.push.accept`) as the
 * dispatcher does, with every user's levels set to `nothing` so that the
 * dispatcher itself hands it nothing (the test controls every batch:
 * connected or not, the reason, the burst). push-delivery.test.ts goes
 * through the dispatcher end to end.
 */

/** An error answer's status, code and first detail path. */
function expectError(res: { status: number; body: unknown }, status: number, code: string, detailPath?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  const body = res.body as ErrorBody;
  expect(body.error.code).toBe(code);
  if (detailPath !== undefined) expect(body.error.details?.[0]?.path).toBe(detailPath);
}

/** A new user the dispatcher notifies of nothing (levels `nothing`): only the test's own batches reach the sink for them. */
async function quietUser(baseUrl: string, name: string): Promise<Caller> {
  const caller = await signup(baseUrl, name);
  const res = await caller.request("PATCH", "/notifications/settings", { roomLevel: "nothing", directLevel: "nothing" });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return caller;
}

/** Subscribes `caller` with a subscription of `push`; fails unless 201. */
async function subscribe(caller: Caller, sub: TestSubscription, label = "Test device"): Promise<PushSubscription> {
  const res = await caller.post("/push/subscriptions", { ...sub.json, label });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return PushSubscriptionResponseSchema.parse(res.body).subscription;
}

async function listOf(caller: Caller): Promise<PushSubscription[]> {
  const res = await caller.get("/push/subscriptions");
  expect(res.status).toBe(200);
  return PushSubscriptionsResponseSchema.parse(res.body).subscriptions;
}

/** A direct room between two callers (POST /direct). */
async function directRoom(a: Caller, b: Caller): Promise<string> {
  const res = await a.post<{ room: { id: string } }>("/direct", { userId: b.user.id });
  expect(res.status).toBe(200);
  return res.body.room.id;
}

/** What the decider would hand the sinks for `message`, to `to`. */
function decided(message: Message, to: Caller, opts: { connected?: boolean; reason?: NotificationReason; title?: string } = {}): DecidedNotification {
  return {
    userId: to.user.id,
    authorName: message.author.displayName,
    roomKind: opts.reason === "direct" || opts.reason === undefined ? "direct" : "public",
    connected: opts.connected ?? false,
    notification: {
      roomId: message.roomId,
      messageId: message.id,
      seq: message.seq,
      reason: opts.reason ?? "direct",
      title: opts.title ?? message.author.displayName,
      body: `${message.author.displayName}: ${message.body}`.slice(0, 200),
      tag: `room:${message.roomId}`,
      url: `/#/rooms/${encodeURIComponent(message.roomId)}/${message.seq}`,
      createdAt: message.createdAt,
    },
  };
}

describe("push subscriptions and sending", () => {
  let push: PushService;
  let t: TestServer;
  beforeAll(async () => {
    push = await startPushService();
    t = await startTestServer(
      { pushAllowPrivateEndpoints: "true", pushSubscriptionsPerUser: 2, pushCollapseMs: 600, pushTestsPerMinute: 2, pushTtlSeconds: 3600, vapidSubject: "mailto:ops@parley.test" },
      { pushTls: { ca: push.ca } },
    );
  });
  afterAll(async () => {
    await t.destroy();
    await push.close();
  });

  it("requires authentication, and the CSRF token with a cookie", async () => {
    const anonymous = new Caller(t.baseUrl);
    expectError(await anonymous.post("/push/subscriptions", push.subscriptionFor().json), 401, "unauthenticated");
    expectError(await anonymous.get("/push/subscriptions"), 401, "unauthenticated");
    const alice = await quietUser(t.baseUrl, "alice");
    expectError(await alice.post("/push/subscriptions", push.subscriptionFor().json, { csrf: false }), 403, "forbidden");
    expect(await listOf(alice)).toEqual([]);
  });

  it("subscribes, lists (the service's host, never the endpoint), moves an endpoint to whoever subscribes it, and deletes only one's own", async () => {
    const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
    const sub = push.subscriptionFor();
    const created = await subscribe(alice, sub, "Firefox on Linux");
    expect(created).toMatchObject({ label: "Firefox on Linux", service: new URL(push.origin).host, lastPushAt: null });
    expect(JSON.stringify(await listOf(alice))).not.toContain(sub.endpoint);
    expect(await listOf(alice)).toEqual([created]);
    // Without a label: named from the User-Agent.
    const res = await fetch(`${t.baseUrl}/api/v1/push/subscriptions`, {
      method: "POST",
      headers: { cookie: alice.cookie!, "x-csrf-token": alice.csrfToken!, "content-type": "application/json", "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" },
      body: JSON.stringify(push.subscriptionFor().json),
    });
    expect(res.status).toBe(201);
    expect(PushSubscriptionResponseSchema.parse(await res.json()).subscription.label).toBe("Firefox on Linux");
    // The same browser subscribing for bob: the endpoint is now bob's alone.
    const moved = await subscribe(bob, sub, "Shared laptop");
    expect((await listOf(alice)).map((s) => s.id)).not.toContain(moved.id);
    expect((await listOf(bob)).map((s) => s.label)).toEqual(["Shared laptop"]);
    // Another's subscription answers as one that does not exist.
    expectError(await alice.request("DELETE", `/push/subscriptions/${moved.id}`), 404, "not_found");
    expectError(await alice.request("DELETE", `/push/subscriptions/${newId()}`), 404, "not_found");
    expectError(await alice.post(`/push/subscriptions/${moved.id}/test`), 404, "not_found");
    expect(await listOf(bob)).toHaveLength(1);
    expect((await bob.request("DELETE", `/push/subscriptions/${moved.id}`)).status).toBe(204);
    expect(await listOf(bob)).toEqual([]);
  });

  it("refuses a subscription past pushSubscriptionsPerUser with 409 limit_reached, but re-subscribing a known endpoint is fine", async () => {
    const carol = await quietUser(t.baseUrl, "carol");
    const first = push.subscriptionFor();
    await subscribe(carol, first);
    await subscribe(carol, push.subscriptionFor());
    expectError(await carol.post("/push/subscriptions", push.subscriptionFor().json), 409, "limit_reached");
    await subscribe(carol, first, "Renamed");
    expect((await listOf(carol)).map((s) => s.label).sort()).toEqual(["Renamed", "Test device"]);
  });

  it("refuses bad input with validation_failed and the field, storing nothing", async () => {
    const dave = await quietUser(t.baseUrl, "dave");
    const good = push.subscriptionFor().json;
    const cases: [unknown, string][] = [
      [{ ...good, endpoint: good.endpoint.replace("https:", "http:") }, "endpoint"],
      [{ ...good, endpoint: "not a url" }, "endpoint"],
      [{ ...good, endpoint: `https://example.com/${"x".repeat(2100)}` }, "endpoint"],
      [{ endpoint: good.endpoint }, "keys"],
      [{ ...good, keys: { ...good.keys, p256dh: "not base64url!" } }, "keys.p256dh"],
      [{ ...good, keys: { ...good.keys, p256dh: Buffer.alloc(64, 4).toString("base64url") } }, "keys.p256dh"],
      [{ ...good, keys: { ...good.keys, auth: Buffer.alloc(8).toString("base64url") } }, "keys.auth"],
      [{ ...good, label: "" }, "label"],
      [{ ...good, label: "x".repeat(101) }, "label"],
    ];
    for (const [body, path] of cases) expectError(await dave.post("/push/subscriptions", body), 400, "validation_failed", `body.${path}`);
    expectError(await dave.post("/push/subscriptions", undefined, { raw: "{not json" }), 400, "validation_failed");
    expectError(await dave.request("DELETE", `/push/subscriptions/${"x".repeat(65)}`), 400, "validation_failed");
    expect(await listOf(dave)).toEqual([]);
  });

  it("pushes a direct message to a user with no socket: one encrypted push that decrypts to the notification, VAPID-signed with the server's key", async () => {
    const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
    const sub = push.subscriptionFor();
    await subscribe(bob, sub);
    const room = await directRoom(alice, bob);
    const message = await postMessage(alice, room, "are you there?");
    t.server.services.push.accept([decided(message, bob)]);
    const [got] = await push.waitForPushes(1, { subscriptionId: sub.id });
    const payload = PushPayloadSchema.parse(got!.payload);
    expect(payload).toEqual({ kind: "message", notification: decided(message, bob).notification });
    expect(got).toMatchObject({ ttl: 3600, urgency: "high" });
    expect(got!.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(got!.vapid).toMatchObject({ aud: push.origin, sub: "mailto:ops@parley.test", publicKey: t.server.services.pushKeys.publicKey() });
    // The accepted push is stamped on the device.
    await eventually("lastPushAt set", async () => (await listOf(bob))[0]?.lastPushAt !== null);
    expect(push.refused).toEqual([]);
  });

  it("sends nothing to a connected user, and a room message at normal urgency", async () => {
    const [alice, bob, carol] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob"), quietUser(t.baseUrl, "carol")]);
    const [bobSub, carolSub] = [push.subscriptionFor(), push.subscriptionFor()];
    await subscribe(bob, bobSub);
    await subscribe(carol, carolSub);
    const message = await postMessage(alice, await directRoom(alice, bob), "hi");
    t.server.services.push.accept([decided(message, bob, { connected: true }), decided(message, carol, { reason: "message", title: "#general" })]);
    // Carol's push is queued after Bob's would have been: once hers is here, his would be too.
    const [got] = await push.waitForPushes(1, { subscriptionId: carolSub.id });
    expect(got!.urgency).toBe("normal");
    expect(push.received.filter((r) => r.subscriptionId === bobSub.id)).toEqual([]);
  });

  it("collapses a burst in one conversation: the first at once, the rest as one 'N new messages' push with the same tag", async () => {
    const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
    const sub = push.subscriptionFor();
    await subscribe(bob, sub);
    const room = await directRoom(alice, bob);
    const messages = [];
    for (const body of ["one", "two", "three"]) messages.push(await postMessage(alice, room, body));
    t.server.services.push.accept(messages.map((m) => decided(m, bob)));
    const [first, burst] = await push.waitForPushes(2, { subscriptionId: sub.id });
    const a = PushPayloadSchema.parse(first!.payload);
    const b = PushPayloadSchema.parse(burst!.payload);
    if (a.kind !== "message" || b.kind !== "message") throw new Error("not message pushes");
    expect(a.notification).toMatchObject({ seq: messages[0]!.seq, body: `${alice.user.displayName}: one` });
    expect(a.notification.count).toBeUndefined();
    expect(b.notification).toMatchObject({ seq: messages[2]!.seq, count: 2, body: "2 new messages", tag: a.notification.tag });
    // Another conversation is not held by this one's window: it arrives at once, and this one got exactly two.
    const other = push.subscriptionFor();
    await subscribe(alice, other);
    const reply = await postMessage(bob, room, "back");
    t.server.services.push.accept([decided(reply, alice)]);
    await push.waitForPushes(1, { subscriptionId: other.id });
    expect(push.received.filter((r) => r.subscriptionId === sub.id)).toHaveLength(2);
  });

  it("deletes a subscription the push service answers 404 or 410, and keeps one it answers 500", async () => {
    const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
    const room = await directRoom(alice, bob);
    const gone404 = push.subscriptionFor();
    const failing = push.subscriptionFor();
    await subscribe(bob, gone404);
    await subscribe(bob, failing);
    push.respondWith(404, gone404.id);
    push.respondWith(500, failing.id);
    t.server.services.push.accept([decided(await postMessage(alice, room, "404 and 500"), bob)]);
    await push.waitForPushes(1, { subscriptionId: gone404.id });
    await push.waitForPushes(1, { subscriptionId: failing.id });
    await eventually("the 404 subscription removed", async () => (await listOf(bob)).length === 1);
    expect((await listOf(bob))[0]!.lastPushAt).toBeNull();

    const carol = await quietUser(t.baseUrl, "carol");
    const gone410 = push.subscriptionFor();
    await subscribe(carol, gone410);
    push.respondWith(410, gone410.id);
    t.server.services.push.accept([decided(await postMessage(alice, await directRoom(alice, carol), "410"), carol)]);
    await push.waitForPushes(1, { subscriptionId: gone410.id });
    await eventually("the 410 subscription removed", async () => (await listOf(carol)).length === 0);
  });

  it("sends a test notification on request (202), then refuses past pushTestsPerMinute with 429", async () => {
    const erin = await quietUser(t.baseUrl, "erin");
    const sub = push.subscriptionFor();
    const created = await subscribe(erin, sub);
    const res = await erin.post(`/push/subscriptions/${created.id}/test`);
    expect(res.status).toBe(202);
    const [got] = await push.waitForPushes(1, { subscriptionId: sub.id });
    expect(PushPayloadSchema.parse(got!.payload)).toMatchObject({ kind: "test", tag: TEST_NOTIFICATION_TAG });
    await eventually("lastPushAt set", async () => (await listOf(erin))[0]?.lastPushAt !== null);
    expect((await erin.post(`/push/subscriptions/${created.id}/test`)).status).toBe(202);
    const refused = await erin.post(`/push/subscriptions/${created.id}/test`);
    expectError(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("keeps its generated VAPID key pair across a restart", async () => {
    const restartPush = await startPushService();
    const own = await startTestServer({ pushAllowPrivateEndpoints: "true" }, { pushTls: { ca: restartPush.ca } });
    const before = own.server.services.pushKeys.publicKey();
    expect(before).toMatch(/^[A-Za-z0-9_-]{87}$/);
    const again = await own.restart();
    try {
      expect(again.server.services.pushKeys.publicKey()).toBe(before);
      const [alice, bob] = await Promise.all([quietUser(again.baseUrl, "alice"), quietUser(again.baseUrl, "bob")]);
      const sub = restartPush.subscriptionFor();
      await subscribe(bob, sub);
      again.server.services.push.accept([decided(await postMessage(alice, await directRoom(alice, bob), "after restart"), bob)]);
      const [got] = await restartPush.waitForPushes(1);
      expect(got!.vapid.publicKey).toBe(before);
    } finally {
      await again.destroy();
      await restartPush.close();
    }
  });
});

describe("push: the SSRF guard", () => {
  let push: PushService;
  let t: TestServer;
  beforeAll(async () => {
    push = await startPushService();
    // The default: private endpoints refused. The agent trusts the push service, so only the guard stands in the way.
    t = await startTestServer({}, { pushTls: { ca: push.ca } });
  });
  afterAll(async () => {
    await t.destroy();
    await push.close();
  });

  it("refuses endpoints on loopback, private, link-local and unspecified addresses when subscribing, storing nothing", async () => {
    const alice = await quietUser(t.baseUrl, "alice");
    const keys = push.subscriptionFor().json.keys;
    for (const endpoint of [
      push.subscriptionFor().endpoint,
      push.subscriptionFor().endpoint.replace("127.0.0.1", "localhost"),
      "https://[::1]/push/x",
      "https://10.1.2.3/push/x",
      "https://192.168.0.10/push/x",
      "https://169.254.169.254/latest/meta-data",
      "https://[::ffff:127.0.0.1]/push/x",
      "https://0.0.0.0/push/x",
      "https://[fd00::1]/push/x",
      "https://no-such-host.invalid/push/x",
    ]) {
      expectError(await alice.post("/push/subscriptions", { endpoint, keys }), 400, "validation_failed", "body.endpoint");
    }
    expect(await listOf(alice)).toEqual([]);
  });

  it("refuses to send to a stored endpoint that now names a private address (DNS rebinding): the push never leaves", async () => {
    const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
    // As if each had resolved to a public address when subscribed: stored directly.
    const byName = push.subscriptionFor();
    const byLiteral = push.subscriptionFor();
    for (const [sub, endpoint] of [[byName, byName.endpoint.replace("127.0.0.1", "localhost")], [byLiteral, byLiteral.endpoint]] as const) {
      await t.server.store.db
        .insertInto("push_subscriptions")
        .values({ id: newId(), user_id: bob.user.id, endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth, label: "rebound", created_at: nowIso(), last_push_at: null })
        .execute();
    }
    const sink = t.server.services.push;
    const failedBefore = sink.counts.failed;
    sink.accept([decided(await postMessage(alice, await directRoom(alice, bob), "rebinding"), bob)]);
    await eventually("both sends refused", () => sink.counts.failed - failedBefore === 2);
    expect(push.received).toEqual([]);
    expect(push.refused).toEqual([]);
  });
});

describe("push: previews off, a hanging push service, the queue bound and the change limit", () => {
  let push: PushService;
  let t: TestServer;
  beforeAll(async () => {
    push = await startPushService();
    t = await startTestServer(
      { pushAllowPrivateEndpoints: "true", pushPreviews: "false", pushCollapseMs: 0, pushConcurrency: 1, pushQueueMax: 2, pushTimeoutMs: 500, notificationChangesPerMinute: 8 },
      { pushTls: { ca: push.ca } },
    );
  });
  afterAll(async () => {
    await t.destroy();
    await push.close();
  });

  it("without previews says only who wrote: no word of the message anywhere in the payload", async () => {
    const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
    const sub = push.subscriptionFor();
    await subscribe(bob, sub);
    const message = await postMessage(alice, await directRoom(alice, bob), "the secret launch code is tangerine");
    t.server.services.push.accept([decided(message, bob)]);
    const [got] = await push.waitForPushes(1, { subscriptionId: sub.id });
    expect(PushPayloadSchema.parse(got!.payload)).toMatchObject({ kind: "message", notification: { body: `New message from ${alice.user.displayName}` } });
    expect(got!.body).not.toMatch(/secret|launch|tangerine/);
  });

  it("gives up on a push service that never answers, drops the oldest past pushQueueMax, and goes on serving", async () => {
    const alice = await quietUser(t.baseUrl, "alice");
    const users = await Promise.all([0, 1, 2, 3, 4].map((i) => quietUser(t.baseUrl, `u${i}`)));
    const subs = users.map(() => push.subscriptionFor());
    for (const [i, user] of users.entries()) await subscribe(user, subs[i]!);
    const hung = subs[0]!;
    push.respondWith("hang", hung.id);
    const sink = t.server.services.push;
    const before = { ...sink.counts };
    const messages = await Promise.all(users.map(async (u) => postMessage(alice, await directRoom(alice, u), "hello")));
    // One request at a time: the first hangs; of the four behind it two wait (pushQueueMax) and the two oldest are dropped.
    sink.accept([decided(messages[0]!, users[0]!)]);
    await push.waitForPushes(1, { subscriptionId: hung.id });
    sink.accept(messages.slice(1).map((m, i) => decided(m, users[i + 1]!)));
    await eventually("two dropped", () => sink.counts.dropped - before.dropped === 2);
    expect(sink.queued).toBe(2);
    // The HTTP API answers while the push hangs.
    expect((await alice.get("/push/subscriptions")).status).toBe(200);
    // After pushTimeoutMs the hung request is given up on, and the two that waited go out.
    await push.waitForPushes(1, { subscriptionId: subs[3]!.id });
    await push.waitForPushes(1, { subscriptionId: subs[4]!.id });
    expect(sink.counts.failed - before.failed).toBe(1);
    expect(push.received.filter((r) => r.subscriptionId === subs[1]!.id || r.subscriptionId === subs[2]!.id)).toEqual([]);
    await eventually("the hung socket closed by the node", () => push.hanging === 0);
  });

  it("queues pushes only for users with a subscription: a large batch of others takes no room in the queue", async () => {
    const alice = await quietUser(t.baseUrl, "alice");
    const [hung, first, last] = await Promise.all([quietUser(t.baseUrl, "hung"), quietUser(t.baseUrl, "first"), quietUser(t.baseUrl, "last")]);
    const [hungSub, firstSub, lastSub] = [push.subscriptionFor(), push.subscriptionFor(), push.subscriptionFor()];
    await subscribe(hung, hungSub);
    await subscribe(first, firstSub);
    await subscribe(last, lastSub);
    push.respondWith("hang", hungSub.id);
    const sink = t.server.services.push;
    const before = { ...sink.counts };
    const message = await postMessage(alice, await directRoom(alice, hung), "hello");
    // The one request slot is taken by a push that hangs until pushTimeoutMs.
    sink.accept([decided(message, hung)]);
    await push.waitForPushes(1, { subscriptionId: hungSub.id });
    // 50 users without a subscription between two with one: had each been queued, the first would be pushed out (pushQueueMax 2).
    const nobody = Array.from({ length: 50 }, (_, i) => ({ ...decided(message, first), userId: `no-subscription-${i}` }));
    sink.accept([decided(message, first), ...nobody, decided(message, last)]);
    await push.waitForPushes(1, { subscriptionId: firstSub.id });
    await push.waitForPushes(1, { subscriptionId: lastSub.id });
    expect(sink.counts.dropped - before.dropped).toBe(0);
  });

  it("cuts a push service that floods its answer or trickles it forever, and goes on pushing", async () => {
    const alice = await quietUser(t.baseUrl, "alice");
    const users = await Promise.all(["flood", "trickle", "fine"].map((n) => quietUser(t.baseUrl, n)));
    const subs = users.map(() => push.subscriptionFor());
    for (const [i, user] of users.entries()) await subscribe(user, subs[i]!);
    push.respondWith("flood", subs[0]!.id);
    push.respondWith("trickle", subs[1]!.id);
    const sink = t.server.services.push;
    const before = { ...sink.counts };
    for (const [i, user] of users.entries()) {
      sink.accept([decided(await postMessage(alice, await directRoom(alice, user), "hello"), user)]);
      // One at a time (pushConcurrency 1): each is received before the next is queued, so pushQueueMax drops none.
      await push.waitForPushes(1, { subscriptionId: subs[i]!.id });
    }
    await eventually("flood and trickle given up on, the third sent", () => sink.counts.failed - before.failed === 2 && sink.counts.sent - before.sent === 1);
    await eventually("their sockets closed by the node", () => push.hanging === 0);
  });

  it("refuses subscription changes past notificationChangesPerMinute with 429", async () => {
    const frank = await signup(t.baseUrl, "frank");
    let last = await frank.post("/push/subscriptions", push.subscriptionFor().json);
    for (let i = 0; i < 20 && last.status !== 429; i++) last = await frank.post("/push/subscriptions", push.subscriptionFor().json);
    expectError(last, 429, "rate_limited");
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await listOf(frank)).length).toBe(8);
  });
});

describe("push: configured VAPID keys", () => {
  it("signs with the configured key pair, not a generated one", async () => {
    const keys = webpush.generateVAPIDKeys();
    const push = await startPushService();
    const t = await startTestServer({ pushAllowPrivateEndpoints: "true", vapidPublicKey: keys.publicKey, vapidPrivateKey: keys.privateKey }, { pushTls: { ca: push.ca } });
    try {
      expect(t.server.services.pushKeys.publicKey()).toBe(keys.publicKey);
      const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
      const sub = push.subscriptionFor();
      await subscribe(bob, sub);
      t.server.services.push.accept([decided(await postMessage(alice, await directRoom(alice, bob), "hi"), bob)]);
      const [got] = await push.waitForPushes(1);
      expect(got!.vapid.publicKey).toBe(keys.publicKey);
      // Nothing generated was stored: the configured pair is the operator's to keep.
      const stored = await t.server.store.db.selectFrom("installation_secrets").select("name").where("name", "=", "vapid").execute();
      expect(stored).toEqual([]);
    } finally {
      await t.destroy();
      await push.close();
    }
  });
});

describe("push: what the log says", () => {
  it("one line per failure naming its kind and the push service's host, never the endpoint's URL or keys", async () => {
    let text = "";
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const push = await startPushService();
    const t = await startTestServer({ pushAllowPrivateEndpoints: "true", pushCollapseMs: 0 }, { logger: pino({ level: "info" }, stream), pushTls: { ca: push.ca } });
    try {
      const [alice, bob] = await Promise.all([quietUser(t.baseUrl, "alice"), quietUser(t.baseUrl, "bob")]);
      const [gone, failing] = [push.subscriptionFor(), push.subscriptionFor()];
      await subscribe(bob, gone);
      await subscribe(bob, failing);
      push.respondWith(410, gone.id);
      push.respondWith(500, failing.id);
      t.server.services.push.accept([decided(await postMessage(alice, await directRoom(alice, bob), "log me"), bob)]);
      const lines = () => text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { kind?: string; service?: string; status?: number; msg: string });
      await eventually("both failures logged", () => lines().filter((l) => l.kind !== undefined).length === 2);
      const failures = lines().filter((l) => l.kind !== undefined);
      expect(failures.map((l) => [l.kind, l.status, l.service]).sort()).toEqual([
        ["gone", 410, new URL(push.origin).host],
        ["rejected", 500, new URL(push.origin).host],
      ]);
      for (const secret of [gone.id, failing.id, gone.keys.p256dh, gone.keys.auth, failing.keys.auth, "log me"]) expect(text).not.toContain(secret);
    } finally {
      await t.destroy();
      await push.close();
    }
  });
});
