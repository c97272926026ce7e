import { z } from "zod";
import {
  MAX_BODY_CHARS,
  MAX_CLIENT_ID_CHARS,
  MAX_DISPLAY_NAME_CHARS,
  MAX_PAGE_SIZE,
  MAX_PASSWORD_CHARS,
  MAX_ROOM_NAME_CHARS,
  MAX_TOPIC_CHARS,
  MIN_PASSWORD_CHARS,
  USERNAME_PATTERN,
} from "./limits.js";
import { MemberSchema, MessageSchema, RoomSchema, SelfSchema, UserSchema } from "./entities.js";

/**
 * HTTP bodies under /api/v1 (contract v1), one schema each: the server
 * validates with them, the web client and the tests type with them.
 */

/** A message body: 1 to 4,000 characters after trimming. */
export const MessageBodySchema = z
  .string()
  .trim()
  .min(1, "Message is empty.")
  .max(MAX_BODY_CHARS, `Message is longer than ${MAX_BODY_CHARS} characters.`);

/** A client-chosen idempotency key (a UUID is typical). */
export const ClientIdSchema = z.string().min(1).max(MAX_CLIENT_ID_CHARS);

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
    displayName: z.string().trim().min(1).max(MAX_DISPLAY_NAME_CHARS).optional(),
  })
  .refine((v) => v.password === v.passwordConfirm, {
    path: ["passwordConfirm"],
    message: "Passwords do not match.",
  });
export type SignupRequest = z.infer<typeof SignupRequestSchema>;

export const LoginRequestSchema = z.object({
  /** A username or an email address. */
  username: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(MAX_PASSWORD_CHARS),
});
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

/** Answer of signup, login and GET /me. */
export const SessionResponseSchema = z.object({
  user: SelfSchema,
  /** Send as X-CSRF-Token on every cookie-authenticated change. */
  csrfToken: z.string(),
});
export type SessionResponse = z.infer<typeof SessionResponseSchema>;

export const CreateTokenRequestSchema = z.object({
  name: z.string().trim().min(1).max(64),
});
export const CreateTokenResponseSchema = z.object({
  id: z.string(),
  /** The secret, shown once; only its hash is stored. */
  token: z.string(),
});

export const UserSearchQuerySchema = z.object({
  q: z.string().trim().max(64).optional(),
});
export const UsersResponseSchema = z.object({ users: z.array(UserSchema) });

export const CreateRoomRequestSchema = z.object({
  name: z.string().trim().min(1, "Room name is empty.").max(MAX_ROOM_NAME_CHARS),
  kind: z.enum(["public", "private"]),
  topic: z.string().trim().max(MAX_TOPIC_CHARS).optional(),
});
export type CreateRoomRequest = z.infer<typeof CreateRoomRequestSchema>;

export const RoomResponseSchema = z.object({ room: RoomSchema });
export const RoomsResponseSchema = z.object({ rooms: z.array(RoomSchema) });
export const RoomParamsSchema = z.object({ roomId: z.string().min(1).max(64) });

export const AddMemberRequestSchema = z.object({ userId: z.string().min(1).max(64) });
export const MemberResponseSchema = z.object({ member: MemberSchema });
export const MembersResponseSchema = z.object({ members: z.array(MemberSchema) });

export const DirectRequestSchema = z.object({ userId: z.string().min(1).max(64) });

/** `before`/`after` are seqs; without either, the newest page. */
export const HistoryQuerySchema = z
  .object({
    before: z.coerce.number().int().positive().optional(),
    after: z.coerce.number().int().nonnegative().optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  })
  .refine((q) => q.before === undefined || q.after === undefined, {
    message: "Give before or after, not both.",
  });
export type HistoryQuery = z.infer<typeof HistoryQuerySchema>;

export const HistoryResponseSchema = z.object({
  /** Ascending seq. */
  messages: z.array(MessageSchema),
  /** More messages exist beyond this page in the direction asked. */
  hasMore: z.boolean(),
});
export type HistoryResponse = z.infer<typeof HistoryResponseSchema>;

export const SendMessageRequestSchema = z.object({
  body: MessageBodySchema,
  clientId: ClientIdSchema.optional(),
});
export const MessageResponseSchema = z.object({ message: MessageSchema });

export const MarkReadRequestSchema = z.object({ seq: z.number().int().nonnegative() });
