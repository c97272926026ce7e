import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { z } from "zod";
import { DEFAULT_NOTIFICATION_SETTINGS, type NotificationSettings, type NotificationsUpdatedEvent } from "@shared/protocol/notifications.js";
import type { Deps } from "../../deps.js";
import type { Database } from "../../store/schema.js";
import { nowIso } from "../../store/ids.js";
import { notFound } from "../../errors.js";
import { installationSecret } from "../secrets.js";

/**
 * One-click unsubscribe from email digests (issue 19, RFC 8058).
 *
 * A digest's link carries a token that names its recipient and is the only
 * credential the unsubscribe needs (no session: a mail provider's one-click
 * POST has none). The token is the user id sealed with AES-256-GCM under a
 * key derived by HMAC-SHA256 from the installation secret "unsubscribe"
 * (notifications/secrets.ts, the same on every node): it reveals nothing
 * (not the user, not whether two mails went to the same person: the nonce
 * is fresh per mail), and anything not sealed by this installation fails the
 * GCM tag and is refused. Tokens do not expire: a link in an old mail still
 * works, as RFC 8058 expects of a List-Unsubscribe URI.
 */

/** The installation secret's name. */
export const UNSUBSCRIBE_SECRET = "unsubscribe";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The `token` query parameter: base64url, long enough to hold a nonce, a tag and an id, short enough to bound the work. */
export const UnsubscribeQuerySchema = z.object({
  token: z.string().min(40).max(200).regex(/^[A-Za-z0-9_-]+$/, "token must be base64url"),
});
export type UnsubscribeQuery = z.infer<typeof UnsubscribeQuerySchema>;

/** The web app's URL under which the unsubscribe route answers (GET: a page; POST: the one-click unsubscribe). */
export const UNSUBSCRIBE_PATH = "/api/v1/notifications/unsubscribe";

/** A user's account settings as stored, defaults for a user who never changed them. */
async function settingsOf(db: Kysely<Database>, userId: string): Promise<NotificationSettings> {
  const row = await db.selectFrom("notification_settings").selectAll().where("user_id", "=", userId).executeTakeFirst();
  if (!row) return DEFAULT_NOTIFICATION_SETTINGS;
  return {
    roomLevel: row.room_level,
    directLevel: row.direct_level,
    dndUntil: row.dnd_until !== null && Date.parse(row.dnd_until) > Date.now() ? row.dnd_until : null,
    email: row.email === 1,
  };
}

export class EmailUnsubscribe {
  /** The AES key, derived once from the installation secret (made by the first node that asks). */
  private key: Promise<Buffer> | null = null;

  constructor(private readonly deps: Pick<Deps, "config" | "store" | "bus" | "log">) {}

  private keyOf(): Promise<Buffer> {
    this.key ??= installationSecret(this.deps.store.db, UNSUBSCRIBE_SECRET, () => randomBytes(32).toString("base64url"))
      .then((secret) => createHmac("sha256", secret).update("parley unsubscribe link v1").digest())
      // A failed read (the database away) is not remembered: the next mail asks again.
      .catch((err: unknown) => {
        this.key = null;
        throw err;
      });
    return this.key;
  }

  /** A fresh token for `userId` (a different one each call). */
  async tokenFor(userId: string): Promise<string> {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", await this.keyOf(), nonce);
    const sealed = Buffer.concat([cipher.update(userId, "utf8"), cipher.final()]);
    return Buffer.concat([nonce, sealed, cipher.getAuthTag()]).toString("base64url");
  }

  /** The unsubscribe link of a mail to `userId`: the List-Unsubscribe URI. */
  async urlFor(userId: string): Promise<string> {
    return `${this.deps.config.publicUrl}${UNSUBSCRIBE_PATH}?token=${await this.tokenFor(userId)}`;
  }

  /** The user a token names, or null when this installation did not seal it. */
  async userOf(token: string): Promise<string | null> {
    const bytes = Buffer.from(token, "base64url");
    if (bytes.length <= NONCE_BYTES + TAG_BYTES) return null;
    const decipher = createDecipheriv("aes-256-gcm", await this.keyOf(), bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch {
      return null;
    }
  }

  /**
   * Checks a token without changing anything (the GET page: mail scanners fetch links).
   * @throws AppError not_found when the token is not one of ours or its user is gone (the same answer: it tells nothing)
   */
  async check(token: string): Promise<string> {
    const userId = await this.userOf(token);
    const user = userId === null ? undefined : await this.deps.store.db.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst();
    if (!user) throw notFound("This unsubscribe link is not valid.");
    return user.id;
  }

  /**
   * Turns email digests off for the token's user (idempotent), drops what
   * was queued for them, and tells their open tabs (`notifications.updated`).
   * @throws AppError not_found as `check`
   */
  async unsubscribe(token: string): Promise<void> {
    const userId = await this.check(token);
    const { db } = this.deps.store;
    const at = nowIso();
    await db
      .insertInto("notification_settings")
      .values({ user_id: userId, room_level: DEFAULT_NOTIFICATION_SETTINGS.roomLevel, direct_level: DEFAULT_NOTIFICATION_SETTINGS.directLevel, dnd_until: null, email: 0, email_sent_at: null, updated_at: at })
      .onConflict((oc) => oc.column("user_id").doUpdateSet({ email: 0, updated_at: at }))
      .execute();
    await db.deleteFrom("email_notifications").where("user_id", "=", userId).execute();
    const event: NotificationsUpdatedEvent = { type: "notifications.updated", settings: await settingsOf(db, userId) };
    this.deps.bus.publish({ kind: "user", userId, frame: JSON.stringify(event) });
    this.deps.log.info({ userId }, "email digests turned off by an unsubscribe link");
  }
}
