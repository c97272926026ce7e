/**
 * ChatClient: what the UI calls to do things, and the place where HTTP
 * answers and socket frames are turned into store actions.
 *
 * Components read the store (`useChat`) and call methods here; they never
 * talk to fetch or the WebSocket themselves. One ChatClient lives for the
 * page; `begin` and `end` bracket a signed-in session.
 */
import type { Attachment, CreateRoomRequest, Member, MessageVersion, Room, RoomEvent, Self, User } from "@shared/protocol/index.js";
import { ApiError, type ParleyApi } from "@web/api/http";
import { RealtimeConnection, type WebSocketLike } from "@web/realtime/socket";
import type { ThreadPlacement } from "@web/realtime/outbox";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "@shared/protocol/index.js";
import { resumeCursor } from "@web/state/chatReducer";
import { ChatStore } from "@web/state/store";
import { EphemeralStore } from "@web/presence/ephemeral";
import { ReceiptsStore } from "@web/state/receipts";
import { watchActivity } from "@web/presence/activity";
import { holdsSeq } from "@web/state/timeline";
import { JumpRequests } from "@web/search/jump";
import type { SearchRequest, SearchResponse } from "@shared/protocol/search.js";
import type {
  Notification as ParleyNotification,
  NotificationSettingsResponse,
  PushSubscription,
  RoomNotifications,
  UpdateNotificationSettingsRequest,
  UpdateRoomNotificationsRequest,
} from "@shared/protocol/notifications.js";

export interface ChatClientOptions {
  api: ParleyApi;
  /** The /ws URL. */
  socketUrl: string;
  createSocket?: (url: string) => WebSocketLike;
  isOnline?: () => boolean;
}

/** Why the signed-in session ended: the user signed out, or the server ended it. */
export type SessionEndReason = "logout" | "expired";

/** Delay before fetching a room that events mention but the client does not track yet. */
const ORPHAN_FETCH_DELAY_MS = 300;
/** Jumping to a quoted message fetches at most this many older pages (50 messages each) to reach it. */
const REVEAL_MAX_PAGES = 20;
/** Delay before refreshing a room's settings after membership events (coalesces bursts). */
const ROOM_REFRESH_DELAY_MS = 400;
/** Delivery receipts are batched: at most one `room.delivered` per room per this many ms, with the highest seq. */
const DELIVERED_BATCH_MS = 300;
/** Catching up a window that reached the present again fetches at most this many pages of what arrived meanwhile. */
const CATCH_UP_MAX_PAGES = 20;
/** Opening a message waits at most this long for a page already on its way before asking its own. */
const PAGE_WAIT_MS = 10_000;

export class ChatClient {
  readonly store = new ChatStore();
  /** Typing and presence: ephemeral, replaced by each `ready`. */
  readonly ephemeral = new EphemeralStore();
  /** Members' read and delivered positions of the rooms opened (receipts). */
  readonly receipts = new ReceiptsStore();
  /** Messages to open in their conversation (search results), taken by the room's view. */
  readonly jumps = new JumpRequests();
  /** Highest seq received per room not yet reported as delivered; flushed by one timer. */
  private readonly pendingDelivered = new Map<string, number>();
  private deliveredTimer: ReturnType<typeof setTimeout> | null = null;
  /** This tab's activity as last reported (a new socket starts active on the server). */
  private activity: "active" | "idle" = "active";
  private stopWatchingActivity: (() => void) | null = null;
  readonly api: ParleyApi;
  private connection: RealtimeConnection | null = null;
  private readySeen = false;
  /** Bumped by every begin/end, so a begin that was overtaken stops before opening a socket. */
  private generation = 0;
  private readonly roomFetches = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly sentReads = new Map<string, number>();
  private readonly endListeners = new Set<(reason: SessionEndReason) => void>();
  private readonly notificationListeners = new Set<(notification: ParleyNotification) => void>();

  constructor(private readonly options: ChatClientOptions) {
    this.api = options.api;
  }

  // ---- session ----

