/**
 * The typed HTTP client for /api/v1 (DESIGN.md contract v1).
 *
 * Every answer is checked against its shared zod schema, so a component
 * never trusts a shape because of a type annotation. Every failure, from
 * the server or from the network, surfaces as one `ApiError` with a stable
 * `code` that the UI switches on.
 */
import type { z } from "zod";
import {
  ErrorBodySchema,
  ReactionsResponseSchema,
  type Reaction,
  HistoryResponseSchema,
  MemberResponseSchema,
  MembersResponseSchema,
  MessageEditsResponseSchema,
  MessageResponseSchema,
  RepliesResponseSchema,
  type RepliesResponse,
  ReadAllResponseSchema,
  ReceiptsResponseSchema,
  RoomResponseSchema,
  RoomsResponseSchema,
  SessionResponseSchema,
  SessionStateResponseSchema,
  UsersResponseSchema,
  type CreateRoomRequest,
  type ReceiptsResponse,
  type ErrorDetail,
  type HistoryResponse,
  type LoginRequest,
  type Member,
  type Message,
  type MessageVersion,
  type Room,
  type SessionResponse,
  type SignupRequest,
  type User,
} from "@shared/protocol/index.js";
import { SearchResponseSchema, type SearchRequest, type SearchResponse } from "@shared/protocol/search.js";
import {
  NotificationSettingsResponseSchema,
  PushSubscriptionsResponseSchema,
  RoomNotificationsResponseSchema,
  type NotificationSettingsResponse,
  type PushSubscription,
  type RoomNotifications,
  type UpdateNotificationSettingsRequest,
  type UpdateRoomNotificationsRequest,
} from "@shared/protocol/notifications.js";

/** Codes the client itself produces, next to the server's ErrorCode values. */
export const ClientErrorCode = {
  /** fetch rejected: offline, DNS, connection refused. */
  Network: "network_error",
  /** The server answered with a shape the shared schema does not accept. */
  BadResponse: "bad_response",
} as const;

/** A failed API call: the HTTP status (0 when none), the stable code, the field details. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
  }
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface RequestOptions<S extends z.ZodType | null> {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** The answer's schema, or null for a 204. */
  schema: S;
  /** Aborts the request (a search overtaken by the next keystroke): the call rejects with the signal's reason, not an ApiError. */
  signal?: AbortSignal;
}

type Answer<S> = S extends z.ZodType ? z.infer<S> : void;

/**
 * Low-level transport: JSON in and out, the CSRF header on every POST,
 * same-origin cookies. Holds the CSRF token that signup, login and /me hand out.
 */
export class HttpTransport {
  private csrfToken: string | null = null;

  /**
   * @param baseUrl prefix of every path ("/api/v1" in the browser).
   * @param onUnauthenticated called when a call that needed a session got a 401,
   *   so the app can go back to the login screen.
   */
  constructor(
    readonly baseUrl = "/api/v1",
    private readonly onUnauthenticated: () => void = () => {},
  ) {}

  setCsrfToken(token: string | null): void {
    this.csrfToken = token;
  }

  /** The session's CSRF token, for a request made without `request` (uploads go over XMLHttpRequest: api/uploads.ts). */
  get csrf(): string | null {
    return this.csrfToken;
  }

  async request<S extends z.ZodType | null>(
    method: Method,
    path: string,
    options: RequestOptions<S>,
  ): Promise<Answer<S>> {
    const url = this.baseUrl + path + queryString(options.query);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && this.csrfToken) headers["X-CSRF-Token"] = this.csrfToken;

    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ApiError(0, ClientErrorCode.Network, "Cannot reach the server. Check your connection.");
    }

    if (!response.ok) {
      const error = await errorFrom(response);
      // Login and /me answer 401 as a normal outcome; anywhere else it means
      // the session ended under us (logout in another tab, expiry).
      if (error.status === 401 && !isSessionProbe(path)) this.onUnauthenticated();
      throw error;
    }
    if (options.schema === null) return undefined as Answer<S>;

    const json: unknown = await response.json().catch(() => undefined);
    // Aborted while the body was arriving: the caller asked for nothing more.
    if (options.signal?.aborted) throw options.signal.reason;
    const parsed = options.schema.safeParse(json);
    if (!parsed.success) {
      console.warn("Unexpected answer from", method, path, parsed.error.issues);
      throw new ApiError(response.status, ClientErrorCode.BadResponse, "The server sent an unexpected answer.");
    }
    return parsed.data as Answer<S>;
  }
}

function isSessionProbe(path: string): boolean {
  return path === "/me" || path.startsWith("/auth/");
}

