import { z } from "zod";
import {
  MAX_BODY_CHARS,
  MAX_CLIENT_ID_CHARS,
  MAX_DISPLAY_NAME_CHARS,
  MAX_PAGE_SIZE,
  MAX_PASSWORD_CHARS,
  MAX_ROOM_NAME_CHARS,
  MAX_SEQ,
  MAX_TOPIC_CHARS,
  MIN_PASSWORD_CHARS,
  USERNAME_PATTERN,
} from "./limits.js";
import { MemberSchema, MessageSchema, MessageVersionSchema, RoomSchema, SelfSchema, UserSchema } from "./entities.js";
import { bodyText, idText, nameText, queryText } from "./text.js";
import { AttachmentIdsSchema } from "./attachments.js";
import { MAX_SEARCH_PAGE_SIZE, SearchRequestSchema, SearchResponseSchema, type SearchSort } from "./search.js";

/**
 * HTTP bodies under /api/v1 (contract v1), one schema each: the server
 * validates with them, the web client and the tests type with them.
 */

/**
 * A message body: 1 to 4,000 characters after trimming and NFC, with a
 * visible character; no control characters but \n and \t (text.ts).
 */
export const MessageBodySchema = bodyText({ label: "Message", max: MAX_BODY_CHARS });

/**
 * A send's text when it may be left out (ext, issue 17): the rules of
 * MessageBodySchema, but empty (or only whitespace, trimmed to "") is
 * allowed, since a message that carries files needs no text. The send
 * schemas pair it with `requireTextOrFiles`.
 */
export const OptionalMessageBodySchema = bodyText({ label: "Message", max: MAX_BODY_CHARS, min: 0 });

/**
 * A send needs text or a file (ext, issue 17). Without attachments the text
 * is checked as in contract v1 (MessageBodySchema), so a send with neither
 * gets v1's answer, word for word: validation_failed on `body`. Use with
 * `textOrFilesWhen`.
 */
export function requireTextOrFiles(
  send: { body?: string | undefined; attachments?: string[] | undefined },
  ctx: z.core.$RefinementCtx<unknown>,
): void {
  if ((send.attachments?.length ?? 0) > 0) return;
  if (typeof send.body === "string" && send.body.length > 0) return;
  for (const issue of MessageBodySchema.safeParse(send.body).error?.issues ?? []) {
    ctx.addIssue({ code: "custom", path: ["body", ...issue.path], message: issue.message, input: send.body });
  }
}

/**
 * When `requireTextOrFiles` runs: also when another field failed (as v1's
 * own check of `body` did, so both are reported), but not when `body` or
 * `attachments` has an issue of its own already.
 */
export const textOrFilesWhen = {
  when: (payload: z.core.ParsePayload): boolean =>
    typeof payload.value === "object" &&
    payload.value !== null &&
    !payload.issues.some((issue) => issue.path?.[0] === "body" || issue.path?.[0] === "attachments"),
};

/** A client-chosen idempotency key (a UUID is typical). */
export const ClientIdSchema = idText({ label: "clientId", max: MAX_CLIENT_ID_CHARS });

export const UsernameSchema = z
  .string()
  .trim()
  .regex(USERNAME_PATTERN, "Username must be 3 to 32 characters of a-z, 0-9, _, . and -.");

export const SignupRequestSchema = z
  .object({
    email: z.string().trim().max(254).pipe(z.email("Email is not a valid address.")),
    username: UsernameSchema,
    password: z
      .string()
      .min(MIN_PASSWORD_CHARS, `Password must be at least ${MIN_PASSWORD_CHARS} characters.`)
      .max(MAX_PASSWORD_CHARS),
    passwordConfirm: z.string().max(MAX_PASSWORD_CHARS),
    displayName: nameText({ label: "Display name", max: MAX_DISPLAY_NAME_CHARS }).optional(),
  })
  .refine((v) => v.password === v.passwordConfirm, {
    path: ["passwordConfirm"],
    message: "Passwords do not match.",
  })
  .meta({ id: "Signup" });
export type SignupRequest = z.infer<typeof SignupRequestSchema>;

export const LoginRequestSchema = z.object({
  /** A username or an email address. */
  username: queryText({ label: "Username", min: 1, max: 254 }),
  password: z.string().min(1).max(MAX_PASSWORD_CHARS),
}).meta({ id: "Login" });
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

/** Answer of signup, login and GET /me. */
export const SessionResponseSchema = z.object({
  user: SelfSchema,
  /** Send as X-CSRF-Token on every cookie-authenticated change. */
  csrfToken: z.string(),
}).meta({ id: "SessionResponse" });
export type SessionResponse = z.infer<typeof SessionResponseSchema>;

