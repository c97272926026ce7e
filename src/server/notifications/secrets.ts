import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import { nowIso } from "../store/ids.js";

/**
 * Secrets every node of an installation must share (issue 19): the VAPID
 * key pair (push/vapid.ts) and the key that signs unsubscribe links
 * (email/unsubscribe.ts). Kept in the `installation_secrets` table: in the
 * data directory's SQLite file on one node, in PostgreSQL for many, and
 * carried by copy-database, so push subscriptions survive a move.
 */

/**
 * The secret `name`, made by `make` the first time any node asks. Two
 * nodes starting at once both try to insert; the first insert wins
 * (ON CONFLICT DO NOTHING) and both read the winner back, so every node
 * ends with the same value.
 * @param make a fresh value (called at most once per call, possibly wasted)
 * @returns the stored value
 */
export async function installationSecret(db: Kysely<Database>, name: string, make: () => string): Promise<string> {
  const existing = await db.selectFrom("installation_secrets").select("value").where("name", "=", name).executeTakeFirst();
  if (existing) return existing.value;
  await db
    .insertInto("installation_secrets")
    .values({ name, value: make(), created_at: nowIso() })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const stored = await db.selectFrom("installation_secrets").select("value").where("name", "=", name).executeTakeFirstOrThrow();
  return stored.value;
}
