import type { Deps } from "../../deps.js";
import { PeriodicJob } from "../../periodic.js";
import type { EmailNotificationsTable } from "../../store/schema.js";
import { DEFAULT_NOTIFICATION_SETTINGS } from "@shared/protocol/notifications.js";
import type { DecidedNotification, NotificationSink } from "../sinks.js";
import type { Mailer } from "./mailer.js";
import { previewOf, renderDigest, type DigestEntry } from "./render.js";
import type { EmailUnsubscribe } from "./unsubscribe.js";

/**
 * Email digests of missed direct messages and mentions (issue 19, item 4).
 *
 * Two halves. `EmailSink` is handed the decider's notifications after a
 * message's commit and queues the direct messages and mentions (`@room`
 * and `@here` included) of users who have email on, in
 * `email_notifications`: one multi-row insert per batch, off the send path.
 * `EmailDigests` runs on one node (a node alone, or the cluster's leader)
 * every min(emailDigestDelayMs / 4, 60 s): each user whose oldest queued
 * item is older than the delay, and whose last digest is too, gets ONE mail
 * of what is still unread; items read, deleted, of rooms left or muted (or
 * set to nothing) since are dropped without a mail.
 *
 * Nothing is queued or mailed without --smtp-url.
 */

/** The reasons a digest carries: addressed to the user (a room at level `all` is not). */
const DIGEST_REASONS = new Set(["direct", "mention", "room"]);

/** Rows per INSERT: 6 parameters each, far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_ROWS = 500;

/** Users mailed per tick; the rest are due at the next one (a tick never runs unbounded). */
const USERS_PER_TICK = 50;
/** Items read per user per digest; more stay queued for the next digest. */
const ITEMS_PER_DIGEST = 200;
/** Entries a digest shows; the rest are counted ("…and 12 more"). */
export const DIGEST_MAX_ENTRIES = 50;
/**
 * How long a claimed digest is held from other ticks and nodes while its
 * mail is on the way (ms): longer than one SMTP conversation can last
 * (mailer.ts bounds each step), short enough that a node dying mid-send
 * delays that user's digest by minutes, not forever.
 */
const CLAIM_LEASE_MS = 5 * 60_000;
/** The longest pause between two ticks (ms). */
const MAX_TICK_MS = 60_000;

type QueuedRow = EmailNotificationsTable;

/** The decider's sink for email: queues rows in memory and writes them to `email_notifications` each turn. */
export class EmailSink implements NotificationSink {
  private pending: QueuedRow[] = [];
  private scheduled = false;
  /** The write under way: `drain` waits for it. */
  private writing: Promise<void> | null = null;

  constructor(private readonly deps: Pick<Deps, "config" | "store" | "log">) {}

  /** Queues the batch's direct messages and mentions; returns at once, never throws. */
  accept(batch: readonly DecidedNotification[]): void {
    if (this.deps.config.smtpUrl === null) return;
    let dropped = 0;
    for (const { userId, notification: n } of batch) {
      if (!DIGEST_REASONS.has(n.reason)) continue;
      // --email-queue-max: the queue is written every turn, so it only fills while the database is slow or away.
      if (this.pending.length >= this.deps.config.emailQueueMax) {
        dropped++;
        continue;
      }
      this.pending.push({ user_id: userId, message_id: n.messageId, room_id: n.roomId, seq: n.seq, reason: n.reason, created_at: n.createdAt });
    }
    if (dropped > 0) this.deps.log.warn({ dropped, max: this.deps.config.emailQueueMax }, "email digest queue full: notifications dropped (the database is slow or away)");
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.pending.length === 0) return;
    this.scheduled = true;
    // One write for everything this turn gathered (the dispatcher may hand several batches per turn).
    setImmediate(() => {
      this.scheduled = false;
      this.writing = this.write().finally(() => {
        this.writing = null;
        this.schedule();
      });
    });
  }

  private async write(): Promise<void> {
    const rows = this.pending;
    this.pending = [];
    try {
      const { db } = this.deps.store;
      // Email turned off: one read for the batch's users (no row = the default, on).
      const off = new Set(
        (await db.selectFrom("notification_settings").select("user_id").where("user_id", "in", [...new Set(rows.map((r) => r.user_id))]).where("email", "=", 0).execute()).map((r) => r.user_id),
      );
      const kept = rows.filter((r) => !off.has(r.user_id));
      for (let i = 0; i < kept.length; i += INSERT_ROWS) {
        await db
          .insertInto("email_notifications")
          .values(kept.slice(i, i + INSERT_ROWS))
          // The same message for the same user (a retried hand-over): once.
          .onConflict((oc) => oc.columns(["user_id", "message_id"]).doNothing())
          .execute();
      }
    } catch (err) {
      this.deps.log.error({ err, items: rows.length }, "email digest queue: could not store notifications; they are not mailed");
    }
  }

  /** Resolves once everything accepted so far is written (the node's close, before the store closes; tests). */
  async drain(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      if (this.writing) await this.writing;
      else await this.write();
    }
  }
}

