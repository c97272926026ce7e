import type { Kysely } from "kysely";
import type { Deps, Actor } from "../deps.js";
import type { Database } from "../store/schema.js";
import type { Message } from "@shared/protocol/entities.js";
import { normalizeEmoji, type Reaction } from "@shared/protocol/reactions.js";
import type { RoomEvent } from "@shared/protocol/frames.js";
import { ErrorCode } from "@shared/protocol/errors.js";
import { AppError } from "../errors.js";
import { nowIso } from "../store/ids.js";
import { appendRoomEvent } from "../events/log.js";
import type { RoomWriter } from "../events/writer.js";
import { memberAndLiveMessage } from "./queries.js";
import { countUpTo } from "../rooms/limits.js";
import { rows, runSteps, type Steps } from "../store/steps.js";

/**
 * Emoji reactions. Adding or removing one is a room event
 * (`reaction.added` / `reaction.removed`, the room's next seq, in the
 * transaction that writes the row), so live sockets and `resume` deliver
 * it exactly once, in order (DESIGN.md invariant 4). Both are idempotent:
 * adding a reaction one already has, or removing one not there, changes
 * nothing and takes no seq. The HTTP routes (PUT and DELETE
 * …/reactions/:emoji) and the socket's `reaction.add` / `reaction.remove`
 * call `add` and `remove`. History pages carry each message's reactions
 * through `withReactions`: one query per page, not one per message.
 *
 * An emoji is one of Unicode's RGI set, stored fully-qualified
 * (normalizeEmoji: "❤" and "❤️" are one reaction), so that a reaction
 * carries no hidden text and one person holds one per emoji. Every
 * reaction event's seq is listed per message (`reaction_events`): deleting
 * the message blanks their emoji in the log (`blankReactionEvents`).
 */

/** What an add or a remove did, and the message's reactions after it. */
export interface ReactionChange {
  /** False when there was nothing to do (already there / not there): no event, no seq. */
  changed: boolean;
  reactions: Reaction[];
}

export class ReactionService {
  constructor(
    private readonly deps: Deps,
    private readonly writer: RoomWriter,
  ) {}

  /**
   * The caller reacts to a live message with `emoji` (an RGI emoji in any
   * qualification: the shared EmojiSchema normalized it already; checked
   * again here) and `reaction.added` goes to the room.
   * @throws AppError validation_failed (not an RGI emoji), not_found (no room or not visible; no
   *   such message in the room; deleted), forbidden (public room not joined), limit_reached (the
   *   message has reactionsPerMessage distinct emoji and this is a new one)
   */
  add(actor: Actor, roomId: string, messageId: string, text: string): Promise<ReactionChange> {
    const emoji = qualifiedEmoji(text);
    const limit = this.deps.config.reactionsPerMessage;
    // Steps (store/steps.ts): runs synchronously with the sends of its batch on SQLite.
    return this.writer.submitRoomSteps<ReactionChange>(roomId, function* (trx) {
      yield* memberAndLiveMessage(trx, actor.userId, roomId, messageId);
      if (yield* holds(trx, messageId, emoji, actor.userId)) {
        return { result: { changed: false, reactions: yield* reactionsOf(trx, messageId) }, publish: [] };
      }
      // The emoji's group on the message: joining it keeps its place; a new one must fit the bound.
      const group = yield* groupOf(trx, messageId, emoji);
      if (group === null) yield* requireEmojiSlot(trx, messageId, limit);

      const at = nowIso();
      const appended = yield* appendRoomEvent(trx, roomId, at, (seq) => ({
        type: "reaction.added" as const,
        roomId,
        seq,
        messageId,
        emoji,
        userId: actor.userId,
      }));
      yield* rows(
        trx
          .insertInto("reactions")
          .values({ message_id: messageId, emoji, user_id: actor.userId, room_id: roomId, seq: appended.seq, group_seq: group ?? appended.seq, created_at: at })
          .compile(),
      );
      yield* rows(trx.insertInto("reaction_events").values({ message_id: messageId, seq: appended.seq, room_id: roomId }).compile());
      return {
        result: { changed: true, reactions: yield* reactionsOf(trx, messageId) },
        publish: [{ kind: "room", roomId, seq: appended.seq, frame: appended.frame }],
      };
    });
  }

