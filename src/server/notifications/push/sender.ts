import { createHash } from "node:crypto";
import https from "node:https";
import type { ClientRequest, ClientRequestArgs } from "node:http";
import type { Duplex } from "node:stream";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import pLimit, { type LimitFunction } from "p-limit";
import webpush, { WebPushError } from "web-push";
import { TEST_NOTIFICATION_TAG, type PushPayload } from "@shared/protocol/notifications.js";
import type { Config } from "../../config.js";
import type { Database } from "../../store/schema.js";
import { nowIso } from "../../store/ids.js";
import type { DecidedNotification, NotificationSink } from "../sinks.js";
import type { TestPushes } from "./subscriptions.js";
import type { VapidKeys } from "./vapid.js";
import { PRIVATE_ADDRESS, guardedLookup, literalAllowed } from "./guard.js";

/**
 * Web Push sending (issue 19, item 3): the notification decider's sink for
 * users with no socket open on any node. Everything here runs after the
 * message's commit and after its ack: `accept` only queues.
 *
 * - **Who**: the batch's users with no socket open, and of them those with
 *   a subscription (one query per batch).
 * - **Collapse**, per (user, conversation), over `pushCollapseMs`: the
 *   first message is pushed at once and opens a window; the messages that
 *   arrive within it are pushed as ONE push at its end ("3 new messages",
 *   `count` 3, the latest message's seq and url, the same `tag`), which
 *   opens the next window. So a conversation pushes at most once per window.
 * - **Queue**: at most `pushQueueMax` pushes wait (each for all of one
 *   user's devices, or one device for a test); past it the oldest is
 *   dropped and a line is logged (at most one a second, with the count).
 *   At most `pushConcurrency` requests are in flight; each is given up
 *   after `pushTimeoutMs` without an answer.
 * - **Request**: web-push's sendNotification (RFC 8291 aes128gcm, the
 *   VAPID JWT of RFC 8292) with `TTL` = `pushTtlSeconds`, `Urgency` high
 *   for direct messages and mentions (normal otherwise), `Topic` a hash of
 *   the room (a push service replaces an undelivered push of the same
 *   conversation), through this node's https.Agent, whose `lookup` is the
 *   SSRF guard (guard.ts).
 * - **Answers**: 2xx → the subscription's `last_push_at`; 404/410 → the
 *   subscription is gone (RFC 8030 §7.3) and its row deleted; anything
 *   else, a timeout, a refused address → one log line naming the kind and
 *   the push service's host (never the endpoint's URL nor keys: the URL
 *   is a capability).
 * - **Previews**: with --push-previews false the body is "New message from
 *   <name>", and no word of the message is in the payload.
 */

/** Trust for the push agent's TLS: the test seam (a test's push service has a self-signed certificate). */
export interface PushTls {
  /** PEM certificate(s) to trust instead of the system's CAs. */
  ca: string | Buffer | (string | Buffer)[];
}

/** Why a push failed, as logged. */
export type PushFailure = "gone" | "rejected" | "rate_limited" | "timeout" | "private_address" | "network";

type PushSinkConfig = Pick<
  Config,
  "pushPreviews" | "pushCollapseMs" | "pushQueueMax" | "pushConcurrency" | "pushTimeoutMs" | "pushTtlSeconds" | "pushAllowPrivateEndpoints"
>;

/** One push waiting: a payload for every device of a user, or for one subscription (a test). */
interface PushJob {
  target: { userId: string } | { subscriptionId: string };
  payload: string;
  urgency: "normal" | "high";
  topic: string;
}

/** A collapse window of one (user, conversation). */
interface Window {
  /** The newest message that arrived within the window (pushed at its end), and how many did. */
  latest: DecidedNotification | null;
  count: number;
  timer: NodeJS.Timeout;
}

/** What a push service may answer, bytes (its answer is a status and a short text): past it the connection is cut. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The push agent: keep-alive HTTPS whose every request is bounded in time
 * and bytes whatever the push service does. web-push's `timeout` is an
 * idle timeout and it reads the whole answer into memory, so a hostile
 * endpoint trickling bytes, or sending an endless answer, is cut here: a
 * socket lives at most `timeoutMs` per request (armed when made or reused,
 * disarmed when kept alive) and reads at most MAX_ANSWER_BYTES per request.
 */
