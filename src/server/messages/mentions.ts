import { sql, type Kysely } from "kysely";
import type { Database } from "../store/schema.js";
import type { MemberRole, Mentions } from "@shared/protocol/entities.js";
import { rows, type Steps } from "../store/steps.js";

/**
 * Mentions: `@username` of a room member, and `@room` / `@here` for the
 * room's owners and admins. Parsed from the body on the server at send and
 * at edit, resolved against the room's members and stored in the same
 * transaction as the message (the `messages.mentions` column carries them
 * on the message; `message_mentions` rows feed per-user mention counts).
 */

/** At most this many distinct `@names` of one body are looked up; the rest are plain text. */
export const MAX_MENTION_NAMES = 50;

/**
 * `@` + a username (USERNAME_PATTERN's characters, 3 to 32), not inside a
 * word: the character before the `@` may not be a letter, digit or one of
 * `_ . + - @` (so `ada@example.com` and `a+b@x.io` are no mentions), and the
 * name may not continue with another letter, digit, `_ . -` or `@` (a name
 * longer than 32, or `@bob@host`, is no mention).
 */
const MENTION = /(?<![\p{L}\p{N}_.+\-@])@([A-Za-z0-9_.-]{3,32})(?![\p{L}\p{N}_.\-@])/gu;

/** One `@name` of a body: as written (lower case), and without trailing sentence punctuation ("@bob." → "bob"). */
export interface MentionToken {
  full: string;
  trimmed: string;
}

/** What a body asks to mention, before resolving names against the room. */
export interface ParsedMentions {
  /** Distinct tokens in order of first appearance, at most MAX_MENTION_NAMES. */
  tokens: MentionToken[];
  /** The lower-case usernames to look up: every `full` and `trimmed`, distinct. */
  names: string[];
  /** `@room` appears (whether it counts depends on the author's role). */
  room: boolean;
  /** `@here` appears (idem). */
  here: boolean;
}

/**
 * Parses the mentions of a message body. Case-insensitive: names come back
 * lower-cased (compare with `users.username_key`). `@room` and `@here` are
 * always the special mentions, never a user of that name. A body without
 * `@` costs one `includes` and returns null, as does a body whose `@`s
 * mention nothing.
 * @returns the tokens, or null when there is no candidate mention
 */
export function parseMentions(body: string): ParsedMentions | null {
  if (!body.includes("@")) return null;
  const tokens: MentionToken[] = [];
  const seen = new Set<string>();
  let room = false;
  let here = false;
  for (const match of body.matchAll(MENTION)) {
    const full = (match[1] ?? "").toLowerCase();
    const trimmed = full.replace(/[.-]+$/, "");
    if (trimmed === "room") { room = true; continue; }
    if (trimmed === "here") { here = true; continue; }
    if (seen.has(full) || tokens.length >= MAX_MENTION_NAMES) continue;
    seen.add(full);
    tokens.push({ full, trimmed });
  }
  if (tokens.length === 0 && !room && !here) return null;
  const names = new Set<string>();
  for (const t of tokens) {
    names.add(t.full);
    // "@bo." trims to "bo", which is no username (3 characters at least).
    if (t.trimmed !== t.full && t.trimmed.length >= 3) names.add(t.trimmed);
  }
  return { tokens, names: [...names], room, here };
}

/**
 * Which users the tokens mention, given the room members found by username
 * key: a token mentions the member named exactly as written, else the one
 * named without its trailing `.`/`-` ("@bob." → bob). Distinct, in order.
 */
export function pickMentioned(tokens: MentionToken[], memberIdByName: ReadonlyMap<string, string>): string[] {
  const ids: string[] = [];
  for (const t of tokens) {
    const id = memberIdByName.get(t.full) ?? memberIdByName.get(t.trimmed);
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** Whether a Mentions value mentions anyone (so it is stored and carried). */
const mentionsAnyone = (m: Mentions): boolean => m.userIds.length > 0 || m.room || m.here;

/**
 * Resolves a body's mentions among the room's members, in the caller's
 * transaction: ONE query, which also reads the author's role (`@room` and
 * `@here` count only for owners and admins; for others they are plain
 * text). Zero queries when the body has no `@`.
 * @returns null when the body mentions nobody
 */
export function* resolveMentions(
  db: Kysely<Database>,
  roomId: string,
  authorId: string,
  body: string,
): Steps<Mentions | null> {
  const parsed = parseMentions(body);
  if (!parsed) return null;
  let query = db
    .selectFrom("room_members")
    .innerJoin("users", "users.id", "room_members.user_id")
    .select(["users.id", "users.username_key", "room_members.role"])
    .where("room_members.room_id", "=", roomId);
  query = parsed.names.length > 0
    ? query.where((eb) => eb.or([eb("users.username_key", "in", parsed.names), eb("room_members.user_id", "=", authorId)]))
    : query.where("room_members.user_id", "=", authorId);
  const members = yield* rows(query.compile());
  const byName = new Map(members.map((r) => [r.username_key, r.id]));
  const role: MemberRole | undefined = members.find((r) => r.id === authorId)?.role;
  const broadcaster = role === "owner" || role === "admin";
  const mentions: Mentions = {
    userIds: pickMentioned(parsed.tokens, byName),
    room: broadcaster && parsed.room,
    here: broadcaster && parsed.here,
  };
  return mentionsAnyone(mentions) ? mentions : null;
}

/**
 * Stores the `message_mentions` rows of a message, in the caller's
 * transaction: ONE insert. Rows are per mentioned user, never the author
 * (nobody is notified of their own message); `@room` gives every member a
 * row (an insert from a select of the room's members), `@here` only the
 * named ones: who is online is ephemeral, per node, and not a stored fact.
 */
export function* storeMentions(
  db: Kysely<Database>,
  message: { id: string; roomId: string; seq: number; authorId: string },
  mentions: Mentions,
): Steps<void> {
  if (mentions.room) {
    yield* rows(db
      .insertInto("message_mentions")
      .columns(["message_id", "user_id", "room_id", "seq"])
      .expression((eb) =>
        eb
          .selectFrom("room_members")
          // Typed casts: PostgreSQL reads a bare parameter in a select list as text, which an integer column refuses.
          .select([
            sql<string>`cast(${message.id} as text)`.as("message_id"),
            "room_members.user_id",
            sql<string>`cast(${message.roomId} as text)`.as("room_id"),
            sql<number>`cast(${message.seq} as integer)`.as("seq"),
          ])
          .where("room_members.room_id", "=", message.roomId)
          .where("room_members.user_id", "!=", message.authorId),
      )
      .compile());
    return;
  }
  const others = mentions.userIds.filter((id) => id !== message.authorId);
  if (others.length === 0) return;
  yield* rows(db
    .insertInto("message_mentions")
    .values(others.map((userId) => ({ message_id: message.id, user_id: userId, room_id: message.roomId, seq: message.seq })))
    .compile());
}

/** Removes a message's `message_mentions` rows (an edit recomputes them; a deletion drops them). */
export function* clearMentions(db: Kysely<Database>, roomId: string, seq: number): Steps<void> {
  yield* rows(db.deleteFrom("message_mentions").where("room_id", "=", roomId).where("seq", "=", seq).compile());
}

/** The stored column value of a message's mentions (null: none). */
export const mentionsColumn = (m: Mentions | null): string | null => (m && mentionsAnyone(m) ? JSON.stringify(m) : null);
