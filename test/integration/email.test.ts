import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, postMessage, signup, unique, type Caller } from "../support/client.js";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp-server.js";
import type { Message, Room } from "@shared/protocol/entities.js";
import { MUTED_FOREVER, type NotificationReason } from "@shared/protocol/notifications.js";
import type { DecidedNotification } from "@server/notifications/sinks.js";
import type { ParsedMail } from "mailparser";

/**
 * Email digests (issue 19, item 4) against a real SMTP server started by
 * the test (smtp-server), every mail parsed with mailparser. The "end to
 * end" cases send real messages and the notification dispatcher hands the
 * sink what it decided; the others hand the sink their own decisions
 * (`EmailSink.accept`, as the dispatcher does: after the message's commit,
 * one DecidedNotification per user), to set up what the dispatcher never
 * would (a notification decided before a leave or a mute).
 *
 * No test depends on speed: the delay is short (1 s), every wait is a
 * bounded poll for something observable (a mail arrived, the queue
 * emptied), and "no mail" is asserted once the job has dropped the items.
 */

const DELAY_MS = 1000;
const PUBLIC_URL = "http://chat.example.test";

/** Polls `check` every 50 ms until it holds; fails after `ms`. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms: ${what}`);
}

/** What the dispatcher hands the sinks for `userId` about `message`. */
function decided(userId: string, message: Message, reason: NotificationReason, roomKind: DecidedNotification["roomKind"] = "direct"): DecidedNotification {
  return {
    userId,
    authorName: message.author.displayName,
    roomKind,
    connected: false,
    notification: {
      roomId: message.roomId,
      messageId: message.id,
      seq: message.seq,
      reason,
      title: message.author.displayName,
      body: `${message.author.displayName}: ${message.body}`.slice(0, 200),
      tag: `room:${message.roomId}`,
      url: `/#/rooms/${encodeURIComponent(message.roomId)}/${message.seq}`,
      createdAt: message.createdAt,
    },
  };
}