class BoundedAgent extends https.Agent {
  private readonly deadlines = new WeakMap<Duplex, { timer: NodeJS.Timeout | null; bytes: number }>();

  constructor(
    options: https.AgentOptions,
    private readonly timeoutMs: number,
  ) {
    super(options);
  }

  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    if (!socket) return socket;
    const state = { timer: null as NodeJS.Timeout | null, bytes: 0 };
    this.deadlines.set(socket, state);
    socket.on("data", (chunk: Buffer) => {
      state.bytes += chunk.length;
      if (state.bytes > MAX_ANSWER_BYTES) socket.destroy(Object.assign(new Error("push service answer too large"), { code: "EPUSHANSWER" }));
    });
    socket.once("close", () => {
      if (state.timer) clearTimeout(state.timer);
    });
    this.arm(socket);
    return socket;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    const state = this.deadlines.get(socket);
    if (state?.timer) clearTimeout(state.timer);
    if (state) state.timer = null;
    return (super.keepSocketAlive as (s: Duplex) => boolean)(socket);
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    this.arm(socket);
    super.reuseSocket(socket, request);
  }

  private arm(socket: Duplex): void {
    const state = this.deadlines.get(socket);
    if (!state) return;
    state.bytes = 0;
    if (state.timer) clearTimeout(state.timer);
    // web-push reports a timeout by this message; we use the same so the log says "timeout".
    state.timer = setTimeout(() => socket.destroy(new Error("Socket timeout")), this.timeoutMs);
    state.timer.unref();
  }
}

/** RFC 8030 §5.4: a Topic is ≤ 32 base64url characters; one per conversation, not revealing its id. */
const topicOf = (roomId: string): string => createHash("sha256").update(roomId).digest("base64url").slice(0, 32);

/** What a notification's push says: the preview, or only its author without previews; a burst's count. */
export function pushPayload(decided: DecidedNotification, count: number, previews: boolean): PushPayload {
  const body = count > 1 ? `${count} new messages` : previews ? decided.notification.body : `New message from ${decided.authorName}`;
  const { count: _ignored, ...notification } = decided.notification;
  return { kind: "message", notification: { ...notification, body, ...(count > 1 ? { count } : {}) } };
}