/**
 * GET /session (ext): whether the caller has a session, answered 200 either
 * way, so a browser can check on load without a 401 in its console (GET /me
 * stays 401 when unauthenticated: contract v1).
 */
export const SessionStateResponseSchema = z.discriminatedUnion("authenticated", [
  z.object({ authenticated: z.literal(false) }),
  z.object({
    authenticated: z.literal(true),
    user: SelfSchema,
    /** As GET /me: send as X-CSRF-Token; "" for a Bearer caller. */
    csrfToken: z.string(),
  }),
]).meta({ id: "SessionState" });
export type SessionStateResponse = z.infer<typeof SessionStateResponseSchema>;

export const CreateTokenRequestSchema = z.object({
  name: nameText({ label: "Token name", max: 64 }),
}).meta({ id: "CreateToken" });
export const CreateTokenResponseSchema = z.object({
  id: z.string(),
  /** The secret, shown once; only its hash is stored. */
  token: z.string(),
}).meta({ id: "CreateTokenResponse" });

export const UserSearchQuerySchema = z.object({
  q: queryText({ label: "Search", max: 64 }).optional(),
});
export const UsersResponseSchema = z.object({ users: z.array(UserSchema) }).meta({ id: "UsersResponse" });

export const CreateRoomRequestSchema = z.object({
  name: nameText({ label: "Room name", max: MAX_ROOM_NAME_CHARS }),
  kind: z.enum(["public", "private"]),
  topic: nameText({ label: "Topic", min: 0, max: MAX_TOPIC_CHARS }).optional(),
}).meta({ id: "CreateRoom" });
export type CreateRoomRequest = z.infer<typeof CreateRoomRequestSchema>;

export const RoomResponseSchema = z.object({ room: RoomSchema }).meta({ id: "RoomResponse" });
export const RoomsResponseSchema = z.object({ rooms: z.array(RoomSchema) }).meta({ id: "RoomsResponse" });
export const RoomParamsSchema = z.object({ roomId: idText({ label: "Room id", max: 64 }) });

export const AddMemberRequestSchema = z.object({ userId: idText({ label: "User id", max: 64 }) }).meta({ id: "AddMember" });
export const MemberResponseSchema = z.object({ member: MemberSchema }).meta({ id: "MemberResponse" });
export const MembersResponseSchema = z.object({ members: z.array(MemberSchema) }).meta({ id: "MembersResponse" });

export const DirectRequestSchema = z.object({ userId: idText({ label: "User id", max: 64 }) }).meta({ id: "Direct" });

/** `before`/`after` are seqs; without either, the newest page. */
export const HistoryQuerySchema = z
  .object({
    before: z.coerce.number().int().positive().max(MAX_SEQ).optional(),
    after: z.coerce.number().int().nonnegative().max(MAX_SEQ).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
    /** (ext) The page containing this seq: about half the page before it, the rest from it on. */
    around: z.coerce.number().int().positive().max(MAX_SEQ).optional(),
    /**
     * (ext, issue 18) Search this room instead of paging it (the seed's
     * `?search=`): the answer is a SearchResponse, as GET /search with this
     * room's id; the query syntax is search.ts's. With `sort` and `cursor`;
     * `limit` is then 1 to 50 (default 20); never with before, after or around.
     */
    search: SearchRequestSchema.shape.q.optional(),
    /** (ext) With `search`: relevance (default) or date (newest first). Without `search`, ignored as before. */
    sort: z.string().max(20).optional(),
    /** (ext) With `search`: the previous page's `nextCursor`. Without `search`, ignored as before. */
    cursor: SearchRequestSchema.shape.cursor,
  })
  .refine((q) => [q.before, q.after, q.around].filter((v) => v !== undefined).length <= 1, {
    message: "Give at most one of before, after and around.",
  })
  .superRefine((q, ctx) => {
    // Without search, contract v1's page, unchanged: parameters it never knew are ignored, as they always were.
    if (q.search === undefined) return;
    if (q.sort !== undefined && !SearchRequestSchema.shape.sort.unwrap().options.includes(q.sort as SearchSort)) {
      ctx.addIssue({ code: "custom", path: ["sort"], message: "sort is relevance or date." });
    }
    if (q.before !== undefined || q.after !== undefined || q.around !== undefined) {
      ctx.addIssue({ code: "custom", path: ["search"], message: "A search pages by cursor: give no before, after or around with it." });
    }
    if (q.limit !== undefined && q.limit > MAX_SEARCH_PAGE_SIZE) {
      ctx.addIssue({ code: "custom", path: ["limit"], message: `With search, limit is 1 to ${MAX_SEARCH_PAGE_SIZE}.` });
    }
  });
export type HistoryQuery = z.infer<typeof HistoryQuerySchema>;