describe("email digests", () => {
  let smtp: TestSmtpServer;
  let t: TestServer;
  let alice: Caller;

  const emailOf = (c: Caller) => c.user.email.toLowerCase();
  const queued = async (userId: string) => (await t.server.store.db.selectFrom("email_notifications").select("message_id").where("user_id", "=", userId).execute()).length;
  const accept = async (...batch: DecidedNotification[]) => {
    t.server.services.emailSink.accept(batch);
    await t.server.services.emailSink.drain();
  };
  const direct = async (from: Caller, to: Caller): Promise<string> => {
    const res = await from.post<{ room: Room }>("/direct", { userId: to.user.id });
    expect(res.status).toBe(200);
    return res.body.room.id;
  };
  const mailTo = async (c: Caller, n = 1) => {
    await eventually(`${n} digest(s) to ${c.user.username}`, () => smtp.mailsTo(emailOf(c)).length >= n);
    return smtp.mailsTo(emailOf(c))[n - 1]!;
  };
  /** Waits until the job has handled (mailed or dropped) everything queued for `c`. */
  const handled = (c: Caller) => eventually(`the queue of ${c.user.username} to empty`, async () => (await queued(c.user.id)) === 0);
  const setEmail = (userId: string, on: boolean) =>
    t.server.store.db
      .insertInto("notification_settings")
      .values({ user_id: userId, room_level: "mentions", direct_level: "all", dnd_until: null, email: on ? 1 : 0, email_sent_at: null, updated_at: new Date().toISOString() })
      .onConflict((oc) => oc.column("user_id").doUpdateSet({ email: on ? 1 : 0 }))
      .execute();
  /** A header as it was sent (mailparser turns List-* headers into a structure of its own). */
  const rawHeader = (mail: Pick<ParsedMail, "headerLines">, name: string): string | undefined =>
    mail.headerLines.find((h) => h.key === name)?.line.slice(name.length + 1).trim();
  const unsubscribeUrlOf = (mail: Pick<ParsedMail, "headerLines">): string => {
    const header = String(rawHeader(mail, "list-unsubscribe"));
    const m = /^<(.+)>$/.exec(header);
    if (!m) throw new Error(`no List-Unsubscribe URI: ${header}`);
    return m[1]!;
  };
  /**
   * Holds `c`'s digests as a pass under way does (its lease in email_sent_at), so that no pass mails
   * what the dispatcher queues while the test sets up, however slow it is; `release` lets them go.
   */
  const hold = (c: Caller) =>
    t.server.store.db
      .insertInto("notification_settings")
      .values({ user_id: c.user.id, room_level: "mentions", direct_level: "all", dnd_until: null, email: 1, email_sent_at: new Date(Date.now() + 3_600_000).toISOString(), updated_at: new Date().toISOString() })
      .execute();
  const release = (c: Caller) => t.server.store.db.updateTable("notification_settings").set({ email_sent_at: null }).where("user_id", "=", c.user.id).execute();
  /** The test server's address for a link of a mail (the links name the public URL). */
  const local = (url: string) => url.replace(PUBLIC_URL, t.baseUrl);

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestServer({ smtpUrl: smtp.url, emailDigestDelayMs: DELAY_MS, publicUrl: PUBLIC_URL });
    alice = await signup(t.baseUrl, "alice");
  });
  afterAll(async () => {
    await t?.destroy();
    await smtp?.close();
  });

  it("a direct message still unread after the delay: one digest with a link to it and the one-click unsubscribe headers", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    const sent = await postMessage(alice, roomId, "are you coming to the standup?");
    await accept(decided(bob.user.id, sent, "direct"));
    expect(await queued(bob.user.id)).toBe(1);

    const mail = await mailTo(bob);
    expect(mail.subject).toBe(`New message from ${alice.user.displayName}`);
    const link = `${PUBLIC_URL}/#/rooms/${encodeURIComponent(roomId)}/${sent.seq}`;
    expect(mail.text).toContain("are you coming to the standup?");
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`href="${link}"`);
    expect(rawHeader(mail, "list-unsubscribe")).toMatch(new RegExp(`^<${PUBLIC_URL}/api/v1/notifications/unsubscribe\\?token=[A-Za-z0-9_-]+>$`));
    expect(rawHeader(mail, "list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
    expect(rawHeader(mail, "auto-submitted")).toBe("auto-generated");
    // The token names nobody: neither the user's id nor their address is in it.
    expect(unsubscribeUrlOf(mail)).not.toContain(bob.user.id);
    expect(unsubscribeUrlOf(mail)).not.toContain(encodeURIComponent(emailOf(bob)));
    // Mailed: out of the queue, and the time of the digest kept.
    await handled(bob);
    const settings = await t.server.store.db.selectFrom("notification_settings").select("email_sent_at").where("user_id", "=", bob.user.id).executeTakeFirstOrThrow();
    expect(settings.email_sent_at).not.toBeNull();
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(1);
  });

  it("end to end: a direct message sent and never read is mailed, handed to the sink by the notification dispatcher", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    const sent = await postMessage(alice, roomId, "sent for real, never read");
    const mail = await mailTo(bob);
    expect(mail.text).toContain("sent for real, never read");
    expect(mail.text).toContain(`${PUBLIC_URL}/#/rooms/${encodeURIComponent(roomId)}/${sent.seq}`);
    await handled(bob);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(1);
  });

  it("end to end: a mention in a room is mailed, the room's other messages are not (default level: mentions)", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = (await alice.post<{ room: Room }>("/rooms", { name: `e2e ${unique()}`, kind: "public" })).body.room.id;
    expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
    await postMessage(alice, roomId, "chatter nobody is told about");
    await postMessage(alice, roomId, `@${bob.user.username} can you review this?`);
    const mail = await mailTo(bob);
    expect(mail.text).toContain("can you review this?");
    expect(mail.text).not.toContain("chatter nobody is told about");
  });

  it("end to end: read before the digest goes, nothing is mailed", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    await hold(bob);
    const sent = await postMessage(alice, roomId, "seen in time");
    await t.server.services.notifications.drain();
    await t.server.services.emailSink.drain();
    expect(await queued(bob.user.id)).toBe(1);
    expect((await bob.post(`/rooms/${roomId}/read`, { seq: sent.seq })).status).toBe(204);
    await release(bob);
    await handled(bob);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(0);
  });

  it("two direct messages and a mention in the same window make ONE digest, grouped by conversation", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const cleo = await signup(t.baseUrl, "cleo");
    const dm = await direct(alice, bob);
    const room = await alice.post<{ room: Room }>("/rooms", { name: `plans ${unique()}`, kind: "public" });
    const roomId = room.body.room.id;
    expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
    expect((await cleo.post(`/rooms/${roomId}/join`)).status).toBe(200);
    await hold(bob);
    const one = await postMessage(alice, dm, "first direct");
    const two = await postMessage(alice, dm, "second direct");
    const mention = await postMessage(cleo, roomId, `@${bob.user.username} look at the plan`);
    await accept(decided(bob.user.id, one, "direct"), decided(bob.user.id, two, "direct"), decided(bob.user.id, mention, "mention", "public"));
    await release(bob);

    const mail = await mailTo(bob);
    expect(mail.subject).toBe("3 unread messages on Parley");
    for (const text of ["first direct", "second direct", "look at the plan", `#${room.body.room.name}`]) expect(mail.text).toContain(text);
    expect(mail.text!.indexOf("first direct")).toBeLessThan(mail.text!.indexOf("second direct"));
    await handled(bob);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(1);
  });

  it("at most one digest per delay: what arrives after a digest waits for the delay since it", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    await accept(decided(bob.user.id, await postMessage(alice, roomId, "one"), "direct"));
    await mailTo(bob, 1);
    await handled(bob);
    const { email_sent_at: sentAt } = await t.server.store.db.selectFrom("notification_settings").select("email_sent_at").where("user_id", "=", bob.user.id).executeTakeFirstOrThrow();
    await accept(decided(bob.user.id, await postMessage(alice, roomId, "two"), "direct"));
    const second = await mailTo(bob, 2);
    expect(second.text).toContain("two");
    expect(second.text).not.toContain(": one");
    // Not before the delay since the first (a lower bound: slowness cannot fail it).
    expect(smtp.mailsTo(emailOf(bob))[1]!.receivedAt).toBeGreaterThanOrEqual(Date.parse(sentAt!) + DELAY_MS);
  });

  it("a user with email off gets nothing queued, and nothing mailed", async () => {
    const bob = await signup(t.baseUrl, "bob");
    await setEmail(bob.user.id, false);
    const roomId = await direct(alice, bob);
    await accept(decided(bob.user.id, await postMessage(alice, roomId, "you will not see this by mail"), "direct"));
    expect(await queued(bob.user.id)).toBe(0);
  });

  it("email turned off after a message was queued: the queued items go without a mail", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    // Held by do not disturb meanwhile, so the job cannot mail it before email is turned off.
    await t.server.store.db
      .insertInto("notification_settings")
      .values({ user_id: bob.user.id, room_level: "mentions", direct_level: "all", dnd_until: new Date(Date.now() + 3_600_000).toISOString(), email: 1, email_sent_at: null, updated_at: new Date().toISOString() })
      .execute();
    await accept(decided(bob.user.id, await postMessage(alice, roomId, "queued, then off"), "direct"));
    expect(await queued(bob.user.id)).toBe(1);
    await setEmail(bob.user.id, false);
    await handled(bob);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(0);
  });

  it("do not disturb holds the digest until it ends", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    await t.server.store.db
      .insertInto("notification_settings")
      .values({ user_id: bob.user.id, room_level: "mentions", direct_level: "all", dnd_until: new Date(Date.now() + 3_600_000).toISOString(), email: 1, email_sent_at: null, updated_at: new Date().toISOString() })
      .execute();
    await accept(decided(bob.user.id, await postMessage(alice, roomId, "held while you were away"), "direct"));
    // A pass well after the delay: nothing for bob while do not disturb lasts.
    await t.server.services.emailDigests.tick(Date.now() + 2 * DELAY_MS);
    expect(await queued(bob.user.id)).toBe(1);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(0);
    await t.server.store.db.updateTable("notification_settings").set({ dnd_until: null }).where("user_id", "=", bob.user.id).execute();
    expect((await mailTo(bob)).text).toContain("held while you were away");
  });

  it("only direct messages and mentions (@room/@here too) are mailed, never a room's every message", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = (await alice.post<{ room: Room }>("/rooms", { name: `all ${unique()}`, kind: "public" })).body.room.id;
    expect((await bob.post(`/rooms/${roomId}/join`)).status).toBe(200);
    const plain = await postMessage(alice, roomId, "a message to the room");
    const everyone = await postMessage(alice, roomId, "@room standup in 5");
    await accept(decided(bob.user.id, plain, "message", "public"), decided(bob.user.id, everyone, "room", "public"));
    const mail = await mailTo(bob);
    expect(mail.text).toContain("@room standup in 5");
    expect(mail.text).not.toContain("a message to the room");
  });

  it("a room muted or left since the message was queued: no mail", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const cleo = await signup(t.baseUrl, "cleo");
    const muted = (await alice.post<{ room: Room }>("/rooms", { name: `muted ${unique()}`, kind: "public" })).body.room.id;
    const left = (await alice.post<{ room: Room }>("/rooms", { name: `left ${unique()}`, kind: "public" })).body.room.id;
    for (const c of [bob, cleo]) for (const r of [muted, left]) expect((await c.post(`/rooms/${r}/join`)).status).toBe(200);
    // The mute as the room settings store it (PUT /rooms/:roomId/notifications writes the same column).
    await t.server.store.db.updateTable("room_members").set({ muted_until: MUTED_FOREVER }).where("room_id", "=", muted).where("user_id", "=", bob.user.id).execute();
    expect((await bob.post(`/rooms/${left}/leave`)).status).toBe(204);
    const a = await postMessage(cleo, muted, `@${bob.user.username} in a muted room`);
    // A notification decided before bob left, handed over after it.
    const b = await postMessage(cleo, left, `hello @${bob.user.username}`);
    await accept(decided(bob.user.id, a, "mention", "public"), decided(bob.user.id, b, "mention", "public"));
    await handled(bob);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(0);
  });

  it("a message deleted before the digest goes is not mailed", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    await hold(bob);
    const sent = await postMessage(alice, roomId, "oops, wrong person");
    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${sent.id}`)).status).toBe(200);
    await accept(decided(bob.user.id, sent, "direct"));
    await release(bob);
    await handled(bob);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(0);
  });

  it("everything a user typed is escaped in the HTML body", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    const sent = await postMessage(alice, roomId, `<script>alert("x")</script> & <b>bold</b> <a href="https://evil.example">click</a>`);
    await accept(decided(bob.user.id, sent, "direct"));
    const mail = await mailTo(bob);
    const html = String(mail.html);
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<b>bold");
    expect(html).not.toContain('href="https://evil.example"');
    expect(html).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;b&#62;bold&#60;/b&#62;");
    // The text body carries the text as typed.
    expect(mail.text).toContain(`<script>alert("x")</script>`);
  });

  it("one-click: the link's GET shows a button and changes nothing; its POST turns email off; nothing is mailed after", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    await accept(decided(bob.user.id, await postMessage(alice, roomId, "with an unsubscribe link"), "direct"));
    const url = local(unsubscribeUrlOf(await mailTo(bob)));
    await handled(bob);

    // A mail scanner (or a person) opening the link: a page, nothing changed.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await page.text();
    expect(html).toMatch(/<form method="post" action="\/api\/v1\/notifications\/unsubscribe\?token=[A-Za-z0-9_-]+">/);
    const emailSetting = async () => (await t.server.store.db.selectFrom("notification_settings").select("email").where("user_id", "=", bob.user.id).executeTakeFirst())?.email;
    expect(await emailSetting()).toBe(1);

    // The mail provider's one-click POST (RFC 8058), with no cookie and no CSRF token.
    const socket = await SocketClient.connect(t.wsUrl, bob);
    const post = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
    expect(post.status).toBe(200);
    expect(await emailSetting()).toBe(0);
    // bob's open tabs hear it, as they would a change in the settings screen.
    const updated = await socket.waitFor((f) => f.type === "notifications.updated");
    expect(updated).toMatchObject({ type: "notifications.updated", settings: { email: false } });
    await socket.close();
    // Again: the same answer (a mail provider may retry).
    expect((await fetch(url, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n' })).status).toBe(200);

    await accept(decided(bob.user.id, await postMessage(alice, roomId, "after the unsubscribe"), "direct"));
    expect(await queued(bob.user.id)).toBe(0);
    expect(smtp.mailsTo(emailOf(bob))).toHaveLength(1);
  });

  it("a forged, altered or malformed token is refused, telling nothing about who exists", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const token = (await t.server.services.unsubscribe.tokenFor(bob.user.id));
    const altered = `${token.slice(0, 20)}${token[20] === "A" ? "B" : "A"}${token.slice(21)}`;
    const forged = Buffer.from(`${"x".repeat(12)}${bob.user.id}${"y".repeat(16)}`).toString("base64url");
    const ofNobody = await t.server.services.unsubscribe.tokenFor(`nobody-${unique()}`);
    const answers = new Set<string>();
    for (const bad of [altered, forged, ofNobody]) {
      for (const method of ["GET", "POST"]) {
        const res = await fetch(`${t.baseUrl}/api/v1/notifications/unsubscribe?token=${bad}`, { method });
        expect(res.status, `${method} ${bad}`).toBe(404);
        answers.add(await res.text());
      }
    }
    // A token of nobody and a forged one: the same answer.
    expect(answers.size).toBe(1);
    const malformed = await fetch(`${t.baseUrl}/api/v1/notifications/unsubscribe?token=not%20a%20token`, { method: "POST" });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    expect((await fetch(`${t.baseUrl}/api/v1/notifications/unsubscribe`, { method: "POST" })).status).toBe(400);
    const row = await t.server.store.db.selectFrom("notification_settings").select("email").where("user_id", "=", bob.user.id).executeTakeFirst();
    expect(row?.email ?? 1).toBe(1);
  });

  it("the SMTP server refusing (451): the digest is retried at a later tick, nothing lost", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    smtp.refuse = true;
    const refusedBefore = smtp.refused;
    try {
      await accept(decided(bob.user.id, await postMessage(alice, roomId, "kept through an outage"), "direct"));
      await eventually("the SMTP server to refuse a digest twice", () => smtp.refused >= refusedBefore + 2);
      expect(await queued(bob.user.id)).toBe(1);
    } finally {
      smtp.refuse = false;
    }
    const mail = await mailTo(bob);
    expect(mail.text).toContain("kept through an outage");
    await handled(bob);
  });

  it("the SMTP server down: the digest waits in the queue and goes once it is back", async () => {
    const bob = await signup(t.baseUrl, "bob");
    const roomId = await direct(alice, bob);
    await smtp.stop();
    try {
      await accept(decided(bob.user.id, await postMessage(alice, roomId, "sent while the mail server was down"), "direct"));
      // Ticks run and fail meanwhile (connection refused); the item stays.
      const tick = await t.server.services.emailDigests.tick(Date.now() + DELAY_MS);
      expect(tick?.sent).toBe(0);
      expect(await queued(bob.user.id)).toBe(1);
    } finally {
      await smtp.start();
    }
    expect((await mailTo(bob)).text).toContain("sent while the mail server was down");
  });
});

describe("email digests without SMTP", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ emailDigestDelayMs: DELAY_MS });
  });
  afterAll(() => t?.destroy());

  it("nothing is queued and the job never runs", async () => {
    const [alice, bob] = await Promise.all([signup(t.baseUrl, "alice"), signup(t.baseUrl, "bob")]);
    const roomId = (await alice.post<{ room: Room }>("/direct", { userId: bob.user.id })).body.room.id;
    const sent = await postMessage(alice, roomId, "no smtp here");
    t.server.services.emailSink.accept([decided(bob.user.id, sent, "direct")]);
    await t.server.services.emailSink.drain();
    expect(await t.server.store.db.selectFrom("email_notifications").selectAll().execute()).toEqual([]);
    expect(await t.server.services.emailDigests.tick()).toBeNull();
  });
});

describe("email digests: --email-queue-max", () => {
  let smtp: TestSmtpServer;
  let t: TestServer;
  const lines: string[] = [];

  beforeAll(async () => {
    smtp = await startSmtpServer();
    // Held by do not disturb below, so nothing is mailed while the test counts the queue.
    t = await startTestServer({ smtpUrl: smtp.url, emailDigestDelayMs: DELAY_MS, emailQueueMax: 2 }, { logger: pino({ level: "warn" }, { write: (line: string) => void lines.push(line) }) });
  });
  afterAll(async () => {
    await t?.destroy();
    await smtp?.close();
  });

  it("past the bound, what one turn hands over is dropped and logged, never held", async () => {
    const alice = await signup(t.baseUrl, "alice");
    const people = await Promise.all([signup(t.baseUrl, "p"), signup(t.baseUrl, "p"), signup(t.baseUrl, "p")]);
    const batch: DecidedNotification[] = [];
    for (const p of people) {
      await t.server.store.db
        .insertInto("notification_settings")
        .values({ user_id: p.user.id, room_level: "mentions", direct_level: "all", dnd_until: new Date(Date.now() + 3_600_000).toISOString(), email: 1, email_sent_at: null, updated_at: new Date().toISOString() })
        .execute();
      const roomId = (await alice.post<{ room: Room }>("/direct", { userId: p.user.id })).body.room.id;
      batch.push(decided(p.user.id, await postMessage(alice, roomId, "hi"), "direct"));
    }
    t.server.services.emailSink.accept(batch);
    await t.server.services.emailSink.drain();
    const rows = await t.server.store.db.selectFrom("email_notifications").select("user_id").execute();
    expect(rows.map((r) => r.user_id).sort()).toEqual([people[0]!.user.id, people[1]!.user.id].sort());
    const full = lines.map((l) => JSON.parse(l) as { msg: string; dropped?: number }).find((l) => l.msg.startsWith("email digest queue full"));
    expect(full?.dropped).toBe(1);
  });
});