function queryString(query: RequestOptions<null>["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function errorFrom(response: Response): Promise<ApiError> {
  const json: unknown = await response.json().catch(() => undefined);
  const parsed = ErrorBodySchema.safeParse(json);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new ApiError(response.status, code, message, details ?? []);
  }
  return new ApiError(response.status, `http_${response.status}`, `The server answered ${response.status}.`);
}

/** Query of GET /rooms/:id/messages: `before`/`after`/`around` are seqs (at most one). */
export interface HistoryCursor {
  before?: number;
  after?: number;
  /** The page containing this seq (ext): about half the page before it, the rest from it on. */
  around?: number;
  limit?: number;
}

/**
 * The API, one method per endpoint. Methods that open a session also
 * remember its CSRF token for the calls that follow.
 */
export class ParleyApi {
  constructor(readonly transport: HttpTransport) {}

  async signup(body: SignupRequest): Promise<SessionResponse> {
    return this.remember(await this.transport.request("POST", "/auth/signup", { body, schema: SessionResponseSchema }));
  }

  async login(body: LoginRequest): Promise<SessionResponse> {
    return this.remember(await this.transport.request("POST", "/auth/login", { body, schema: SessionResponseSchema }));
  }

  async logout(): Promise<void> {
    try {
      await this.transport.request("POST", "/auth/logout", { schema: null });
    } finally {
      this.transport.setCsrfToken(null);
    }
  }

  /** The current session; throws ApiError 401 when there is none. */
  async me(): Promise<SessionResponse> {
    return this.remember(await this.transport.request("GET", "/me", { schema: SessionResponseSchema }));
  }

  /**
   * The session, if there is one, or null: GET /session answers 200 either
   * way, so loading the sign-in page logs no failed request (GET /me would
   * answer 401, which browsers print in the console).
   */
  async session(): Promise<SessionResponse | null> {
    const state = await this.transport.request("GET", "/session", { schema: SessionStateResponseSchema });
    return state.authenticated ? this.remember({ user: state.user, csrfToken: state.csrfToken }) : null;
  }

  async searchUsers(q: string): Promise<User[]> {
    return (await this.transport.request("GET", "/users", { query: { q }, schema: UsersResponseSchema })).users;
  }

  async myRooms(): Promise<Room[]> {
    return (await this.transport.request("GET", "/rooms", { schema: RoomsResponseSchema })).rooms;
  }

  async publicRooms(): Promise<Room[]> {
    return (await this.transport.request("GET", "/rooms/public", { schema: RoomsResponseSchema })).rooms;
  }

  async createRoom(body: CreateRoomRequest): Promise<Room> {
    return (await this.transport.request("POST", "/rooms", { body, schema: RoomResponseSchema })).room;
  }

  async room(roomId: string): Promise<Room> {
    return (await this.transport.request("GET", `/rooms/${enc(roomId)}`, { schema: RoomResponseSchema })).room;
  }

  async joinRoom(roomId: string): Promise<Room> {
    return (await this.transport.request("POST", `/rooms/${enc(roomId)}/join`, { schema: RoomResponseSchema })).room;
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.transport.request("POST", `/rooms/${enc(roomId)}/leave`, { schema: null });
  }

  async members(roomId: string): Promise<Member[]> {
    return (await this.transport.request("GET", `/rooms/${enc(roomId)}/members`, { schema: MembersResponseSchema }))
      .members;
  }

  async addMember(roomId: string, userId: string): Promise<Member> {
    return (
      await this.transport.request("POST", `/rooms/${enc(roomId)}/members`, {
        body: { userId },
        schema: MemberResponseSchema,
      })
    ).member;
  }

  /** The one direct room with this user, created on first use. */
  async direct(userId: string): Promise<Room> {
    return (await this.transport.request("POST", "/direct", { body: { userId }, schema: RoomResponseSchema })).room;
  }

  async history(roomId: string, cursor: HistoryCursor = {}): Promise<HistoryResponse> {
    return this.transport.request("GET", `/rooms/${enc(roomId)}/messages`, {
      query: { before: cursor.before, after: cursor.after, around: cursor.around, limit: cursor.limit },
      schema: HistoryResponseSchema,
    });
  }

  /**
   * GET /search: a page of the messages I may read that match `request.q`
   * (syntax: shared/protocol/search.ts). `signal` aborts it; the call then
   * rejects with the abort's reason (a DOMException "AbortError"), never an
   * ApiError. @throws ApiError validation_failed, not_found, forbidden, rate_limited…
   */
  async search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResponse> {
    return this.transport.request("GET", "/search", {
      query: { q: request.q, roomId: request.roomId, sort: request.sort, cursor: request.cursor, limit: request.limit },
      schema: SearchResponseSchema,
      signal,
    });
  }

  async sendMessage(roomId: string, body: string, clientId?: string): Promise<Message> {
    return (
      await this.transport.request("POST", `/rooms/${enc(roomId)}/messages`, {
        body: { body, clientId },
        schema: MessageResponseSchema,
      })
    ).message;
  }

