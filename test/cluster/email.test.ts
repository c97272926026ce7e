import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { postMessage, signup, type Caller } from "../support/client.js";
import { eventually, installation, startNode, type Installation } from "../support/cluster.js";
import { startSmtpServer, type TestSmtpServer } from "../support/smtp-server.js";
import type { Message, Room } from "@shared/protocol/entities.js";
import type { DecidedNotification } from "@server/notifications/sinks.js";

/**
 * Email digests on many nodes (issue 19): the queue is in the shared
 * database, and only the cluster's leader mails, so a missed message is
 * mailed once however many nodes there are. And even two nodes that both
 * mail (each alone for a beat, before they hear each other) never send a
 * user two digests: each claims the user's digest with a guarded update.
 */

const DELAY_MS = 1000;

function decided(userId: string, message: Message): DecidedNotification {
  return {
    userId,
    authorName: message.author.displayName,
    roomKind: "direct",
    connected: false,
    notification: {
      roomId: message.roomId,
      messageId: message.id,
      seq: message.seq,
      reason: "direct",
      title: message.author.displayName,
      body: `${message.author.displayName}: ${message.body}`,
      tag: `room:${message.roomId}`,
      url: `/#/rooms/${encodeURIComponent(message.roomId)}/${message.seq}`,
      createdAt: message.createdAt,
    },
  };
}

async function directMessage(from: Caller, to: Caller, body: string): Promise<Message> {
  const res = await from.post<{ room: Room }>("/direct", { userId: to.user.id });
  expect(res.status).toBe(200);
  return postMessage(from, res.body.room.id, body);
}

describe("email digests on two nodes", () => {
  let inst: Installation;
  let smtp: TestSmtpServer;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    inst = await installation();
    smtp = await startSmtpServer();
    const email = { smtpUrl: smtp.url, emailDigestDelayMs: DELAY_MS };
    [a, b] = [await startNode(inst, email), await startNode(inst, email)];
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    await inst?.drop();
    await smtp?.close();
  });

  it("only the leader mails: one digest, whichever node queued it", async () => {
    // Once the nodes have heard each other, exactly one of them runs the job (the other's tick does nothing).
    await eventually("one leader among the two nodes", async () => {
      const ticks = await Promise.all([a.server.services.emailDigests.tick(), b.server.services.emailDigests.tick()]);
      return ticks.filter((t) => t === null).length === 1;
    });
    const [alice, bob] = await Promise.all([signup(a.baseUrl, "alice"), signup(a.baseUrl, "bob")]);
    const sent = await directMessage(alice, bob, "through node A");
    // Both nodes' sinks are handed it (as if each had decided it): the queue keeps it once.
    for (const node of [a, b]) {
      node.server.services.emailSink.accept([decided(bob.user.id, sent)]);
      await node.server.services.emailSink.drain();
    }
    await eventually("the digest", () => smtp.mailsTo(bob.user.email).length === 1);
    await eventually("the queue to empty", async () => (await a.server.store.db.selectFrom("email_notifications").select("user_id").where("user_id", "=", bob.user.id).execute()).length === 0);
    expect(smtp.mailsTo(bob.user.email)).toHaveLength(1);
  });
});

describe("email digests: two nodes that both mail", () => {
  let inst: Installation;
  let smtp: TestSmtpServer;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    inst = await installation();
    smtp = await startSmtpServer();
    // No Redis: two lone nodes on one database, each its own leader (what two nodes are until they hear each other).
    const settings = { databaseUrl: inst.databaseUrl, smtpUrl: smtp.url, emailDigestDelayMs: DELAY_MS };
    [a, b] = [await startTestServer(settings), await startTestServer(settings)];
  });
  afterAll(async () => {
    await a?.destroy();
    await b?.destroy();
    await inst?.drop();
    await smtp?.close();
  });

  it("never send one user two digests for the same window", async () => {
    const alice = await signup(a.baseUrl, "alice");
    const people = await Promise.all(Array.from({ length: 8 }, (_, i) => signup(a.baseUrl, `p${i}`)));
    const batch: DecidedNotification[] = [];
    for (const p of people) batch.push(decided(p.user.id, await directMessage(alice, p, `hello ${p.user.username}`)));
    // What the dispatcher hands the sink itself first (else a hand-over after the pass below would queue a message again once mailed).
    await a.server.services.notifications.drain();
    a.server.services.emailSink.accept(batch);
    await a.server.services.emailSink.drain();
    // Both nodes' jobs race over the same users (their timers, and these ticks on top).
    const later = Date.now() + DELAY_MS;
    await Promise.all([a.server.services.emailDigests.tick(later), b.server.services.emailDigests.tick(later), a.server.services.emailDigests.tick(later), b.server.services.emailDigests.tick(later)]);
    await eventually("every digest", () => people.every((p) => smtp.mailsTo(p.user.email).length >= 1));
    await eventually("the queue to empty", async () => (await a.server.store.db.selectFrom("email_notifications").select("user_id").execute()).length === 0);
    for (const p of people) expect(smtp.mailsTo(p.user.email), p.user.username).toHaveLength(1);
  });
});
