import type { Insertable, Kysely } from "kysely";
import type { Database, MessagesTable } from "../store/schema.js";
import { prepared } from "../store/prepared.js";
import { rows, runSteps, type Steps } from "../store/steps.js";
import { notFound } from "../errors.js";
import type { RoomEvent } from "@shared/protocol/frames.js";
import { membership, type MemberRow } from "../rooms/access.js";
import { REPLY_PREVIEW_CHARS, type Mentions, type Message, type ReplyTo } from "@shared/protocol/entities.js";
import { MAX_SEQ } from "@shared/protocol/limits.js";
import type { Attachment } from "@shared/protocol/attachments.js";

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
  // Replies (0005): the root's counters, and a reply's root (what it quotes: rootColumns or toMessages).
  "messages.reply_to_id",
  "messages.reply_count",
  "messages.last_reply_at",
  // Mentions (0007): JSON, null for a message that mentions nobody.
  "messages.mentions",
  // Thread replies (0010): 0/1.
  "messages.in_thread",
  "messages.also_in_room",
  // Attachments (0012): the Attachment[] as JSON, null for none (and once deleted).
  "messages.attachments",
] as const;

export interface MessageJoinRow {
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
  // Replies (0005): absent from rows built without them (the room list's last message), and then left out.
  reply_to_id?: string | null;
  reply_count?: number;
  last_reply_at?: string | null;
  root_seq?: number | null;
  root_body?: string | null;
  root_deleted_at?: string | null;
  root_author_id?: string | null;
  root_author_username?: string | null;
  root_author_display_name?: string | null;
  /** 0007; optional so that callers that build rows by hand (the room list's preview) may leave it out. */
  mentions?: string | null;
  /** 0010, 0/1; optional as `mentions` (absent reads as 0). */
  in_thread?: number | null;
  also_in_room?: number | null;
  /** 0012, JSON `Attachment[]` or null; optional as `mentions`. */
  attachments?: string | null;
}

/**
 * What a reply shows of its root's text: the first REPLY_PREVIEW_CHARS
 * characters (code points, so no emoji is cut in half), "…" appended when
 * cut; "" once the root is deleted.
 */
export function replyPreview(body: string): string {
  const chars = Array.from(body);
  return chars.length <= REPLY_PREVIEW_CHARS ? body : `${chars.slice(0, REPLY_PREVIEW_CHARS).join("").trimEnd()}…`;
}

const replyToOf = (r: MessageJoinRow): ReplyTo | null =>
  r.reply_to_id == null || r.root_seq == null || r.root_author_id == null
    ? null
    : {
        id: r.reply_to_id,
        seq: Number(r.root_seq),
        author: { id: r.root_author_id, username: r.root_author_username ?? "", displayName: r.root_author_display_name ?? "" },
        // A deleted root's text is gone; a deleted reply carries no text at all, its quote included.
        preview: r.root_deleted_at || r.deleted_at ? "" : replyPreview(r.root_body ?? ""),
        deleted: r.root_deleted_at != null,
      };

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
  ...(r.reply_count === undefined ? {} : { replyTo: replyToOf(r), replyCount: Number(r.reply_count), lastReplyAt: r.last_reply_at ?? null }),
  // Carried only when the message mentions someone (an absent field reads as "nobody").
  ...(r.mentions ? { mentions: JSON.parse(r.mentions) as Mentions } : {}),
  // Carried only by a thread reply (absent reads as false: a message of the timeline).
  ...(Number(r.in_thread ?? 0) === 1 ? { inThread: true, alsoInRoom: Number(r.also_in_room ?? 0) === 1 } : {}),
  // Carried only when the message has files (absent reads as none), as stored at the send: no join with uploads.
  ...(r.attachments ? { attachments: JSON.parse(r.attachments) as Attachment[] } : {}),
});

/**
 * Message rows joined with their author; map a list of them with
 * `toMessages` (which adds the quotes of the replies among them).
 */
export const selectMessages = (db: Kysely<Database>) =>
  db.selectFrom("messages").innerJoin("users", "users.id", "messages.author_id").select(messageColumns);

/** What a reply quotes of its root, read with the reply. */
const rootColumns = [
  "root.seq as root_seq",
  "root.body as root_body",
  "root.deleted_at as root_deleted_at",
  "root_author.id as root_author_id",
  "root_author.username as root_author_username",
  "root_author.display_name as root_author_display_name",
] as const;

/** One message with, if a reply, its root joined in (a single row: the join costs nothing worth a second query). */
const selectMessageWithRoot = (db: Kysely<Database>) =>
  selectMessages(db)
    .leftJoin("messages as root", "root.id", "messages.reply_to_id")
    .leftJoin("users as root_author", "root_author.id", "root.author_id")
    .select(rootColumns);

/**
 * Rows of `selectMessages` → messages. The roots that the replies among
 * them quote are read in ONE more query, only when there are replies: a
 * left join on every row of a history page cost about a third more (measured
 * on a 50-message page), most pages have few replies.
 */
