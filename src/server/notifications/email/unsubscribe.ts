import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { z } from "zod";
import type { Deps } from "../../deps.js";
import type { NotificationPreferences } from "../preferences.js";
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

export class EmailUnsubscribe {
  /** The AES key, derived once from the installation secret (made by the first node that asks). */
  private key: Promise<Buffer> | null = null;

  constructor(
    private readonly deps: Pick<Deps, "config" | "store" | "log">,
    /** Turns email off the way the settings screen does (and tells the user's open tabs). */
    private readonly preferences: Pick<NotificationPreferences, "updateSettingsOf">,
  ) {}

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
    await this.preferences.updateSettingsOf(userId, { email: false });
    await this.deps.store.db.deleteFrom("email_notifications").where("user_id", "=", userId).execute();
    this.deps.log.info({ userId }, "email digests turned off by an unsubscribe link");
  }
}