  /**
   * Takes back the caller's `emoji` reaction and `reaction.removed` goes
   * to the room. Only one's own reaction can be removed: the key includes
   * the caller. `text` as for `add`: "❤" takes back "❤️".
   * @throws AppError validation_failed (not an RGI emoji), not_found (no room or not visible; no
   *   such message in the room; deleted), forbidden (public room not joined)
   */
  remove(actor: Actor, roomId: string, messageId: string, text: string): Promise<ReactionChange> {
    const emoji = qualifiedEmoji(text);
    return this.writer.submitRoomSteps<ReactionChange>(roomId, function* (trx) {
      yield* memberAndLiveMessage(trx, actor.userId, roomId, messageId);
      if (!(yield* holds(trx, messageId, emoji, actor.userId))) {
        return { result: { changed: false, reactions: yield* reactionsOf(trx, messageId) }, publish: [] };
      }

      const at = nowIso();
      const appended = yield* appendRoomEvent(trx, roomId, at, (seq) => ({
        type: "reaction.removed" as const,
        roomId,
        seq,
        messageId,
        emoji,
        userId: actor.userId,
      }));
      yield* rows(trx.deleteFrom("reactions").where("message_id", "=", messageId).where("emoji", "=", emoji).where("user_id", "=", actor.userId).compile());
      yield* rows(trx.insertInto("reaction_events").values({ message_id: messageId, seq: appended.seq, room_id: roomId }).compile());
      return {
        result: { changed: true, reactions: yield* reactionsOf(trx, messageId) },
        publish: [{ kind: "room", roomId, seq: appended.seq, frame: appended.frame }],
      };
    });
  }
}

/**
 * `text`'s fully-qualified RGI form (normalizeEmoji).
 * @throws AppError validation_failed (details path `emoji`) when it is none
 */
function qualifiedEmoji(text: string): string {
  const emoji = normalizeEmoji(text);
  if (emoji !== null) return emoji;
  throw new AppError(ErrorCode.ValidationFailed, "Must be a single emoji of Unicode's RGI set.", {
    details: [{ path: "emoji", message: "Must be a single emoji of Unicode's RGI set (fully-qualified, e.g. 👍, ❤️, 🇫🇷)." }],
  });
}

/** Reaction events read and rewritten per statement when a message is deleted: well under either database's parameter bound. */
const BLANK_BATCH = 500;

/**
 * Steps of a message's deletion (messages/deletions.ts), in its
 * transaction: every reaction.added / reaction.removed event about the
 * message keeps its seq, type, message and user in the log but its `emoji`
 * becomes "", so that no resume replays what the reactions said (the
 * reactions themselves are deleted with the message); its
 * `reaction_events` rows go. Clients skip an event with emoji "" (its
 * message is deleted: `withReaction` changes nothing).
 */
export function* blankReactionEvents(trx: Kysely<Database>, roomId: string, messageId: string): Steps<void> {
  const seqs = (yield* rows(trx.selectFrom("reaction_events").select("seq").where("message_id", "=", messageId).orderBy("seq").compile())).map((r) => Number(r.seq));
  for (let i = 0; i < seqs.length; i += BLANK_BATCH) {
    const chunk = seqs.slice(i, i + BLANK_BATCH);
    const stored = yield* rows(trx.selectFrom("room_events").select(["seq", "frame"]).where("room_id", "=", roomId).where("seq", "in", chunk).compile());
    for (const row of stored) {
      const event = JSON.parse(row.frame) as RoomEvent;
      if ((event.type !== "reaction.added" && event.type !== "reaction.removed") || event.emoji === "") continue;
      yield* rows(trx.updateTable("room_events").set({ frame: JSON.stringify({ ...event, emoji: "" }) }).where("room_id", "=", roomId).where("seq", "=", Number(row.seq)).compile());
    }
  }
  yield* rows(trx.deleteFrom("reaction_events").where("message_id", "=", messageId).compile());
}

