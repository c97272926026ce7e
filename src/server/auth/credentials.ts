import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import { newId, nowIso } from "../store/ids.js";

/**
 * Server-side sessions (browser cookie) and personal API tokens (Bearer).
 * Only the SHA-256 of each secret is stored; a random 256-bit secret needs
 * no slow hash (OWASP Session Management Cheat Sheet: ≥ 64 bits of entropy).
 */

const API_TOKEN_PREFIX = "prl_";

/** The browser's session cookie. */
export const SESSION_COOKIE = "parley_session";

/** Hex SHA-256 of a secret: its stored form, and its id on the bus. */
export const hashSecret = (secret: string): string => createHash("sha256").update(secret).digest("hex");

const newSecret = (): string => randomBytes(32).toString("base64url");

/** Constant-time string comparison for secrets. */
export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SessionRecord {
  userId: string;
  tokenHash: string;
  csrfToken: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** Creates a session; returns the cookie's secret (shown once) and its CSRF token. */
export async function createSession(
  db: Kysely<Database>,
  userId: string,
  ttlMs: number,
): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
  const token = newSecret();
  const csrfToken = newSecret();
  const expiresAt = new Date(Date.now() + ttlMs);
  await db
    .insertInto("sessions")
    .values({ token_hash: hashSecret(token), user_id: userId, csrf_token: csrfToken, created_at: nowIso(), expires_at: expiresAt.toISOString() })
    .execute();
  return { token, csrfToken, expiresAt };
}

/** The live session behind a cookie's secret, or null (unknown or expired). */
export async function findSession(db: Kysely<Database>, token: string): Promise<SessionRecord | null> {
  const tokenHash = hashSecret(token);
  const row = await db
    .selectFrom("sessions")
    .select(["user_id", "csrf_token", "expires_at"])
    .where("token_hash", "=", tokenHash)
    .executeTakeFirst();
  if (!row) return null;
  if (row.expires_at <= nowIso()) {
    await db.deleteFrom("sessions").where("token_hash", "=", tokenHash).execute();
    return null;
  }
  return { userId: row.user_id, tokenHash, csrfToken: row.csrf_token, expiresAt: Date.parse(row.expires_at) };
}

export async function deleteSession(db: Kysely<Database>, tokenHash: string): Promise<void> {
  await db.deleteFrom("sessions").where("token_hash", "=", tokenHash).execute();
}

/** Creates a personal API token; the secret is returned once and never again. */
export async function createApiToken(
  db: Kysely<Database>,
  userId: string,
  name: string,
): Promise<{ id: string; token: string }> {
  const id = newId();
  const token = API_TOKEN_PREFIX + newSecret();
  await db
    .insertInto("api_tokens")
    .values({ id, user_id: userId, name, token_hash: hashSecret(token), created_at: nowIso(), last_used_at: null })
    .execute();
  return { id, token };
}

/** The user behind a Bearer token, or null. */
export async function findApiToken(db: Kysely<Database>, token: string): Promise<{ userId: string; tokenHash: string } | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const tokenHash = hashSecret(token);
  const row = await db.selectFrom("api_tokens").select(["user_id"]).where("token_hash", "=", tokenHash).executeTakeFirst();
  return row ? { userId: row.user_id, tokenHash } : null;
}

/** Hashes per query in `liveCredentials`: well under SQLite's bound-parameter limit. */
const LIVE_CHECK_CHUNK = 500;

/**
 * Of the given credential hashes, those that still exist: sessions not
 * expired, API tokens not deleted. One query per kind and 500 hashes, for
 * the heartbeat's re-check of open sockets (a session ended on another node,
 * by expiry or deleted outright is found here).
 */
export async function liveCredentials(
  db: Kysely<Database>,
  hashes: { sessions: readonly string[]; tokens: readonly string[] },
): Promise<Set<string>> {
  const live = new Set<string>();
  const now = nowIso();
  for (let i = 0; i < hashes.sessions.length; i += LIVE_CHECK_CHUNK) {
    const rows = await db
      .selectFrom("sessions")
      .select("token_hash")
      .where("token_hash", "in", hashes.sessions.slice(i, i + LIVE_CHECK_CHUNK))
      .where("expires_at", ">", now)
      .execute();
    for (const r of rows) live.add(r.token_hash);
  }
  for (let i = 0; i < hashes.tokens.length; i += LIVE_CHECK_CHUNK) {
    const rows = await db.selectFrom("api_tokens").select("token_hash").where("token_hash", "in", hashes.tokens.slice(i, i + LIVE_CHECK_CHUNK)).execute();
    for (const r of rows) live.add(r.token_hash);
  }
  return live;
}