/** What one tick did. */
export interface DigestCounts {
  /** Digests the SMTP server accepted. */
  sent: number;
  /** Digests that failed (left queued for the next tick). */
  failed: number;
  /** Items dropped without a mail: read, deleted, left or muted since. */
  dropped: number;
  /** The first failure's reason (the SMTP server's answer, or the connection's error). */
  error?: string;
}

/** The digest job of a node: `start` after listen, `stop` before the store closes. */
export class EmailDigests {
  private readonly job: PeriodicJob;
  private closing = false;

  constructor(
    private readonly deps: Pick<Deps, "config" | "store" | "log" | "cluster">,
    private readonly mailer: Mailer | null,
    private readonly unsubscribe: EmailUnsubscribe,
  ) {
    this.job = new PeriodicJob(() => this.tick(), this.intervalMs, deps.log, "email digests: tick failed; retried at the next one");
  }

  /** The pause between ticks (ms): a quarter of the delay, so a digest leaves at most a quarter late; at most a minute. */
  get intervalMs(): number {
    return Math.min(Math.ceil(this.deps.config.emailDigestDelayMs / 4), MAX_TICK_MS);
  }

  /** Ticks from now on; does nothing without SMTP. */
  start(): void {
    if (!this.mailer) return;
    const { smtpUrl, emailDigestDelayMs } = this.deps.config;
    // The URL's password (userinfo) never reaches the log.
    this.deps.log.info({ smtp: smtpUrl?.replace(/\/\/[^@/]*@/, "//***@"), delayMs: emailDigestDelayMs }, "email digests on");
    this.job.start();
  }

  /** No further tick starts; resolves once the one under way has ended; closes the SMTP transport. */
  async stop(): Promise<void> {
    this.closing = true;
    await this.job.stop();
    this.mailer?.close();
  }

  /**
   * One pass, now.
   * @param now the clock (epoch ms)
   * @returns what was sent and dropped; null without SMTP or on a node that is not the cluster's leader
   * @throws when the database fails (what is queued stays for the next tick)
   */
  async tick(now = Date.now()): Promise<DigestCounts | null> {
    if (!this.mailer) return null;
    if (this.deps.cluster && !this.deps.cluster.isLeader()) return null;
    const { db } = this.deps.store;
    const nowAt = new Date(now).toISOString();
    const cutoff = new Date(now - this.deps.config.emailDigestDelayMs).toISOString();
    // Email turned off since the items were queued (the settings or an unsubscribe): they never go.
    await db
      .deleteFrom("email_notifications")
      .where("user_id", "in", (eb) => eb.selectFrom("notification_settings").select("user_id").where("email", "=", 0))
      .execute();
    const due = await db
      .selectFrom("email_notifications as e")
      .leftJoin("notification_settings as s", "s.user_id", "e.user_id")
      .select("e.user_id")
      .where((eb) => eb.or([eb("s.email_sent_at", "is", null), eb("s.email_sent_at", "<=", cutoff)]))
      // Do not disturb holds the digest until it ends.
      .where((eb) => eb.or([eb("s.dnd_until", "is", null), eb("s.dnd_until", "<=", nowAt)]))
      .groupBy("e.user_id")
      .having((eb) => eb.fn.min("e.created_at"), "<=", cutoff)
      .orderBy((eb) => eb.fn.min("e.created_at"))
      .limit(USERS_PER_TICK)
      .execute();
    const counts: DigestCounts = { sent: 0, failed: 0, dropped: 0 };
    for (const { user_id } of due) {
      // A node that stops finishes the digest under way, not the list.
      if (this.closing) break;
      await this.digestFor(user_id, now, nowAt, cutoff, counts);
    }
    // One line per pass, not one per user: an SMTP server that is down would otherwise flood the log.
    if (counts.failed > 0) this.deps.log.warn({ failed: counts.failed, sent: counts.sent, err: counts.error }, `email digests: ${counts.failed} not sent; retried at the next pass`);
    if (counts.sent > 0) this.deps.log.info({ sent: counts.sent, dropped: counts.dropped }, `email digests: ${counts.sent} sent`);
    return counts;
  }