export const HistoryResponseSchema = z.object({
  /** Ascending seq. */
  messages: z.array(MessageSchema),
  /** More messages exist beyond this page in the direction asked (for `around`: older ones). */
  hasMore: z.boolean(),
  /** Only for `around` (ext): newer messages exist after this page. */
  hasMoreAfter: z.boolean().optional(),
}).meta({ id: "HistoryResponse" });
export type HistoryResponse = z.infer<typeof HistoryResponseSchema>;

/**
 * GET /rooms/:roomId/messages's answer: a HistoryResponse, or (ext, issue
 * 18) with `?search=` a SearchResponse of that room. `"results" in body`
 * tells them apart.
 */
export const RoomMessagesResponseSchema = z.union([HistoryResponseSchema, SearchResponseSchema]);
export type RoomMessagesResponse = z.infer<typeof RoomMessagesResponseSchema>;

export const SendMessageRequestSchema = z.object({
  /** 1 to 4,000 characters; may be "" or left out when `attachments` names a file (ext). */
  body: OptionalMessageBodySchema.optional(),
  clientId: ClientIdSchema.optional(),
  /** Reply to this message of the room (ext); a reply to a reply joins the root's thread. */
  replyTo: idText({ label: "replyTo", max: 64 }).optional(),
  /** With replyTo (ext): a thread reply, shown in the thread only (the message's `inThread`). Default false: a quote-reply. */
  inThread: z.boolean().optional(),
  /** With inThread (ext): also put the reply in the room's timeline (Slack's "also send to channel"). Default false. */
  alsoInRoom: z.boolean().optional(),
  /** Files (ext): ids of the sender's pending uploads (POST /uploads), at most the server's attachments per message (default 10). */
  attachments: AttachmentIdsSchema.optional(),
}).superRefine(requireTextOrFiles, textOrFilesWhen).meta({ id: "SendMessage" });
export const MessageResponseSchema = z.object({ message: MessageSchema }).meta({ id: "MessageResponse" });

/** PATCH /rooms/:roomId/messages/:messageId: the new text, under the same rules as a send. */
export const EditMessageRequestSchema = z.object({ body: MessageBodySchema }).meta({ id: "EditMessage" });
export const MessageParamsSchema = z.object({
  roomId: idText({ label: "Room id", max: 64 }),
  messageId: idText({ label: "Message id", max: 64 }),
});
/** GET …/edits: the earlier versions of a message, oldest first (empty once deleted). */
export const MessageEditsResponseSchema = z.object({ edits: z.array(MessageVersionSchema) }).meta({ id: "MessageEditsResponse" });
export type MessageEditsResponse = z.infer<typeof MessageEditsResponseSchema>;

export const MarkReadRequestSchema = z.object({ seq: z.number().int().nonnegative().max(MAX_SEQ) }).meta({ id: "MarkRead" });

/** POST /rooms/:roomId/delivered (receipts): everything up to and including `seq` reached one of the caller's devices. */
export const MarkDeliveredRequestSchema = z.object({ seq: z.number().int().nonnegative().max(MAX_SEQ) }).meta({ id: "MarkDelivered" });
/** Positions by user id (receipts): the highest seq each member has read, or received. */
const PositionsSchema = z.record(z.string(), z.number().int().nonnegative().max(MAX_SEQ));
/**
 * GET /rooms/:roomId/receipts: every member's read and delivered position.
 * A read implies delivery: a client shows max(delivered, read) as delivered.
 */
export const ReceiptsResponseSchema = z.object({ reads: PositionsSchema, delivered: PositionsSchema }).meta({ id: "ReceiptsResponse" });
export type ReceiptsResponse = z.infer<typeof ReceiptsResponseSchema>;
/** POST /rooms/read-all: the rooms whose read position moved, with the position now stored (others are left out). */
export const ReadAllResponseSchema = z.object({ rooms: PositionsSchema }).meta({ id: "ReadAllResponse" });
export type ReadAllResponse = z.infer<typeof ReadAllResponseSchema>;

/** GET …/messages/:messageId/replies: `after` is a seq (replies after it), limit ≤ 100, default 50. */
export const RepliesQuerySchema = z.object({
  after: z.coerce.number().int().nonnegative().max(MAX_SEQ).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
});
export type RepliesQuery = z.infer<typeof RepliesQuerySchema>;

/** A thread (ext): its root (with replyCount, lastReplyAt) and a page of its replies, ascending seq. */
export const RepliesResponseSchema = z.object({
  root: MessageSchema,
  replies: z.array(MessageSchema),
  /** More replies exist after this page. */
  hasMore: z.boolean(),
}).meta({ id: "RepliesResponse" });
export type RepliesResponse = z.infer<typeof RepliesResponseSchema>;
