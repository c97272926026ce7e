import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, UsersTable } from "../store/schema.js";
import type { Self, User } from "@shared/protocol/entities.js";
import { notFound } from "../errors.js";
import { rows, type Steps } from "../store/steps.js";

/** User rows to wire shapes, and the look-ups every area needs. */

export const toUser = (row: Pick<Selectable<UsersTable>, "id" | "username" | "display_name" | "created_at">): User => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  createdAt: row.created_at,
});

export const toSelf = (row: Pick<Selectable<UsersTable>, "id" | "username" | "display_name" | "created_at" | "email">): Self => ({ ...toUser(row), email: row.email });

export const userColumns = ["id", "username", "display_name", "created_at"] as const;

/** @throws AppError not_found */
export function* getUser(db: Kysely<Database>, userId: string): Steps<User> {
  const [row] = yield* rows(db.selectFrom("users").select(userColumns).where("id", "=", userId).compile());
  if (!row) throw notFound("No such user.");
  return toUser(row);
}

/** @throws AppError not_found */
export async function getSelf(db: Kysely<Database>, userId: string): Promise<Self> {
  const row = await db.selectFrom("users").selectAll().where("id", "=", userId).executeTakeFirst();
  if (!row) throw notFound("No such user.");
  return toSelf(row);
}

/** Escapes LIKE wildcards so that a query for `a_b` matches only `a_b`. */
const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * People to start a conversation with: username or display name starting
 * with `q` (case-insensitive), the caller excluded, alphabetical, at most 50.
 */
export async function searchUsers(db: Kysely<Database>, callerId: string, q: string | undefined): Promise<User[]> {
  let query = db.selectFrom("users").select(userColumns).where("id", "!=", callerId);
  if (q) {
    const prefix = `${escapeLike(q.toLowerCase())}%`;
    // ESCAPE is explicit: SQLite has no default escape character for LIKE.
    query = query.where(
      sql<boolean>`(username_key like ${prefix} escape '\\' or lower(display_name) like ${prefix} escape '\\')`,
    );
  }
  const rows = await query.orderBy("username_key").limit(50).execute();
  return rows.map(toUser);
}