  /**
   * Claims the user's digest: `email_sent_at` moves to a lease ahead of
   * now (CLAIM_LEASE_MS), guarded by its old value, so of two nodes that
   * both think they lead for a beat (or two ticks) one claim wins, and no
   * other tick takes the user while the mail is on its way, however slow
   * the SMTP server. Once the server accepted, `settle` writes the digest's
   * time; a failure puts the old value back. A node that dies
   * mid-send leaves the lease, which lapses: the digest is tried again.
   * @returns the lease and the value to restore on failure, or undefined when not claimed
   */
  private async claim(userId: string, now: number, cutoff: string): Promise<{ lease: string; previous: string | null } | undefined> {
    const { db } = this.deps.store;
    const lease = new Date(now + CLAIM_LEASE_MS).toISOString();
    const row = await db.selectFrom("notification_settings").select(["email", "email_sent_at"]).where("user_id", "=", userId).executeTakeFirst();
    if (!row) {
      const at = new Date(now).toISOString();
      const inserted = await db
        .insertInto("notification_settings")
        .values({ user_id: userId, room_level: DEFAULT_NOTIFICATION_SETTINGS.roomLevel, direct_level: DEFAULT_NOTIFICATION_SETTINGS.directLevel, dnd_until: null, email: 1, email_sent_at: lease, updated_at: at })
        .onConflict((oc) => oc.column("user_id").doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1 ? { lease, previous: null } : undefined;
    }
    if (row.email !== 1 || (row.email_sent_at !== null && row.email_sent_at > cutoff)) return undefined;
    const previous = row.email_sent_at;
    const updated = await db
      .updateTable("notification_settings")
      .set({ email_sent_at: lease })
      .where("user_id", "=", userId)
      .where("email", "=", 1)
      .where((eb) => (previous === null ? eb("email_sent_at", "is", null) : eb("email_sent_at", "=", previous)))
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1 ? { lease, previous } : undefined;
  }

  /** The claim ends: `email_sent_at` becomes `value` (the digest's time, or the old value when nothing went out). */
  private async settle(userId: string, lease: string, value: string | null): Promise<void> {
    await this.deps.store.db
      .updateTable("notification_settings")
      .set({ email_sent_at: value })
      .where("user_id", "=", userId)
      .where("email_sent_at", "=", lease)
      .execute();
  }

  private async digestFor(userId: string, now: number, nowAt: string, cutoff: string, counts: DigestCounts): Promise<void> {
    const { db } = this.deps.store;
    const claimed = await this.claim(userId, now, cutoff);
    if (!claimed) return;
    const sentBefore = counts.sent;
    try {
      const items = await db
        .selectFrom("email_notifications as e")
        .leftJoin("messages as m", "m.id", "e.message_id")
        .leftJoin("users as a", "a.id", "m.author_id")
        .leftJoin("rooms as r", "r.id", "e.room_id")
        .leftJoin("room_members as rm", (join) => join.onRef("rm.room_id", "=", "e.room_id").on("rm.user_id", "=", userId))
        .select([
          "e.message_id",
          "e.room_id",
          "e.seq",
          "e.created_at",
          "m.body",
          "m.deleted_at",
          "m.attachments",
          "a.display_name as author_name",
          "r.name as room_name",
          "r.kind as room_kind",
          "rm.user_id as member",
          "rm.last_read_seq",
          "rm.muted_until",
          "rm.notify_level",
        ])
        .where("e.user_id", "=", userId)
        .orderBy("e.created_at")
        .orderBy("e.seq")
        .limit(ITEMS_PER_DIGEST)
        .execute();
      const entries: DigestEntry[] = [];
      const shown: string[] = [];
      const dropped: string[] = [];
      for (const item of items) {
        const { body, room_kind: roomKind } = item;
        const gone =
          body === null ||
          roomKind === null ||
          item.member === null ||
          item.deleted_at !== null ||
          item.seq <= Number(item.last_read_seq) ||
          (item.muted_until !== null && Date.parse(item.muted_until) > now) ||
          item.notify_level === "nothing";
        if (gone) {
          dropped.push(item.message_id);
          continue;
        }
        shown.push(item.message_id);
        entries.push({
          roomId: item.room_id,
          roomName: item.room_name ?? "",
          roomKind,
          seq: item.seq,
          authorName: item.author_name ?? "Someone",
          createdAt: item.created_at,
          preview: body.trim() === "" && item.attachments !== null ? "sent a file" : previewOf(body),
          url: `${this.deps.config.publicUrl}/#/rooms/${encodeURIComponent(item.room_id)}/${item.seq}`,
        });
      }
      if (dropped.length > 0) {
        await db.deleteFrom("email_notifications").where("user_id", "=", userId).where("message_id", "in", dropped).execute();
        counts.dropped += dropped.length;
      }
      const recipient = await db.selectFrom("users").select(["email", "display_name"]).where("id", "=", userId).executeTakeFirst();
      if (recipient && recipient.email === "") {
        // No address to mail (never the case for an account made by sign-up): the items could only wait forever.
        await db.deleteFrom("email_notifications").where("user_id", "=", userId).execute();
        counts.dropped += entries.length;
      }
      if (entries.length === 0 || !recipient || recipient.email === "") {
        await this.settle(userId, claimed.lease, claimed.previous);
        return;
      }
      const unsubscribeUrl = await this.unsubscribe.urlFor(userId);
      const mail = renderDigest({
        recipientName: recipient.display_name,
        entries: entries.slice(0, DIGEST_MAX_ENTRIES),
        total: entries.length,
        appUrl: this.deps.config.publicUrl,
        unsubscribeUrl,
      });
      try {
        await this.mailer!.send({
          to: recipient.email,
          ...mail,
          headers: {
            // RFC 8058: a mail provider's "unsubscribe" button POSTs List-Unsubscribe=One-Click to this URI.
            "List-Unsubscribe": `<${unsubscribeUrl}>`,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            // RFC 3834: no vacation auto-replies to a machine's mail.
            "Auto-Submitted": "auto-generated",
          },
        });
      } catch (err) {
        counts.failed++;
        counts.error ??= err instanceof Error ? err.message : String(err);
        await this.settle(userId, claimed.lease, claimed.previous);
        return;
      }
      counts.sent++;
      // Accepted: the digest's time replaces the lease (the next digest one delay after it), then the items go.
      // (A node dying between the two mails them again: at least once, never lost.)
      await this.settle(userId, claimed.lease, nowAt);
      await db
        .deleteFrom("email_notifications")
        .where("user_id", "=", userId)
        .where("message_id", "in", shown)
        .execute();
    } catch (err) {
      // A database failure before the send: the old value back. After the send: the lease stays and lapses (at least once).
      if (counts.sent === sentBefore) await this.settle(userId, claimed.lease, claimed.previous).catch(() => undefined);
      throw err;
    }
  }
}
