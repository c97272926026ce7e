import type { Kysely } from "kysely";
import type { Deps, Actor } from "../deps.js";
import type { Database } from "../store/schema.js";
import { THREAD_REPLIERS, type Author, type Message, type ReplyTo } from "@shared/protocol/entities.js";
import type { RoomEvent } from "@shared/protocol/frames.js";
import type { RepliesResponse } from "@shared/protocol/http.js";
import { DEFAULT_PAGE_SIZE } from "@shared/protocol/limits.js";
import { AppError, notFound } from "../errors.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { prepared } from "../store/prepared.js";
import { rows, type Steps } from "../store/steps.js";
import { requireMember } from "../rooms/access.js";
import type { RoomWriter } from "../events/writer.js";
import { liveMessageById, replyPreview, requireMessage, rewriteStoredEvent, selectMessages, toMessages } from "./queries.js";
import { withReactions } from "./reactions.js";

/**
 * Replies and threads. A reply is a message with `reply_to_id`: sent by
 * `MessageService.send` with `replyTo`, in the same transaction, taking the
 * room's next seq as any message does (its `message.created` carries
 * `replyTo`, so clients bump the root's count from it: the root's counters
 * take no seq of their own). Threads are one level: a reply to a reply is
 * stored against the root, as Slack does. The root keeps `reply_count` and
 * `last_reply_at`, updated in the reply's transaction. `ReplyService.thread`
 * serves a thread over HTTP.
 *
 * Two kinds of reply, both in the thread and counted on its root: a
 * quote-reply (the default, and every reply stored before 0010), shown in
 * the room's timeline with its quote; and a thread reply (`inThread`, as
 * Slack's thread replies and Matrix's `m.thread`), shown in its thread only
 * unless also sent to the room (`alsoInRoom`). Both are in the room's log
 * and history (contract v1: a v1 client loses nothing); the flags tell a
 * client where to show them. The root's `repliers` are read with a page
 * (`withRepliers`), never stored: they are as exact as the replies are.
 */
export class ReplyService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
  ) {}

  /**
   * A thread: its root (deleted or not) and a page of replies with seq
   * after `after`, ascending, at most `limit` (default 50, ≤ 100). The id of
   * a reply stands for its thread. Up to the room's durable head. The root
   * and every reply carry `reactions`, as on a history page (`[]` for none,
   * and for a deleted message).
   * @throws AppError not_found (no room or not visible; no such message in the room), forbidden (public room not joined)
   */
  async thread(actor: Actor, roomId: string, messageId: string, page: { after?: number | undefined; limit?: number | undefined }): Promise<RepliesResponse> {
    const db = this.deps.store.db;
    await requireMember(db, actor.userId, roomId);
    const target = await requireMessage(db, roomId, messageId);
    const root = target.replyTo ? await requireMessage(db, roomId, target.replyTo.id) : target;
    const limit = page.limit ?? DEFAULT_PAGE_SIZE;
    // One head for the page and its reactions: a reaction whose batch still waits for its fsync shows in neither.
    const upTo = this.writer.readableSeq(roomId);
    const rows = await selectMessages(db)
      .where("messages.room_id", "=", roomId)
      .where("messages.reply_to_id", "=", root.id)
      .where("messages.seq", ">", page.after ?? 0)
      .where("messages.seq", "<=", upTo)
      .orderBy("messages.seq", "asc")
      .limit(limit + 1)
      .execute();
    const replies = await toMessages(db, rows.slice(0, limit));
    // The root and the replies' reactions in one query, as a history page does (withReactions).
    const [withRoot, ...rest] = await withRepliers(db, await withReactions(db, [root, ...replies], upTo), upTo);
    return { root: withRoot ?? root, replies: rest, hasMore: rows.length > limit };
  }
}

/**
 * The send path's check for a reply (one query: the message replied to,
 * joined with its own root): what the reply will carry as `replyTo`, always
 * the thread's root.
 * @throws AppError not_found (no such message in the room; it, or its thread's root, is deleted)
 */
export function* resolveReplyRoot(db: Kysely<Database>, roomId: string, messageId: string): Steps<ReplyTo> {
  const target = yield* liveMessageById(db, roomId, messageId);
  if (target.replyTo) {
    if (target.replyTo.deleted) throw notFound("This thread's first message was deleted.");
    return target.replyTo;
  }
  return { id: target.id, seq: target.seq, author: target.author, preview: replyPreview(target.body), deleted: false };
}

/** Where a reply shows (the send's `inThread` and `alsoInRoom`): both false for a quote-reply or a plain message. */
export interface ReplyPlacement {
  inThread: boolean;
  alsoInRoom: boolean;
}

/**
 * Checks a send's placement against its `replyTo`: a thread reply needs
 * the message it answers, and "also in the room" needs a thread reply.
 * @throws AppError validation_failed (details path `inThread` or `alsoInRoom`)
 */