  /** Starts a signed-in session: rooms first (they are the resume cursor), then the socket. */
  async begin(me: Self): Promise<void> {
    this.end();
    const generation = this.generation;
    this.store.dispatch({ type: "session.started", me });
    this.readySeen = false;
    try {
      const rooms = await this.api.myRooms();
      if (generation !== this.generation) return;
      this.store.dispatch({ type: "rooms.loaded", rooms });
    } catch (error) {
      // The socket's first `ready` retries the list.
      console.warn("Loading rooms failed", error);
    }
    if (generation !== this.generation) return; // ended or restarted meanwhile
    void this.loadNotificationSettings();
    this.connection = this.createConnection();
    this.connection.start();
    if (typeof document !== "undefined") this.stopWatchingActivity = watchActivity((state) => this.setActivity(state));
  }

  /** Ends the session locally: socket closed, state forgotten. */
  end(): void {
    this.generation += 1;
    this.connection?.stop();
    this.connection = null;
    this.stopWatchingActivity?.();
    this.stopWatchingActivity = null;
    this.activity = "active";
    this.ephemeral.reset();
    for (const timer of this.roomFetches.values()) clearTimeout(timer);
    this.roomFetches.clear();
    this.sentReads.clear();
    this.receipts.reset();
    this.pendingDelivered.clear();
    if (this.deliveredTimer !== null) clearTimeout(this.deliveredTimer);
    this.deliveredTimer = null;
    this.store.dispatch({ type: "session.ended" });
  }

  async logout(): Promise<void> {
    try {
      await this.api.logout();
    } catch (error) {
      // Signed out locally either way; the cookie dies with its session server-side.
      console.warn("Logout request failed", error);
    } finally {
      this.end();
      this.emitEnd("logout");
    }
  }

  /**
   * The server says the session is over (an API 401, close 4401, a failed
   * session check): forget everything and tell the app to show sign-in.
   */
  sessionExpired(): void {
    if (this.store.getState().me === null) return;
    this.end();
    this.emitEnd("expired");
  }

