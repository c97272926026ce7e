import type { Insertable, Kysely } from "kysely";
import type { Database, MessagesTable } from "../store/schema.js";
import { prepared } from "../store/prepared.js";
import { notFound } from "../errors.js";
import type { Message } from "@shared/protocol/entities.js";

/** Message rows joined with their authors, turned into wire messages. */

const messageColumns = [
  "messages.id",
  "messages.room_id",
  "messages.seq",
  "messages.body",
  "messages.client_id",
  "messages.created_at",
  "messages.edited_at",
  "messages.deleted_at",
  "users.id as author_id",
  "users.username as author_username",
  "users.display_name as author_display_name",
] as const;

interface MessageJoinRow {
  id: string;
  room_id: string;
  seq: number;
  body: string;
  client_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  author_id: string;
  author_username: string;
  author_display_name: string;
}

export const toMessage = (r: MessageJoinRow): Message => ({
  id: r.id,
  roomId: r.room_id,
  seq: Number(r.seq),
  author: { id: r.author_id, username: r.author_username, displayName: r.author_display_name },
  body: r.body,
  clientId: r.client_id,
  createdAt: r.created_at,
  editedAt: r.edited_at,
  deletedAt: r.deleted_at,
});

const selectMessages = (db: Kysely<Database>) =>
  db.selectFrom("messages").innerJoin("users", "users.id", "messages.author_id").select(messageColumns);

export async function getMessagesByIds(db: Kysely<Database>, ids: string[]): Promise<Message[]> {
  if (ids.length === 0) return [];
  const rows = await selectMessages(db).where("messages.id", "in", ids).execute();
  return rows.map(toMessage);
}

const clientIdQuery = prepared<{ roomId: string; authorId: string; clientId: string }, { id: string }>((db, p) =>
  db.selectFrom("messages").select("id").where("room_id", "=", p.roomId).where("author_id", "=", p.authorId).where("client_id", "=", p.clientId),
);

const insertMessage = prepared<Insertable<MessagesTable>, never>((db, p) =>
  db.insertInto("messages").values({
    id: p.id,
    room_id: p.room_id,
    seq: p.seq,
    author_id: p.author_id,
    body: p.body,
    client_id: p.client_id,
    created_at: p.created_at,
  }),
);

/** Stores a message row (its event is stored by appendRoomEvent). */
export async function storeMessage(db: Kysely<Database>, row: Insertable<MessagesTable>): Promise<void> {
  await insertMessage(db, row);
}

/**
 * A message of `roomId` by id, deleted or not (a message of another room is
 * not found: ids in a path never reach across rooms).
 * @throws AppError not_found
 */
export async function requireMessage(db: Kysely<Database>, roomId: string, messageId: string): Promise<Message> {
  const row = await selectMessages(db).where("messages.id", "=", messageId).where("messages.room_id", "=", roomId).executeTakeFirst();
  if (!row) throw notFound("No such message.");
  return toMessage(row);
}

/**
 * A message of `roomId` that is not deleted: what editing (and, later,
 * reactions and replies) may act on. Membership is the caller's check.
 * @throws AppError not_found (no such message in the room, or deleted)
 */
export async function requireLiveMessage(db: Kysely<Database>, roomId: string, messageId: string): Promise<Message> {
  const message = await requireMessage(db, roomId, messageId);
  if (message.deletedAt) throw notFound("This message was deleted.");
  return message;
}

/** The message an earlier send with this clientId stored, if any. */
export async function findByClientId(
  db: Kysely<Database>,
  roomId: string,
  authorId: string,
  clientId: string,
): Promise<Message | null> {
  // The usual answer is "none": find the id alone first, join only on a hit.
  const [hit] = await clientIdQuery(db, { roomId, authorId, clientId });
  if (!hit) return null;
  const [message] = await getMessagesByIds(db, [hit.id]);
  return message ?? null;
}

/**
 * One page of history, ascending seq. `before`: the page just older than
 * that seq; `after`: the page just newer; neither: the newest page.
 * Nothing past `upTo` (the durable head) is read. Reads `limit + 1` rows to
 * learn whether more exist without a count.
 */
export async function historyPage(
  db: Kysely<Database>,
  roomId: string,
  page: { before?: number | undefined; after?: number | undefined; limit: number; upTo?: number },
): Promise<{ messages: Message[]; hasMore: boolean }> {
  let query = selectMessages(db).where("messages.room_id", "=", roomId);
  if (page.upTo !== undefined && Number.isFinite(page.upTo)) query = query.where("messages.seq", "<=", page.upTo);
  if (page.after !== undefined) {
    query = query.where("messages.seq", ">", page.after).orderBy("messages.seq", "asc");
  } else {
    if (page.before !== undefined) query = query.where("messages.seq", "<", page.before);
    query = query.orderBy("messages.seq", "desc");
  }
  const rows = await query.limit(page.limit + 1).execute();
  const hasMore = rows.length > page.limit;
  const messages = rows.slice(0, page.limit).map(toMessage);
  if (page.after === undefined) messages.reverse();
  return { messages, hasMore };
}