function* holds(trx: Kysely<Database>, messageId: string, emoji: string, userId: string): Steps<boolean> {
  const found = yield* rows(trx.selectFrom("reactions").select("seq").where("message_id", "=", messageId).where("emoji", "=", emoji).where("user_id", "=", userId).compile());
  return found.length > 0;
}

/** The group_seq of `emoji` on the message (where it sorts), or null when nobody holds it: a prefix lookup of the key. */
function* groupOf(trx: Kysely<Database>, messageId: string, emoji: string): Steps<number | null> {
  const [row] = yield* rows(trx.selectFrom("reactions").select("group_seq").where("message_id", "=", messageId).where("emoji", "=", emoji).limit(1).compile());
  return row === undefined ? null : Number(row.group_seq);
}

/**
 * Refuses one more emoji on a message that already carries `limit`
 * distinct ones (reactionsPerMessage, DESIGN.md invariant 7: a message's
 * reactions, and the page that shows them, stay bounded). Only for an
 * emoji not on the message yet: joining an existing one is always fine.
 * The count stops at the bound. Call in the write transaction, after
 * the room lock, before writing.
 * @throws AppError limit_reached (409)
 */
function* requireEmojiSlot(trx: Kysely<Database>, messageId: string, limit: number): Steps<void> {
  const kinds = yield* countUpTo(trx, trx.selectFrom("reactions").select("emoji").distinct().where("message_id", "=", messageId), limit);
  if (kinds < limit) return;
  throw new AppError(ErrorCode.LimitReached, `This message has ${limit} different reactions, the most a message may have; react with one of those.`, {
    details: [{ path: "params.emoji", message: `${limit} distinct emoji; the limit (reactionsPerMessage) is ${limit}.` }],
  });
}

/** One message's reactions as they are in `trx` (the answer to an add or a remove). */
function* reactionsOf(trx: Kysely<Database>, messageId: string): Steps<Reaction[]> {
  return (yield* reactionsByMessage(trx, [messageId])).get(messageId) ?? [];
}

/**
 * The reactions of many messages in one query, grouped per message and
 * emoji: emoji in the order they were put on the message (group_seq; an
 * emoji keeps its place while anyone holds it), users in the order they
 * reacted: the order `withReaction` gives a client that applies the events. `upTo`: leave out reactions whose event
 * is past the durable head (RoomWriter.readableSeq), like the page itself.
 */
function* reactionsByMessage(db: Kysely<Database>, messageIds: readonly string[], upTo?: number): Steps<Map<string, Reaction[]>> {
  const byMessage = new Map<string, Reaction[]>();
  if (messageIds.length === 0) return byMessage;
  let query = db.selectFrom("reactions").select(["message_id", "emoji", "user_id"]).where("message_id", "in", messageIds);
  if (upTo !== undefined && Number.isFinite(upTo)) query = query.where("seq", "<=", upTo);
  const found = yield* rows(query.orderBy("group_seq", "asc").orderBy("seq", "asc").compile());
  for (const row of found) {
    let list = byMessage.get(row.message_id);
    if (!list) byMessage.set(row.message_id, (list = []));
    let reaction = list.find((r) => r.emoji === row.emoji);
    if (!reaction) list.push((reaction = { emoji: row.emoji, count: 0, userIds: [] }));
    reaction.userIds.push(row.user_id);
    reaction.count += 1;
  }
  return byMessage;
}

/**
 * `messages` (one history page of a room) with their reactions: `[]` for
 * a message without any, and always for a deleted one. One query for the
 * whole page, whatever its size.
 */
export async function withReactions(db: Kysely<Database>, messages: readonly Message[], upTo?: number): Promise<Message[]> {
  const live = messages.filter((m) => !m.deletedAt).map((m) => m.id);
  const byMessage = await runSteps(db, reactionsByMessage(db, live, upTo));
  return messages.map((m) => ({ ...m, reactions: byMessage.get(m.id) ?? [] }));
}