export class PushSink implements NotificationSink, TestPushes {
  /** Pushes done since start, by outcome (for tests and a glance in a debugger). */
  readonly counts = { sent: 0, failed: 0, removed: 0, dropped: 0 };
  private readonly agent: BoundedAgent;
  private readonly requests: LimitFunction;
  private queue: PushJob[] = [];
  /** Index of the queue's head (shift is O(n); compacted as it grows). */
  private head = 0;
  private readonly windows = new Map<string, Window>();
  private jobsInFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private droppedUnlogged = 0;
  /** The batches' subscription lookups, chained: one at a time, in order. */
  private lookups: Promise<void> = Promise.resolve();
  /** Notifications whose batch waits for (or is in) its lookup. */
  private awaitingLookup = 0;
  private dropLogTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: { config: PushSinkConfig; db: Kysely<Database>; log: Logger; keys: VapidKeys; tls?: PushTls | undefined },
  ) {
    const { config } = deps;
    this.agent = new BoundedAgent(
      {
        keepAlive: true,
        maxSockets: config.pushConcurrency,
        lookup: guardedLookup(config.pushAllowPrivateEndpoints),
        ...(deps.tls ? { ca: deps.tls.ca } : {}),
      },
      config.pushTimeoutMs,
    );
    this.requests = pLimit(config.pushConcurrency);
  }

  /** Pushes waiting to be sent (not in flight). */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Takes a decided batch: users with a socket open get no push (the
   * in-app frame reached them); of the others, ONE query finds those with a
   * subscription (an `@room` in a large room must not cost a query per
   * member), and only theirs are collapsed and queued. Batches are looked
   * up in order, one at a time; behind the one under way, at most
   * pushQueueMax notifications wait for theirs (past it a batch is dropped,
   * logged).
   */
  accept(batch: readonly DecidedNotification[]): void {
    if (this.stopped) return;
    const offline = batch.filter((d) => !d.connected);
    if (offline.length === 0) return;
    // A batch is taken whole when none waits (the dispatcher holds it already); behind others, within the bound.
    if (this.awaitingLookup > 0 && this.awaitingLookup + offline.length > this.deps.config.pushQueueMax) {
      this.counts.dropped += offline.length;
      this.logDrop(offline.length);
      return;
    }
    this.awaitingLookup += offline.length;
    this.lookups = this.lookups.then(async () => {
      try {
        const subscribed = await this.subscribedAmong([...new Set(offline.map((d) => d.userId))]);
        if (this.stopped) return;
        for (const decided of offline) if (subscribed.has(decided.userId)) this.collapse(decided);
      } catch (err) {
        this.deps.log.error({ err, notifications: offline.length }, "push: could not read who is subscribed; this batch is not pushed");
      } finally {
        this.awaitingLookup -= offline.length;
      }
    });
  }

  /** Which of `userIds` have a push subscription: one query per 500 ids. */
  private async subscribedAmong(userIds: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < userIds.length; i += 500) {
      const rows = await this.deps.db
        .selectFrom("push_subscriptions")
        .select("user_id")
        .distinct()
        .where("user_id", "in", userIds.slice(i, i + 500))
        .execute();
      for (const row of rows) found.add(row.user_id);
    }
    return found;
  }

  /** Queues a test notification to one subscription (no collapse). */
  sendTest(subscriptionId: string): void {
    if (this.stopped) return;
    const payload: PushPayload = { kind: "test", title: "Parley", body: "Push notifications work on this device.", tag: TEST_NOTIFICATION_TAG };
    this.enqueue({ target: { subscriptionId }, payload: JSON.stringify(payload), urgency: "normal", topic: TEST_NOTIFICATION_TAG });
  }

  /**
   * Stops: no more pushes are taken; collapse windows and the queue are
   * dropped (one log line with the number); the requests in flight finish
   * (each within pushTimeoutMs). Call before the store closes.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    // A lookup under way ends (and queues nothing: stopped) before the store may close.
    await this.lookups;
    let pending = this.queued;
    for (const window of this.windows.values()) {
      clearTimeout(window.timer);
      if (window.count > 0) pending++;
    }
    this.windows.clear();
    this.queue = [];
    this.head = 0;
    if (this.dropLogTimer) clearTimeout(this.dropLogTimer);
    if (pending > 0) this.deps.log.info({ pending }, `push: stopping; ${pending} pushes not sent`);
    await Promise.all(this.running);
    this.agent.destroy();
  }

  private collapse(decided: DecidedNotification): void {
    const windowMs = this.deps.config.pushCollapseMs;
    const key = `${decided.userId}\n${decided.notification.roomId}`;
    const window = this.windows.get(key);
    if (window) {
      window.latest = decided;
      window.count++;
      return;
    }
    this.enqueueMessage(decided, 1);
    // Windows are bounded like the queue: past it a conversation is pushed without one (never held unboundedly).
    if (windowMs > 0 && this.windows.size < this.deps.config.pushQueueMax) this.openWindow(key, windowMs);
  }

  private openWindow(key: string, windowMs: number): void {
    const timer = setTimeout(() => {
      const ended = this.windows.get(key);
      this.windows.delete(key);
      if (!ended || ended.latest === null || this.stopped) return;
      this.enqueueMessage(ended.latest, ended.count);
      // The burst's push opens the next window: still at most one push per window.
      this.openWindow(key, windowMs);
    }, windowMs);
    // A window never keeps a process alive on its own.
    timer.unref();
    this.windows.set(key, { latest: null, count: 0, timer });
  }

  private enqueueMessage(decided: DecidedNotification, count: number): void {
    const reason = decided.notification.reason;
    this.enqueue({
      target: { userId: decided.userId },
      payload: JSON.stringify(pushPayload(decided, count, this.deps.config.pushPreviews)),
      urgency: reason === "direct" || reason === "mention" ? "high" : "normal",
      topic: topicOf(decided.notification.roomId),
    });
  }

  private enqueue(job: PushJob): void {
    if (this.queued >= this.deps.config.pushQueueMax) {
      this.head++;
      this.counts.dropped++;
      this.logDrop(1);
    }
    this.queue.push(job);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.pump();
  }

  /** One warn line at the first drop, then at most one a second with how many were dropped meanwhile. */
  private logDrop(dropped: number): void {
    this.droppedUnlogged += dropped;
    if (this.dropLogTimer) return;
    const flush = () => {
      const dropped = this.droppedUnlogged;
      this.droppedUnlogged = 0;
      this.deps.log.warn({ dropped, queueMax: this.deps.config.pushQueueMax }, `push queue full (--push-queue-max): dropped ${dropped} pushes`);
    };
    flush();
    this.dropLogTimer = setTimeout(() => {
      this.dropLogTimer = null;
      if (this.droppedUnlogged > 0) flush();
    }, 1000);
    this.dropLogTimer.unref();
  }

  /** Starts waiting jobs while fewer than pushConcurrency are under way. */
  private pump(): void {
    while (!this.stopped && this.jobsInFlight < this.deps.config.pushConcurrency && this.queued > 0) {
      const job = this.queue[this.head]!;
      this.head++;
      this.jobsInFlight++;
      const run: Promise<void> = this.run(job)
        .catch((err: unknown) => this.deps.log.error({ err }, "push: a push failed unexpectedly"))
        .finally(() => {
          this.jobsInFlight--;
          this.running.delete(run);
          this.pump();
        });
      this.running.add(run);
    }
    if (this.queued === 0 && this.head > 0) {
      this.queue = [];
      this.head = 0;
    }
  }

  /** One job: its subscriptions read in one query, each pushed (at most pushConcurrency requests at once), successes stamped in one update. */
  private async run(job: PushJob): Promise<void> {
    let query = this.deps.db.selectFrom("push_subscriptions").select(["id", "endpoint", "p256dh", "auth"]);
    query = "userId" in job.target ? query.where("user_id", "=", job.target.userId) : query.where("id", "=", job.target.subscriptionId);
    const subscriptions = await query.execute();
    const delivered: string[] = [];
    await Promise.all(
      subscriptions.map((s) =>
        this.requests(async () => {
          if (await this.deliver(s, job)) delivered.push(s.id);
        }),
      ),
    );
    if (delivered.length > 0) {
      await this.deps.db.updateTable("push_subscriptions").set({ last_push_at: nowIso() }).where("id", "in", delivered).execute();
    }
  }

  /** One request; true when the push service accepted it. Never throws: a failure is logged (and a gone subscription deleted). */
  private async deliver(s: { id: string; endpoint: string; p256dh: string; auth: string }, job: PushJob): Promise<boolean> {
    const { config } = this.deps;
    const url = new URL(s.endpoint);
    if (!literalAllowed(url, config.pushAllowPrivateEndpoints)) {
      this.failed("private_address", url.host);
      return false;
    }
    try {
      await webpush.sendNotification({ endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } }, job.payload, {
        vapidDetails: this.deps.keys.details(),
        TTL: config.pushTtlSeconds,
        urgency: job.urgency,
        topic: job.topic,
        timeout: config.pushTimeoutMs,
        agent: this.agent,
      });
      this.counts.sent++;
      return true;
    } catch (err) {
      if (err instanceof WebPushError) {
        if (err.statusCode === 404 || err.statusCode === 410) {
          // The browser unsubscribed or the subscription expired: it will never accept a push again.
          await this.deps.db.deleteFrom("push_subscriptions").where("id", "=", s.id).execute();
          this.counts.removed++;
          this.failed("gone", url.host, { status: err.statusCode });
        } else this.failed(err.statusCode === 429 ? "rate_limited" : "rejected", url.host, { status: err.statusCode });
      } else {
        const code = (err as NodeJS.ErrnoException).code;
        const kind: PushFailure = code === PRIVATE_ADDRESS ? "private_address" : (err as Error).message === "Socket timeout" ? "timeout" : "network";
        this.failed(kind, url.host, code ? { code } : {});
      }
      return false;
    }
  }

  private failed(kind: PushFailure, service: string, more: { status?: number; code?: string } = {}): void {
    this.counts.failed++;
    const line = { kind, service, ...more };
    if (kind === "gone") this.deps.log.info(line, "push: subscription gone (404/410), removed");
    else this.deps.log.warn(line, `push failed: ${kind}`);
  }
}