  /** Subscribes to the end of the signed-in session; returns the unsubscribe. */
  onSessionEnded(listener: (reason: SessionEndReason) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  private emitEnd(reason: SessionEndReason): void {
    for (const listener of [...this.endListeners]) listener(reason);
  }

  // ---- environment ----

  setPageVisible(visible: boolean): void {
    this.store.dispatch({ type: "page.visibility", visible });
  }

  networkChanged(online: boolean): void {
    this.connection?.networkChanged(online);
  }

  reconnectNow(): void {
    this.connection?.reconnectNow();
  }

  /** Test hook: cut the socket as a network failure would. */
  simulateDrop(): void {
    this.connection?.simulateDrop();
  }

  // ---- rooms ----

  /** Makes `roomId` the open room and loads its newest messages the first time. */
  openRoom(roomId: string | null): void {
    this.store.dispatch({ type: "room.activated", roomId });
    if (roomId === null) return;
    const timeline = this.store.getState().timelines[roomId];
    if (!timeline || (!timeline.loaded && timeline.loading === null)) void this.loadLatest(roomId);
  }

  async loadLatest(roomId: string): Promise<void> {
    const generation = this.generation;
    this.store.dispatch({ type: "history.loading", roomId, page: "latest" });
    try {
      const page = await this.api.history(roomId, { limit: DEFAULT_PAGE_SIZE });
      if (generation !== this.generation) return; // answer for a session that has ended
      this.store.dispatch({ type: "history.loaded", roomId, page: "latest", messages: page.messages, hasMore: page.hasMore });
      for (const message of page.messages) this.connection?.settle(message.clientId);
      const newest = page.messages[page.messages.length - 1];
      if (newest) this.noteDelivered(roomId, newest.seq);
    } catch (error) {
      if (generation === this.generation) this.store.dispatch({ type: "history.failed", roomId, error: messageOf(error) });
    }
  }

  /** Fetches the page before the oldest message held (scrolling up). */
  async loadOlder(roomId: string): Promise<void> {
    const timeline = this.store.getState().timelines[roomId];
    const before = timeline?.messages[0]?.seq;
    if (!timeline || !timeline.loaded || !timeline.hasOlder || timeline.loading !== null || before === undefined) return;
    const generation = this.generation;
    const windowAt = timeline.window;
    this.store.dispatch({ type: "history.loading", roomId, page: "older" });
    try {
      const page = await this.api.history(roomId, { before, limit: DEFAULT_PAGE_SIZE });
      if (generation !== this.generation) return;
      this.store.dispatch({ type: "history.loaded", roomId, page: "older", messages: page.messages, hasMore: page.hasMore, window: windowAt });
    } catch (error) {
      if (generation === this.generation) this.store.dispatch({ type: "history.failed", roomId, error: messageOf(error) });
    }
  }

  /**
   * Makes the message of seq `seq` part of the room's timeline: nothing to
   * do when it is held; else, once any page on its way has arrived, the
   * page around it (`around=<seq>`), which replaces the window unless it
   * overlaps it (state/timeline.ts, `withPage`).
   * @returns whether the timeline now holds it
   */
  async loadAround(roomId: string, seq: number): Promise<boolean> {
    const generation = this.generation;
    const deadline = Date.now() + PAGE_WAIT_MS;
    // A page already on its way (the room's first page, when it was just opened) may hold it: wait for it rather than race it.
    while ((this.store.getState().timelines[roomId]?.loading ?? null) !== null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (generation !== this.generation) return false;
    const before = this.store.getState().timelines[roomId];
    if (before && holdsSeq(before, seq)) return true;
    this.store.dispatch({ type: "history.loading", roomId, page: "around" });
    try {
      const page = await this.api.history(roomId, { around: seq, limit: DEFAULT_PAGE_SIZE });
      if (generation !== this.generation) return false;
      this.store.dispatch({ type: "history.loaded", roomId, page: "around", messages: page.messages, hasMore: page.hasMore, hasMoreAfter: page.hasMoreAfter ?? false });
      await this.caughtUpIfAttached(roomId, before?.hasNewer ?? false);
    } catch (error) {
      if (generation === this.generation) this.store.dispatch({ type: "history.failed", roomId, error: messageOf(error) });
      return false;
    }
    const after = this.store.getState().timelines[roomId];
    return after !== undefined && holdsSeq(after, seq);
  }

  /** Fetches the page after the newest message held, while the window is detached from the present (scrolling down). */
  async loadNewer(roomId: string): Promise<void> {
    const timeline = this.store.getState().timelines[roomId];
    const after = timeline?.messages[timeline.messages.length - 1]?.seq;
    if (!timeline || !timeline.hasNewer || timeline.loading !== null || after === undefined) return;
    const generation = this.generation;
    const windowAt = timeline.window;
    this.store.dispatch({ type: "history.loading", roomId, page: "newer" });
    try {
      const page = await this.api.history(roomId, { after, limit: DEFAULT_PAGE_SIZE });
      if (generation !== this.generation) return;
      this.store.dispatch({ type: "history.loaded", roomId, page: "newer", messages: page.messages, hasMore: page.hasMore, window: windowAt });
      await this.caughtUpIfAttached(roomId, true);
    } catch (error) {
      if (generation === this.generation) this.store.dispatch({ type: "history.failed", roomId, error: messageOf(error) });
    }
  }

  /** "Jump to latest" from a detached window: the newest page replaces it. */
  async jumpToPresent(roomId: string): Promise<void> {
    const timeline = this.store.getState().timelines[roomId];
    if (!timeline?.hasNewer) return;
    await this.loadLatest(roomId);
    await this.caughtUpIfAttached(roomId, true);
  }

  /**
   * A window that was detached and now reaches the present again missed the
   * live messages that came while it was detached (they were not appended:
   * state/chatReducer.ts): fetch them after the newest held, a page at a
   * time. From here on live messages join it, so nothing falls between.
   */
  private async caughtUpIfAttached(roomId: string, wasDetached: boolean): Promise<void> {
    if (!wasDetached) return;
    const generation = this.generation;
    for (let pages = 0; pages < CATCH_UP_MAX_PAGES; pages += 1) {
      const timeline = this.store.getState().timelines[roomId];
      const after = timeline?.messages[timeline.messages.length - 1]?.seq;
      if (!timeline || timeline.hasNewer || after === undefined) return;
      const windowAt = timeline.window;
      const page = await this.api.history(roomId, { after, limit: DEFAULT_PAGE_SIZE });
      if (generation !== this.generation) return;
      this.store.dispatch({ type: "history.loaded", roomId, page: "newer", messages: page.messages, hasMore: false, window: windowAt });
      if (!page.hasMore) return;
    }
  }

  /**
   * One page of message search (GET /search). `signal` aborts it (the
   * promise then rejects with the abort's reason). @throws ApiError
   */
  search(request: SearchRequest, signal?: AbortSignal): Promise<SearchResponse> {
    return this.api.search(request, signal);
  }

  async createRoom(request: CreateRoomRequest): Promise<Room> {
    const room = await this.api.createRoom(request);
    this.store.dispatch({ type: "room.upserted", room });
    return room;
  }

  async joinRoom(roomId: string): Promise<Room> {
    const room = await this.api.joinRoom(roomId);
    this.store.dispatch({ type: "room.upserted", room });
    return room;
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.api.leaveRoom(roomId);
    this.store.dispatch({ type: "room.removed", roomId });
  }

  /** The direct room with `userId`, created on first use. */
  async openDirect(userId: string): Promise<Room> {
    const room = await this.api.direct(userId);
    this.store.dispatch({ type: "room.upserted", room });
    this.askPresence([userId]);
    return room;
  }

  async addMember(roomId: string, userId: string): Promise<Member> {
    const member = await this.api.addMember(roomId, userId);
    this.scheduleRoomFetch(roomId, ROOM_REFRESH_DELAY_MS);
    return member;
  }

  members(roomId: string): Promise<Member[]> {
    return this.api.members(roomId);
  }

  publicRooms(): Promise<Room[]> {
    return this.api.publicRooms();
  }

  searchUsers(q: string): Promise<User[]> {
    return this.api.searchUsers(q);
  }

  // ---- notifications (issue 19) ----

  /**
   * The account's notification settings, into the store; also what the
   * settings screen shows (emailAvailable, the push key). A failure is
   * logged: the room menus then say "Default" without what it means.
   */
  async loadNotificationSettings(): Promise<NotificationSettingsResponse | null> {
    const generation = this.generation;
    try {
      const answer = await this.api.notificationSettings();
      if (generation === this.generation) this.store.dispatch({ type: "notifications.settings", settings: answer.settings });
      return answer;
    } catch (error) {
      console.warn("Loading notification settings failed", error);
      return null;
    }
  }

  /** Changes the account's settings; shown at once here, on my other tabs by `notifications.updated`. @throws ApiError */
  async updateNotificationSettings(change: UpdateNotificationSettingsRequest): Promise<NotificationSettingsResponse> {
    const answer = await this.api.updateNotificationSettings(change);
    this.store.dispatch({ type: "notifications.settings", settings: answer.settings });
    return answer;
  }

  /** Sets a room's level and/or mute for me; shown at once here, on my other tabs by `room.notifications.updated`. @throws ApiError */
  async setRoomNotifications(roomId: string, change: UpdateRoomNotificationsRequest): Promise<RoomNotifications> {
    const notifications = await this.api.setRoomNotifications(roomId, change);
    this.store.dispatch({ type: "room.notifications", roomId, notifications });
    return notifications;
  }

  /** My devices subscribed to Web Push. @throws ApiError */
  pushSubscriptions(): Promise<PushSubscription[]> {
    return this.api.pushSubscriptions();
  }

  /** Removes a device's push subscription. @throws ApiError */
  deletePushSubscription(subscriptionId: string): Promise<void> {
    return this.api.deletePushSubscription(subscriptionId);
  }

  /** Has the server push a test notification to a device. @throws ApiError (rate_limited…) */
  testPushSubscription(subscriptionId: string): Promise<void> {
    return this.api.testPushSubscription(subscriptionId);
  }

  /** Subscribes to the notifications the server sends this session (the in-app `notification` frame); returns the unsubscribe. */
  onNotification(listener: (notification: ParleyNotification) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  // ---- messages ----

  /** Queues a message (with its uploaded `attachments`, if any); it shows as pending until the server has it. */
  send(roomId: string, body: string, replyTo?: string, placement?: ThreadPlacement, attachments?: readonly Attachment[]): void {
    this.connection?.send(roomId, body, replyTo, placement, attachments);
    // Reading a message found far back: sending goes back to the present, where the message appears (as in Slack).
    if (this.store.getState().timelines[roomId]?.hasNewer && !placement?.inThread) void this.jumpToPresent(roomId);
  }

  retry(clientId: string): void {
    this.connection?.retry(clientId);
  }

  discard(clientId: string): void {
    this.connection?.discard(clientId);
  }

  /**
   * Edits one's own message over HTTP. The answer is shown at once; the
   * `message.edited` event that follows changes nothing more.
   * @throws ApiError (validation_failed, forbidden, not_found, network_error…)
   */
  async editMessage(roomId: string, messageId: string, body: string): Promise<void> {
    const message = await this.api.editMessage(roomId, messageId, body);
    this.store.dispatch({ type: "message.acked", message });
  }

  /** Deletes a message for everyone over HTTP; its tombstone shows at once. @throws ApiError */
  async deleteMessage(roomId: string, messageId: string): Promise<void> {
    const message = await this.api.deleteMessage(roomId, messageId);
    this.store.dispatch({ type: "message.acked", message });
  }

  /**
   * Adds (`on`) or takes back my `emoji` reaction over HTTP. The answer is
   * not applied: the `reaction.added` / `reaction.removed` event, which
   * reaches my sockets too, updates the message (one update path for mine
   * and others'). Adding one I have, or removing one I do not, changes nothing.
   * @throws ApiError (validation_failed, not_found, limit_reached, rate_limited, network_error…)
   */
  async setReaction(roomId: string, messageId: string, emoji: string, on: boolean): Promise<void> {
    await this.api.setReaction(roomId, messageId, emoji, on);
  }

  /** Earlier versions of a message, oldest first. @throws ApiError */
  messageEdits(roomId: string, messageId: string): Promise<MessageVersion[]> {
    return this.api.messageEdits(roomId, messageId);
  }

  /**
   * Loads a thread (its root and replies) into `threads[rootId]`; with
   * `more`, the next page after the replies held. Live replies join it on
   * their own (chatReducer). Errors land in the thread's `error`.
   */
  async loadThread(roomId: string, rootId: string, more = false): Promise<void> {
    const held = this.store.getState().threads[rootId];
    if (held?.loading) return;
    const after = more ? held?.replies[held.replies.length - 1]?.seq : undefined;
    const generation = this.generation;
    this.store.dispatch({ type: "thread.loading", roomId, rootId });
    try {
      const page = await this.api.replies(roomId, rootId, after === undefined ? { limit: MAX_PAGE_SIZE } : { after, limit: MAX_PAGE_SIZE });
      if (generation !== this.generation) return;
      this.store.dispatch({ type: "thread.loaded", roomId, rootId, root: page.root, replies: page.replies, hasMore: page.hasMore });
    } catch (error) {
      if (generation === this.generation) this.store.dispatch({ type: "thread.failed", roomId, rootId, error: messageOf(error) });
    }
  }

  /**
   * Makes the message of seq `seq` part of the room's timeline, fetching
   * older pages until it is (at most `REVEAL_MAX_PAGES` pages, so a jump to
   * a very old message costs a bounded number of requests).
   * @returns whether the timeline now reaches back to `seq`
   */
  async revealSeq(roomId: string, seq: number): Promise<boolean> {
    let fetched = 0;
    for (;;) {
      const timeline = this.store.getState().timelines[roomId];
      const first = timeline?.messages[0]?.seq;
      if (!timeline || !timeline.loaded) return false;
      if (first !== undefined && first <= seq) return true;
      if (!timeline.hasOlder || fetched >= REVEAL_MAX_PAGES) return false;
      if (timeline.loading !== null) {
        // A page is on its way already (scrolling): wait for it rather than ask twice.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      fetched += 1;
      await this.loadOlder(roomId);
    }
  }

  /**
   * Messages of the room are on screen in a focused, visible tab (see
   * state/readTracking.ts): move the read position to `upTo` (default: the
   * room's newest event). Over the socket when connected, else over HTTP;
   * each seq is sent once.
   */
  markRead(roomId: string, upTo?: number): void {
    const held = this.store.getState().rooms[roomId];
    if (!held) return;
    const seq = Math.min(upTo ?? held.room.lastSeq, held.room.lastSeq);
    if (seq <= held.room.lastReadSeq && (held.room.unreadCount === 0 || seq < held.room.lastSeq)) return;
    if ((this.sentReads.get(roomId) ?? -1) >= seq) return;
    this.sentReads.set(roomId, seq);
    this.store.dispatch({ type: "room.readMoved", roomId, lastReadSeq: seq });
    if (this.connection?.markRead(roomId, seq)) return;
    this.api.markRead(roomId, seq).catch((error: unknown) => {
      this.sentReads.delete(roomId);
      console.warn("Marking read failed", error);
    });
  }

  /**
   * "Mark all as read": one HTTP call; every room that moved is cleared here
   * at once, and on my other tabs by the `room.read` events it causes.
   * @throws ApiError
   */
  async readAll(): Promise<void> {
    const moved = await this.api.readAll();
    for (const [roomId, lastReadSeq] of Object.entries(moved)) this.store.dispatch({ type: "room.readMoved", roomId, lastReadSeq });
  }

  /** Loads a room's receipts (every member's positions) and its members' names, when it is opened. */
  async loadReceipts(roomId: string): Promise<void> {
    const generation = this.generation;
    try {
      const [positions, members] = await Promise.all([this.api.receipts(roomId), this.api.members(roomId)]);
      if (generation !== this.generation) return;
      const names: Record<string, string> = {};
      for (const m of members) names[m.user.id] = m.user.displayName || m.user.username;
      this.receipts.load(roomId, positions.reads, positions.delivered, names);
    } catch (error) {
      console.warn("Loading receipts failed", roomId, error);
    }
  }

  /** Records that events up to `seq` reached this device; reported batched (room.delivered). */
  private noteDelivered(roomId: string, seq: number): void {
    if ((this.pendingDelivered.get(roomId) ?? -1) >= seq) return;
    this.pendingDelivered.set(roomId, seq);
    this.deliveredTimer ??= setTimeout(() => {
      this.deliveredTimer = null;
      for (const [id, s] of this.pendingDelivered) this.connection?.delivered(id, s);
      this.pendingDelivered.clear();
    }, DELIVERED_BATCH_MS);
  }

  /** Tells the room's other members that we started or stopped typing (ephemeral; dropped when offline). */
  typing(roomId: string, state: "start" | "stop"): void {
    this.connection?.typing(roomId, state);
  }

  /**
   * Asks the current presence of people who may have come to share a room
   * with us since `ready` (a new conversation, a new member, a members list):
   * their presence was not in `ready`, and no change may come for a while.
   */
  askPresence(userIds: readonly string[]): void {
    const me = this.store.getState().me?.id;
    this.connection?.askPresence(userIds.filter((id) => id !== me));
  }

  /** This tab became active or idle (input, visibility): reported now and again on every new socket. */
  setActivity(state: "active" | "idle"): void {
    this.activity = state;
    this.connection?.setActivity(state);
  }

  // ---- realtime wiring ----

  private createConnection(): RealtimeConnection {
    const store = this.store;
    return new RealtimeConnection({
      url: this.options.socketUrl,
      createSocket: this.options.createSocket,
      isOnline: this.options.isOnline,
      resumeCursor: () => resumeCursor(store.getState()),
      checkSession: async () => (await this.api.session()) !== null,
      handlers: {
        ready: (_user, presence) => {
          this.ephemeral.reset(presence);
          if (this.activity === "idle") this.connection?.setActivity("idle");
          // After a reconnect (or when the first list failed), rooms may have
          // appeared or gone while away: the resume only covers known rooms.
          if (this.readySeen || !store.getState().roomsLoaded) void this.reloadRooms();
          // The same for the account's notification settings: a `notifications.updated` may have been missed.
          if (this.readySeen) void this.loadNotificationSettings();
          this.readySeen = true;
        },
        roomEvent: (event) => this.roomEvent(event),
        ephemeral: (event) => this.ephemeral.apply(event),
        presence: (presence) => this.ephemeral.merge(presence),
        unknownRoomEvent: (roomId, seq) => store.dispatch({ type: "room.eventSkipped", roomId, seq }),
        roomRead: (roomId, lastReadSeq) => store.dispatch({ type: "room.readMoved", roomId, lastReadSeq }),
        receipts: (event) => this.receipts.apply(event),
        notifications: (event) => {
          switch (event.type) {
            case "notifications.updated":
              store.dispatch({ type: "notifications.settings", settings: event.settings });
              return;
            case "room.notifications.updated":
              store.dispatch({ type: "room.notifications", roomId: event.roomId, notifications: event.notifications });
              return;
            case "notification":
              for (const listener of [...this.notificationListeners]) listener(event.notification);
              return;
          }
        },
        resumed: (rooms) => store.dispatch({ type: "rooms.resumed", rooms }),
        messageAcked: (message) => store.dispatch({ type: "message.acked", message }),
        statusChanged: (connection) => store.dispatch({ type: "connection.changed", connection }),
        outboxChanged: (outbox) => store.dispatch({ type: "outbox.changed", outbox }),
        sessionEnded: () => this.sessionExpired(),
      },
    });
  }

  private roomEvent(event: RoomEvent): void {
    // Their message is here: they are done typing it (the server's stop may follow).
    if (event.type === "message.created") this.ephemeral.clearTyping(event.roomId, event.message.author.id);
    const state = this.store.getState();
    // Someone else's message reached this device: its sender will see it delivered.
    if (event.type === "message.created" && event.message.author.id !== state.me?.id) this.noteDelivered(event.roomId, event.seq);
    const known = Boolean(state.rooms[event.roomId]);
    const aboutMe = event.type === "member.left" && event.userId === state.me?.id;
    if (!known && aboutMe) return; // we left; nothing to fetch
    this.store.dispatch({ type: "room.event", event });
    if (!known) {
      // A room we were just added to, or a direct room someone opened with
      // us: fetch it; the event waits in the orphans until it arrives.
      this.scheduleRoomFetch(event.roomId, ORPHAN_FETCH_DELAY_MS);
    } else if ((event.type === "member.joined" || event.type === "member.left") && !aboutMe) {
      if (event.type === "member.joined") this.askPresence([event.member.user.id]);
      // Membership changed: the server's member count is authoritative.
      this.scheduleRoomFetch(event.roomId, ROOM_REFRESH_DELAY_MS);
    }
  }

  private scheduleRoomFetch(roomId: string, delayMs: number): void {
    if (this.roomFetches.has(roomId)) return;
    const generation = this.generation;
    this.roomFetches.set(
      roomId,
      setTimeout(() => {
        this.roomFetches.delete(roomId);
        this.api.room(roomId).then(
          (room) => {
            if (generation !== this.generation) return;
            // Only rooms we belong to are tracked; a public room we merely can see is not ours.
            if (room.role !== null) {
              this.store.dispatch({ type: "room.upserted", room });
              if (room.peer) this.askPresence([room.peer.id]); // a conversation someone just opened with us
            }
            else this.store.dispatch({ type: "room.removed", roomId });
          },
          (error: unknown) => {
            if (generation !== this.generation) return;
            if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
              this.store.dispatch({ type: "room.removed", roomId });
            } else {
              console.warn("Fetching room failed", roomId, error);
            }
          },
        );
      }, delayMs),
    );
  }

  private async reloadRooms(): Promise<void> {
    const generation = this.generation;
    try {
      const rooms = await this.api.myRooms();
      if (generation === this.generation) this.store.dispatch({ type: "rooms.loaded", rooms });
    } catch (error) {
      console.warn("Reloading rooms failed", error);
    }
  }
}

/** A sentence for the UI from whatever went wrong. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