export function checkPlacement(replyTo: string | null, placement: ReplyPlacement): void {
  if (placement.inThread && replyTo === null) {
    throw new AppError(ErrorCode.ValidationFailed, "Invalid inThread: a thread reply needs replyTo.", {
      details: [{ path: "inThread", message: "A thread reply needs replyTo." }],
    });
  }
  if (placement.alsoInRoom && !placement.inThread) {
    throw new AppError(ErrorCode.ValidationFailed, "Invalid alsoInRoom: only a thread reply (inThread) is also sent to the room.", {
      details: [{ path: "alsoInRoom", message: "Only a thread reply (inThread) is also sent to the room." }],
    });
  }
}

/**
 * `messages` with `repliers` on each root of a thread (`replyCount` > 0;
 * the others are returned as they are): the authors of the replies up to seq `upTo` (the durable
 * head), most recent reply first, each once, at most THREAD_REPLIERS. One
 * grouped query over the thread index (messages_reply_to), only when the
 * page holds a root with replies; deleted replies count, as in `replyCount`.
 */
export async function withRepliers(db: Kysely<Database>, messages: readonly Message[], upTo?: number): Promise<Message[]> {
  const roots = messages.filter((m) => (m.replyCount ?? 0) > 0).map((m) => m.id);
  const byRoot = new Map<string, { author: Author; last: number }[]>();
  // SQLite binds at most 32,766 parameters: a page has ≤ 100 messages, but the rule costs nothing to keep.
  for (let i = 0; i < roots.length; i += 500) {
    let query = db
      .selectFrom("messages")
      .innerJoin("users", "users.id", "messages.author_id")
      .select((eb) => ["messages.reply_to_id", "users.id", "users.username", "users.display_name", eb.fn.max("messages.seq").as("last")])
      .where("messages.reply_to_id", "in", roots.slice(i, i + 500))
      .groupBy(["messages.reply_to_id", "users.id", "users.username", "users.display_name"]);
    if (upTo !== undefined) query = query.where("messages.seq", "<=", upTo);
    for (const r of await query.execute()) {
      if (!r.reply_to_id) continue;
      const list = byRoot.get(r.reply_to_id) ?? [];
      list.push({ author: { id: r.id, username: r.username, displayName: r.display_name }, last: Number(r.last) });
      byRoot.set(r.reply_to_id, list);
    }
  }
  return messages.map((m) => {
    if ((m.replyCount ?? 0) === 0) return m;
    const list = byRoot.get(m.id) ?? [];
    return { ...m, repliers: list.sort((a, b) => b.last - a.last).slice(0, THREAD_REPLIERS).map((r) => r.author) };
  });
}

const bumpReplies = prepared<{ rootId: string; at: string }, never>((db, p) =>
  db
    .updateTable("messages")
    .set((eb) => ({ reply_count: eb("reply_count", "+", 1), last_reply_at: p.at }))
    .where("id", "=", p.rootId),
);

/** Counts a new reply on its root (one prepared UPDATE), in the reply's transaction. */
export function* recordReply(db: Kysely<Database>, rootId: string, at: string): Steps<void> {
  yield* rows(bumpReplies.query(db, { rootId, at }));
}

/**
 * When a root is deleted, its text must leave the stored events of its
 * replies too (their `replyTo.preview`): rewrites, in place and with their
 * own seqs, the `message.created` and `message.edited` frames of every
 * reply, with `preview` "" and `deleted` true. Call in the deletion's
 * transaction, only for a root that has replies. Costs one read of the
 * replies' ids, one of their edits, one of the frames, and one write per frame.
 */
export function* scrubRootPreviews(db: Kysely<Database>, roomId: string, rootId: string): Steps<void> {
  const replies = yield* rows(db.selectFrom("messages").select(["id", "seq"]).where("room_id", "=", roomId).where("reply_to_id", "=", rootId).compile());
  const seqs = replies.map((r) => Number(r.seq));
  // SQLite binds at most 32,766 parameters: read in chunks.
  for (let i = 0; i < replies.length; i += 500) {
    const ids = replies.slice(i, i + 500).map((r) => r.id);
    const edits = yield* rows(db.selectFrom("message_edits").select("seq").where("room_id", "=", roomId).where("message_id", "in", ids).compile());
    seqs.push(...edits.map((e) => Number(e.seq)));
  }
  for (let i = 0; i < seqs.length; i += 500) {
    const frames = yield* rows(
      db
        .selectFrom("room_events")
        .select(["seq", "frame"])
        .where("room_id", "=", roomId)
        .where("seq", "in", seqs.slice(i, i + 500))
        .compile(),
    );
    for (const row of frames) {
      const event = JSON.parse(row.frame) as RoomEvent;
      if (event.type !== "message.created" && event.type !== "message.edited") continue;
      if (!event.message.replyTo) continue;
      event.message.replyTo = { ...event.message.replyTo, preview: "", deleted: true };
      yield* rewriteStoredEvent(db, event);
    }
  }
}
