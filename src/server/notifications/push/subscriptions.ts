import type { Kysely } from "kysely";
import { ErrorCode } from "@shared/protocol/errors.js";
import type { CreatePushSubscriptionRequest, PushSubscription } from "@shared/protocol/notifications.js";
import type { Actor } from "../../deps.js";
import type { Config } from "../../config.js";
import { AppError, notFound } from "../../errors.js";
import type { Database, PushSubscriptionsTable } from "../../store/schema.js";
import { newId, nowIso } from "../../store/ids.js";
import { checkEndpoint, type Resolve } from "./guard.js";

/**
 * A user's Web Push subscriptions (issue 19): one row per browser endpoint
 * (RFC 8030). Create, list, delete, and a test push; who acts is always the
 * Actor (invariant 1), and another user's subscription answers the same 404
 * as one that does not exist.
 */

/** What a test push needs of the sender (sender.ts's PushSink). */
export interface TestPushes {
  /** Queues a test notification to one subscription; never awaits the push service. */
  sendTest(subscriptionId: string): void;
}

const noSuchSubscription = (): AppError => notFound("No such push subscription.");

/** A row as its owner sees it: the endpoint's host only (the URL is a capability: whoever holds it can push). */
export function subscriptionView(row: Pick<PushSubscriptionsTable, "id" | "label" | "endpoint" | "created_at" | "last_push_at">): PushSubscription {
  return { id: row.id, label: row.label, service: new URL(row.endpoint).host, createdAt: row.created_at, lastPushAt: row.last_push_at };
}

/** A device's name from its User-Agent ("Firefox on Linux"); "Browser" when nothing is recognised. */
export function deviceLabel(userAgent: string | undefined): string {
  const ua = userAgent ?? "";
  const browser = /Edg\//.test(ua) ? "Edge" : /OPR\//.test(ua) ? "Opera" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /CrOS/.test(ua) ? "ChromeOS" : /Linux/.test(ua) ? "Linux" : null;
  return os ? `${browser} on ${os}` : browser;
}

/** Checks that base64url `value` decodes to what RFC 8291 needs; a detail for `path` otherwise. */
function keyProblem(value: string, bytes: number, path: string, what: string): { path: string; message: string } | null {
  const raw = Buffer.from(value, "base64url");
  if (raw.length !== bytes || (bytes === 65 && raw[0] !== 4)) return { path, message: `Must be ${what}.` };
  return null;
}

export class PushSubscriptions {
  constructor(
    private readonly deps: {
      config: Pick<Config, "pushSubscriptionsPerUser" | "pushAllowPrivateEndpoints">;
      db: Kysely<Database>;
      tests: TestPushes;
      /** How endpoint hosts are resolved (guard.ts); a test may pass its own. */
      resolve?: Resolve;
    },
  ) {}

  /**
   * Subscribes a browser for the actor. An endpoint already stored (the
   * same browser subscribing again, perhaps for another account) is
   * updated and moves to the actor: one browser gets one account's pushes.
   * @throws validation_failed (endpoint on a non-public address, keys of the wrong size);
   *   limit_reached (409) when the actor already has pushSubscriptionsPerUser others
   */
  async create(actor: Actor, input: CreatePushSubscriptionRequest, userAgent: string | undefined): Promise<PushSubscription> {
    const details = [
      keyProblem(input.keys.p256dh, 65, "body.keys.p256dh", "an uncompressed P-256 public key (65 bytes)"),
      keyProblem(input.keys.auth, 16, "body.keys.auth", "16 bytes"),
    ].filter((d) => d !== null);
    if (details.length > 0) throw new AppError(ErrorCode.ValidationFailed, `Invalid ${details[0]!.path}: ${details[0]!.message}`, { details });
    await checkEndpoint(input.endpoint, this.deps.config.pushAllowPrivateEndpoints, this.deps.resolve);
    const label = input.label ?? deviceLabel(userAgent);
    const limit = this.deps.config.pushSubscriptionsPerUser;
    return this.deps.db.transaction().execute(async (tx) => {
      // Counted without this endpoint (re-subscribing replaces it) and stopped at the bound.
      const others = await tx
        .selectFrom("push_subscriptions")
        .select("id")
        .where("user_id", "=", actor.userId)
        .where("endpoint", "!=", input.endpoint)
        .limit(limit)
        .execute();
      if (others.length >= limit) {
        throw new AppError(ErrorCode.LimitReached, `You have ${limit} devices subscribed to push notifications; remove one first.`);
      }
      const row = { id: newId(), user_id: actor.userId, endpoint: input.endpoint, p256dh: input.keys.p256dh, auth: input.keys.auth, label, created_at: nowIso(), last_push_at: null };
      await tx
        .insertInto("push_subscriptions")
        .values(row)
        .onConflict((oc) =>
          oc.column("endpoint").doUpdateSet({ user_id: row.user_id, p256dh: row.p256dh, auth: row.auth, label: row.label, created_at: row.created_at, last_push_at: null }),
        )
        .execute();
      const stored = await tx.selectFrom("push_subscriptions").selectAll().where("endpoint", "=", input.endpoint).executeTakeFirstOrThrow();
      return subscriptionView(stored);
    });
  }

  /** The actor's subscribed devices, oldest first. */
  async list(actor: Actor): Promise<PushSubscription[]> {
    const rows = await this.deps.db
      .selectFrom("push_subscriptions")
      .select(["id", "label", "endpoint", "created_at", "last_push_at"])
      .where("user_id", "=", actor.userId)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(subscriptionView);
  }

  /**
   * Removes one of the actor's subscriptions (the browser should also
   * unsubscribe: the push service would otherwise keep the endpoint).
   * @throws not_found when it is not the actor's (whether or not it exists)
   */
  async delete(actor: Actor, subscriptionId: string): Promise<void> {
    const result = await this.deps.db.deleteFrom("push_subscriptions").where("id", "=", subscriptionId).where("user_id", "=", actor.userId).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw noSuchSubscription();
  }

  /**
   * Queues a test notification to one of the actor's subscriptions; the
   * answer does not wait for the push service (its outcome shows as the
   * device's `lastPushAt`, or the subscription's removal on 404/410).
   * @throws not_found when it is not the actor's
   */
  async test(actor: Actor, subscriptionId: string): Promise<void> {
    const row = await this.deps.db.selectFrom("push_subscriptions").select("id").where("id", "=", subscriptionId).where("user_id", "=", actor.userId).executeTakeFirst();
    if (!row) throw noSuchSubscription();
    this.deps.tests.sendTest(row.id);
  }
}