export async function toMessages(db: Kysely<Database>, rows: readonly MessageJoinRow[]): Promise<Message[]> {
  const rootIds = [...new Set(rows.flatMap((r) => (r.reply_to_id ? [r.reply_to_id] : [])))];
  if (rootIds.length === 0) return rows.map(toMessage);
  const roots = await db
    .selectFrom("messages")
    .innerJoin("users", "users.id", "messages.author_id")
    .select(["messages.id", "messages.seq", "messages.body", "messages.deleted_at", "users.id as author_id", "users.username", "users.display_name"])
    .where("messages.id", "in", rootIds)
    .execute();
  const byId = new Map(roots.map((r) => [r.id, r]));
  return rows.map((r) => {
    const root = r.reply_to_id ? byId.get(r.reply_to_id) : undefined;
    if (!root) return toMessage(r);
    return toMessage({
      ...r,
      root_seq: root.seq,
      root_body: root.body,
      root_deleted_at: root.deleted_at,
      root_author_id: root.author_id,
      root_author_username: root.username,
      root_author_display_name: root.display_name,
    });
  });
}

export async function getMessagesByIds(db: Kysely<Database>, ids: string[]): Promise<Message[]> {
  if (ids.length === 0) return [];
  const rows = await selectMessages(db).where("messages.id", "in", ids).execute();
  return toMessages(db, rows);
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
    reply_to_id: p.reply_to_id,
    mentions: p.mentions,
    in_thread: p.in_thread,
    also_in_room: p.also_in_room,
    attachments: p.attachments,
  }),
);

/** Stores a message row (its event is stored by appendRoomEvent); `reply_to_id`: its thread's root, if a reply. */
export function* storeMessage(db: Kysely<Database>, row: Insertable<MessagesTable>): Steps<void> {
  // A prepared parameter must be a value: an absent reply_to_id is bound as null.
  yield* rows(
    insertMessage.query(db, {
      ...row,
      reply_to_id: row.reply_to_id ?? null,
      mentions: row.mentions ?? null,
      in_thread: row.in_thread ?? 0,
      also_in_room: row.also_in_room ?? 0,
      attachments: row.attachments ?? null,
    }),
  );
}

/**
 * A message of `roomId` by id, deleted or not (a message of another room is
 * not found: ids in a path never reach across rooms).
 * @throws AppError not_found
 */
export function requireMessage(db: Kysely<Database>, roomId: string, messageId: string): Promise<Message> {
  return runSteps(db, messageById(db, roomId, messageId));
}

/** `requireMessage` as steps. @throws AppError not_found */
export function* messageById(db: Kysely<Database>, roomId: string, messageId: string): Steps<Message> {
  const [row] = yield* rows(messageByIdQuery.query(db, { roomId, messageId }));
  if (!row) throw notFound("No such message.");
  return toMessage(row);
}

// Prepared: a reply's send looks its target up (requireLiveMessage), and Kysely's builder would cost as much as SQLite there.
const messageByIdQuery = prepared<{ roomId: string; messageId: string }, MessageJoinRow>((db, p) =>
  selectMessageWithRoot(db).where("messages.id", "=", p.messageId).where("messages.room_id", "=", p.roomId),
);

/**
 * A message of `roomId` that is not deleted: what edits, deletions,
 * reactions and replies may act on. Membership is the caller's check
 * (memberAndLiveMessage does both).
 * @throws AppError not_found (no such message in the room, or deleted)
 */
export function requireLiveMessage(db: Kysely<Database>, roomId: string, messageId: string): Promise<Message> {
  return runSteps(db, liveMessageById(db, roomId, messageId));
}

/** `requireLiveMessage` as steps. @throws AppError not_found */
export function* liveMessageById(db: Kysely<Database>, roomId: string, messageId: string): Steps<Message> {
  const message = yield* messageById(db, roomId, messageId);
  if (message.deletedAt) throw notFound("This message was deleted.");
  return message;
}

/**
 * The shared start of every write to an existing message (edit, delete,
 * reaction add/remove), in the writer's transaction, whose room lock
 * (RoomWriter.submitRoomSteps) is already held: the caller's membership
 * (DESIGN.md invariant 2), then the message, live. Check, then do: the
 * writer has no savepoints.
 * @throws AppError as requireMember and requireLiveMessage
 */
export function* memberAndLiveMessage(
  trx: Kysely<Database>,
  userId: string,
  roomId: string,
  messageId: string,
): Steps<{ member: MemberRow; message: Message }> {
  const { member } = yield* membership(trx, userId, roomId);
  return { member, message: yield* liveMessageById(trx, roomId, messageId) };
}

/**
 * Replaces the stored frame of one room event in place, keeping its seq (a
 * deletion scrubbing text out of the log: resume replays the same seqs).
 * The caller's transaction.
 */