  /** Edits one's own message; answers the message as it now is. */
  async editMessage(roomId: string, messageId: string, body: string): Promise<Message> {
    return (
      await this.transport.request("PATCH", `/rooms/${enc(roomId)}/messages/${enc(messageId)}`, {
        body: { body },
        schema: MessageResponseSchema,
      })
    ).message;
  }

  /** Deletes a message for everyone; answers its tombstone. */
  async deleteMessage(roomId: string, messageId: string): Promise<Message> {
    return (
      await this.transport.request("DELETE", `/rooms/${enc(roomId)}/messages/${enc(messageId)}`, { schema: MessageResponseSchema })
    ).message;
  }

  /**
   * Adds (`on`) or takes back the caller's `emoji` reaction: PUT or DELETE
   * on the emoji's URL, both idempotent. Resolves with the message's
   * reactions as they now are.
   */
  async setReaction(roomId: string, messageId: string, emoji: string, on: boolean): Promise<Reaction[]> {
    const path = `/rooms/${enc(roomId)}/messages/${enc(messageId)}/reactions/${enc(emoji)}`;
    return (await this.transport.request(on ? "PUT" : "DELETE", path, { schema: ReactionsResponseSchema })).reactions;
  }

  /** A thread: its root and a page of replies after seq `after`, ascending. */
  async replies(roomId: string, messageId: string, page: { after?: number; limit?: number } = {}): Promise<RepliesResponse> {
    return this.transport.request("GET", `/rooms/${enc(roomId)}/messages/${enc(messageId)}/replies`, {
      query: { after: page.after, limit: page.limit },
      schema: RepliesResponseSchema,
    });
  }

  /** Earlier versions of a message, oldest first. */
  async messageEdits(roomId: string, messageId: string): Promise<MessageVersion[]> {
    return (
      await this.transport.request("GET", `/rooms/${enc(roomId)}/messages/${enc(messageId)}/edits`, {
        schema: MessageEditsResponseSchema,
      })
    ).edits;
  }

  async markRead(roomId: string, seq: number): Promise<void> {
    await this.transport.request("POST", `/rooms/${enc(roomId)}/read`, { body: { seq }, schema: null });
  }

  /** Every member's read and delivered position in a room (receipts). */
  async receipts(roomId: string): Promise<ReceiptsResponse> {
    return this.transport.request("GET", `/rooms/${enc(roomId)}/receipts`, { schema: ReceiptsResponseSchema });
  }

  /** Marks every room read; answers the rooms that moved with their new read position. */
  async readAll(): Promise<Record<string, number>> {
    return (await this.transport.request("POST", "/rooms/read-all", { schema: ReadAllResponseSchema })).rooms;
  }

  // ---- notifications (issue 19) ----

  /** The account's notification settings, whether email digests exist here, and the Web Push key. */
  async notificationSettings(): Promise<NotificationSettingsResponse> {
    return this.transport.request("GET", "/notifications/settings", { schema: NotificationSettingsResponseSchema });
  }

  /** Changes some of the account's settings; answers them all as they now are. @throws ApiError validation_failed, rate_limited */
  async updateNotificationSettings(body: UpdateNotificationSettingsRequest): Promise<NotificationSettingsResponse> {
    return this.transport.request("PATCH", "/notifications/settings", { body, schema: NotificationSettingsResponseSchema });
  }

  /** Sets a room's level and/or mute for me; answers the room's settings as they now are. @throws ApiError not_found, validation_failed, rate_limited */
  async setRoomNotifications(roomId: string, body: UpdateRoomNotificationsRequest): Promise<RoomNotifications> {
    return (await this.transport.request("PUT", `/rooms/${enc(roomId)}/notifications`, { body, schema: RoomNotificationsResponseSchema }))
      .notifications;
  }

  /** My devices subscribed to Web Push. */
  async pushSubscriptions(): Promise<PushSubscription[]> {
    return (await this.transport.request("GET", "/push/subscriptions", { schema: PushSubscriptionsResponseSchema })).subscriptions;
  }

  /** Removes one of my push subscriptions (that device gets no more pushes). */
  async deletePushSubscription(subscriptionId: string): Promise<void> {
    await this.transport.request("DELETE", `/push/subscriptions/${enc(subscriptionId)}`, { schema: null });
  }

  /** Asks the server to push a test notification to one device (202: queued). */
  async testPushSubscription(subscriptionId: string): Promise<void> {
    await this.transport.request("POST", `/push/subscriptions/${enc(subscriptionId)}/test`, { schema: null });
  }

  private remember(session: SessionResponse): SessionResponse {
    this.transport.setCsrfToken(session.csrfToken);
    return session;
  }
}

function enc(id: string): string {
  return encodeURIComponent(id);
}