export function* rewriteStoredEvent(db: Kysely<Database>, event: RoomEvent): Steps<void> {
  yield* rows(db.updateTable("room_events").set({ frame: JSON.stringify(event) }).where("room_id", "=", event.roomId).where("seq", "=", event.seq).compile());
}

/** The message an earlier send with this clientId stored, if any (steps of the send). */
export function* findByClientId(db: Kysely<Database>, roomId: string, authorId: string, clientId: string): Steps<Message | null> {
  // The usual answer is "none": find the id alone first, join only on a hit.
  const [hit] = yield* rows(clientIdQuery.query(db, { roomId, authorId, clientId }));
  if (!hit) return null;
  // With its reply root joined, as the first send answered it.
  return yield* messageById(db, roomId, hit.id);
}

/**
 * The largest seq either dialect stores (PostgreSQL `integer`): stands in for
 * "no bound" in the prepared page reads, and clamps a client's `before` or
 * `after` so that an out-of-range number reads as "beyond every message".
 */
const SEQ_CEILING = 2_147_483_647;

// Prepared: the history route's hot reads; building and compiling them with
// Kysely per page cost ~15 % of the read (0.28 → 0.24 ms at p50). Each has ONE
// upper bound on seq: given `seq <= upTo AND seq < before`, SQLite ranges
// the (room_id, seq) key on one of them and filters the other, and picking
// `upTo` scanned from the head down to `before` (37 ms at p50 for a random
// page of a 1,000,000-message room, whenever a write awaited its fsync).
const pageUpToQuery = prepared<{ roomId: string; atMost: number; limit: number }, MessageJoinRow>((db, p) =>
  selectMessages(db).where("messages.room_id", "=", p.roomId).where("messages.seq", "<=", p.atMost).orderBy("messages.seq", "desc").limit(p.limit),
);
const pageAfterQuery = prepared<{ roomId: string; after: number; upTo: number; limit: number }, MessageJoinRow>((db, p) =>
  selectMessages(db)
    .where("messages.room_id", "=", p.roomId)
    .where("messages.seq", ">", p.after)
    .where("messages.seq", "<=", p.upTo)
    .orderBy("messages.seq", "asc")
    .limit(p.limit),
);

/**
 * One page of history, ascending seq. `before`: the page just older than
 * that seq; `after`: the page just newer; neither: the newest page.
 * Nothing past `upTo` (the durable head) is read. Reads `limit + 1` rows to
 * learn whether more exist without a count.
 */
export async function historyPage(
  db: Kysely<Database>,
  roomId: string,
  page: { before?: number | undefined; after?: number | undefined; around?: number | undefined; limit: number; upTo?: number },
): Promise<{ messages: Message[]; hasMore: boolean; hasMoreAfter?: boolean }> {
  if (page.around !== undefined) return aroundPage(db, roomId, page.around, page.limit, page.upTo);
  const upTo = page.upTo !== undefined && Number.isFinite(page.upTo) ? Math.min(page.upTo, SEQ_CEILING) : SEQ_CEILING;
  const limit = page.limit + 1;
  const rows =
    page.after !== undefined
      ? await pageAfterQuery(db, { roomId, after: Math.min(page.after, SEQ_CEILING), upTo, limit })
      : await pageUpToQuery(db, { roomId, atMost: page.before === undefined ? upTo : Math.min(page.before - 1, upTo), limit });
  const hasMore = rows.length > page.limit;
  const messages = await toMessages(db, rows.slice(0, page.limit));
  if (page.after === undefined) messages.reverse();
  return { messages, hasMore };
}

/**
 * The page of history containing seq `around` (a reply's quote jumps to its
 * root, wherever it is): the older half of `limit` before it, the rest from
 * it on, ascending. `hasMore`: older messages exist; `hasMoreAfter`: newer
 * ones do (up to `upTo`). Two indexed range reads of the (room_id, seq) key.
 */
async function aroundPage(
  db: Kysely<Database>,
  roomId: string,
  around: number,
  limit: number,
  upTo: number | undefined,
): Promise<{ messages: Message[]; hasMore: boolean; hasMoreAfter: boolean }> {
  const olderCount = Math.floor(limit / 2);
  const newerCount = limit - olderCount;
  const head = Math.min(upTo ?? MAX_SEQ, MAX_SEQ);
  const newer = selectMessages(db).where("messages.room_id", "=", roomId).where("messages.seq", ">=", around).where("messages.seq", "<=", head);
  const older = selectMessages(db).where("messages.room_id", "=", roomId).where("messages.seq", "<", Math.min(around, head + 1));
  const [olderRows, newerRows] = [
    await older.orderBy("messages.seq", "desc").limit(olderCount + 1).execute(),
    await newer.orderBy("messages.seq", "asc").limit(newerCount + 1).execute(),
  ];
  const messages = await toMessages(db, [...olderRows.slice(0, olderCount).reverse(), ...newerRows.slice(0, newerCount)]);
  return { messages, hasMore: olderRows.length > olderCount, hasMoreAfter: newerRows.length > newerCount };
}
