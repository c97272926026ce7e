/**
 * The client's chat state and the one pure function that changes it.
 *
 * Everything the UI shows about rooms and messages is derived from this
 * state; HTTP answers and socket frames become actions. Being pure, the
 * rules (apply each room event once by seq, keep previews and unread counts
 * current, merge pages) are unit-tested without a browser.
 */
import { inTimeline, type Message, type NotificationSettings, type RoomNotifications, type ReactionAddedEvent, type ReactionRemovedEvent, type Room, type RoomEvent, type Self } from "@shared/protocol/index.js";
import type { Outbox } from "@web/realtime/outbox";
import { EMPTY_OUTBOX } from "@web/realtime/outbox";
import type { ConnectionSnapshot } from "@web/realtime/socket";
import { admit, catchUp, cursorAt, type SeqCursor } from "./cursor";
import { countsAsMention, laterOf, withMentionDelta, withMessage, withSettingsFrom } from "./rooms";
import { EMPTY_TIMELINE, countUnread, isOlderVersion, mergeMessages, withPage, type PageKind, type Timeline } from "./timeline";
import { withReactionEvent } from "./reactions";
import { bumpRootIn, emptyThread, markQuotesDeleted, threadLoaded, threadWithChange, threadWithReaction, threadWithReply, type ThreadState } from "./threads";

/** A room the user is a member of, with the cursor of the events applied to it. */
export interface TrackedRoom {
  readonly room: Room;
  readonly cursor: SeqCursor;
}

export interface ChatState {
  readonly me: Self | null;
  /** The user's rooms by id. */
  readonly rooms: Readonly<Record<string, TrackedRoom>>;
  /** The first GET /rooms has answered. */
  readonly roomsLoaded: boolean;
  /** Timelines of the rooms opened so far, by room id. */
  readonly timelines: Readonly<Record<string, Timeline>>;
  /** Threads opened so far, by their root's message id (threads.ts). */
  readonly threads: Readonly<Record<string, ThreadState>>;
  /**
   * Events for rooms not tracked yet (a room just joined whose HTTP answer is
   * still on its way, a direct room someone just opened with us), replayed
   * when the room arrives.
   */
  readonly orphans: Readonly<Record<string, readonly RoomEvent[]>>;
  readonly outbox: Outbox;
  readonly connection: ConnectionSnapshot;
  readonly activeRoomId: string | null;
  /** The page is visible: messages in the open room count as read. */
  readonly pageVisible: boolean;
  /** The account's notification settings (issue 19); null until GET /notifications/settings answered. */
  readonly notificationSettings: NotificationSettings | null;
}

export type ChatAction =
  | { type: "session.started"; me: Self }
  | { type: "session.ended" }
  | { type: "rooms.loaded"; rooms: readonly Room[] }
  | { type: "room.upserted"; room: Room }
  | { type: "room.removed"; roomId: string }
  | { type: "room.event"; event: RoomEvent }
  | { type: "room.eventSkipped"; roomId: string; seq: number }
  | { type: "rooms.resumed"; rooms: Readonly<Record<string, number>> }
  | { type: "room.readMoved"; roomId: string; lastReadSeq: number }
  | { type: "history.loading"; roomId: string; page: PageKind }
  | {
      type: "history.loaded";
      roomId: string;
      page: PageKind;
      messages: readonly Message[];
      hasMore: boolean;
      hasMoreAfter?: boolean;
      /** The timeline's `window` when the page was asked for; a page for a window since replaced is dropped. */
      window?: number;
    }
  | { type: "history.failed"; roomId: string; error: string }
  | { type: "thread.loading"; roomId: string; rootId: string }
  | { type: "thread.loaded"; roomId: string; rootId: string; root: Message; replies: readonly Message[]; hasMore: boolean }
  | { type: "thread.failed"; roomId: string; rootId: string; error: string }
  | { type: "message.acked"; message: Message }
  | { type: "outbox.changed"; outbox: Outbox }
  | { type: "connection.changed"; connection: ConnectionSnapshot }
  | { type: "room.activated"; roomId: string | null }
  | { type: "page.visibility"; visible: boolean }
  /** The account's notification settings as they now are (an answer, or `notifications.updated` from any tab or device). */
  | { type: "notifications.settings"; settings: NotificationSettings }
  /** One room's level and mute as they now are (an answer, or `room.notifications.updated`). */
  | { type: "room.notifications"; roomId: string; notifications: RoomNotifications };

/** Orphan events kept per unknown room; more than this means something is wrong, not slow. */
const MAX_ORPHANS_PER_ROOM = 500;

export const INITIAL_CHAT_STATE: ChatState = {
  me: null,
  rooms: {},
  roomsLoaded: false,
  timelines: {},
  threads: {},
  orphans: {},
  outbox: EMPTY_OUTBOX,
  connection: { state: "offline", attempt: 0, retryAt: null, networkDown: false },
  activeRoomId: null,
  pageVisible: true,
  notificationSettings: null,
};

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "session.started":
      return { ...INITIAL_CHAT_STATE, me: action.me, pageVisible: state.pageVisible };
    case "session.ended":
      return { ...INITIAL_CHAT_STATE, pageVisible: state.pageVisible };
    case "rooms.loaded":
      return roomsLoaded(state, action.rooms);
    case "room.upserted":
      return upsertRoom(state, action.room);
    case "room.removed":
      return removeRoom(state, action.roomId);
    case "room.event":
      return applyEvent(state, action.event);
    case "room.eventSkipped":
      return skipEvent(state, action.roomId, action.seq);
    case "rooms.resumed":
      return resumed(state, action.rooms);
    case "room.readMoved":
      return readMoved(state, action.roomId, action.lastReadSeq);
    case "history.loading":
      return changeTimeline(state, action.roomId, (t) => ({ ...t, loading: action.page, error: null }));
    case "history.loaded":
      // The latest page tells whether older ones exist; an older page moves that boundary further back;
      // a page around a message may replace the window (timeline.ts, withPage).
      return changeTimeline(state, action.roomId, (t) =>
        action.window !== undefined && action.window !== t.window
          ? { ...t, loading: t.loading === action.page ? null : t.loading }
          : withPage(t, action.page, action.messages, action.hasMore, action.hasMoreAfter),
      );
    case "history.failed":
      return changeTimeline(state, action.roomId, (t) => ({ ...t, loading: null, error: action.error }));
    case "thread.loading":
      return changeThread(state, action.roomId, action.rootId, (t) => ({ ...t, loading: true, error: null }));
    case "thread.loaded":
      return changeThread(state, action.roomId, action.rootId, (t) => threadLoaded(t, action.root, action.replies, action.hasMore));
    case "thread.failed":
      return changeThread(state, action.roomId, action.rootId, (t) => ({ ...t, loading: false, error: action.error }));
    case "message.acked":
      return acked(state, action.message);
    case "outbox.changed":
      return { ...state, outbox: action.outbox };
    case "connection.changed":
      return { ...state, connection: action.connection };
    case "room.activated":
      return { ...state, activeRoomId: action.roomId };
    case "page.visibility":
      return state.pageVisible === action.visible ? state : { ...state, pageVisible: action.visible };
    case "notifications.settings":
      return state.me === null ? state : { ...state, notificationSettings: action.settings };
    case "room.notifications": {
      // A room we do not track (left meanwhile) has nothing to show it on; the next GET /rooms brings it if we return.
      const held = state.rooms[action.roomId];
      if (!held) return state;
      return { ...state, rooms: { ...state.rooms, [action.roomId]: { ...held, room: { ...held.room, notifications: action.notifications } } } };
    }
  }
}

/** The full list from GET /rooms: new rooms are tracked, known ones refreshed, missing ones dropped. */
function roomsLoaded(state: ChatState, rooms: readonly Room[]): ChatState {
  let next: ChatState = { ...state, roomsLoaded: true };
  const listed = new Set(rooms.map((r) => r.id));
  for (const roomId of Object.keys(state.rooms)) if (!listed.has(roomId)) next = removeRoom(next, roomId);
  for (const room of rooms) next = upsertRoom(next, room);
  return next;
}

function upsertRoom(state: ChatState, room: Room): ChatState {
  const held = state.rooms[room.id];
  if (held) {
    return { ...state, rooms: { ...state.rooms, [room.id]: { ...held, room: withSettingsFrom(held.room, room) } } };
  }
  // A new room starts at the server's lastSeq: everything up to it is in the
  // room object already (preview, counts). Events that raced ahead of the
  // HTTP answer are replayed from the orphans when newer than that.
  const { [room.id]: orphans, ...otherOrphans } = state.orphans;
  let next: ChatState = {
    ...state,
    rooms: { ...state.rooms, [room.id]: { room, cursor: cursorAt(room.lastSeq) } },
    orphans: otherOrphans,
  };
  for (const event of orphans ?? []) next = applyEvent(next, event);
  return next;
}

function removeRoom(state: ChatState, roomId: string): ChatState {
  if (!state.rooms[roomId] && !state.timelines[roomId] && !state.orphans[roomId]) return state;
  const { [roomId]: _room, ...rooms } = state.rooms;
  const { [roomId]: _timeline, ...timelines } = state.timelines;
  const { [roomId]: _orphans, ...orphans } = state.orphans;
  // Threads of a room left go with it.
  const threads = Object.fromEntries(Object.entries(state.threads).filter(([, t]) => t.roomId !== roomId));
  return { ...state, rooms, timelines, threads, orphans, activeRoomId: state.activeRoomId === roomId ? null : state.activeRoomId };
}

function applyEvent(state: ChatState, event: RoomEvent): ChatState {
  const held = state.rooms[event.roomId];
  if (!held) return keepOrphan(state, event);
  const { cursor, fresh } = admit(held.cursor, event.seq);
  if (!fresh) return state;
  let room: Room = { ...held.room, lastSeq: Math.max(held.room.lastSeq, event.seq) };
  let next: ChatState = state;

  switch (event.type) {
    case "message.created": {
      const message = event.message;
      const mine = message.author.id === state.me?.id;
      const seen = state.activeRoomId === event.roomId && state.pageVisible;
      const above = !mine && !seen && message.seq > room.lastReadSeq;
      // A thread reply kept in its thread is not unread in the room (the server's count skips it too)...
      room = withMessage(room, message, above && inTimeline(message));
      // ...but a mention of me is one wherever it is: only above the read position, not while looking.
      if (above && countsAsMention(message, state.me?.id)) room = withMentionDelta(room, 1);
      // Sending is reading: the server moves the sender's read position too.
      if (mine) room = { ...room, lastReadSeq: Math.max(room.lastReadSeq, message.seq) };
      if (state.timelines[event.roomId]) {
        // A reply counts on its root, when the timeline holds it (threads.ts: never twice).
        next = changeTimeline(next, event.roomId, (t) => {
          // A window detached from the present takes no live message (it would leave a gap): catching up fetches it.
          const messages = bumpRootIn(t.hasNewer ? t.messages : mergeMessages(t.messages, [message]), message);
          return messages === t.messages ? t : { ...t, messages };
        });
      }
      next = withReplyInThread(next, message);
      break;
    }
    case "message.edited":
    case "message.deleted": {
      // The message keeps its place (its own seq); only its state changes.
      const message = event.message;
      const preview = room.lastMessage;
      if (preview && preview.id === message.id && !isOlderVersion(message, preview)) room = { ...room, lastMessage: message };
      // An edit may add or remove a mention of me, and a deletion removes it: known when the timeline holds the copy before.
      const before = state.timelines[event.roomId]?.messages.find((m) => m.id === message.id);
      if (before && !isOlderVersion(message, before) && message.seq > room.lastReadSeq) {
        room = withMentionDelta(room, Number(countsAsMention(message, state.me?.id)) - Number(countsAsMention(before, state.me?.id)));
      }
      // A deleted message is not unread any more (the server's count skips it too).
      if (event.type === "message.deleted" && message.author.id !== state.me?.id && message.seq > room.lastReadSeq && inTimeline(message)) {
        room = { ...room, unreadCount: Math.max(0, room.unreadCount - 1) };
      }
      if (state.timelines[event.roomId]) {
        next = changeTimeline(next, event.roomId, (t) =>
          // Only a message the timeline holds is updated: an older page brings the current state with it.
          t.messages.some((m) => m.id === message.id) ? { ...t, messages: mergeMessages(t.messages, [message]) } : t,
        );
        // A deleted root: the quotes of its replies lose its text too.
        if (event.type === "message.deleted") {
          next = changeTimeline(next, event.roomId, (t) => {
            const messages = markQuotesDeleted(t.messages, message.id);
            return messages === t.messages ? t : { ...t, messages };
          });
        }
      }
      next = withChangeInThreads(next, message);
      break;
    }
    case "reaction.added":
    case "reaction.removed":
      // Only a message the timeline holds changes: a page brings the reactions of the others (reactions.ts).
      next = changeTimeline(next, event.roomId, (t) => {
        const messages = withReactionEvent(t.messages, event);
        return messages === t.messages ? t : { ...t, messages };
      });
      // The opened threads hold their own copies of the root and replies: they change too (threads.ts).
      next = withReactionInThreads(next, event);
      break;
    case "member.joined":
      room = {
        ...room,
        memberCount: room.memberCount + 1,
        lastActivityAt: laterOf(room.lastActivityAt, event.member.joinedAt),
      };
      break;
    case "member.left":
      if (event.userId === state.me?.id) return removeRoom(state, event.roomId);
      room = { ...room, memberCount: Math.max(0, room.memberCount - 1) };
      break;
  }
  return { ...next, rooms: { ...next.rooms, [event.roomId]: { room, cursor } } };
}

function keepOrphan(state: ChatState, event: RoomEvent): ChatState {
  const held = state.orphans[event.roomId] ?? [];
  if (held.length >= MAX_ORPHANS_PER_ROOM) return state;
  return { ...state, orphans: { ...state.orphans, [event.roomId]: [...held, event] } };
}

function skipEvent(state: ChatState, roomId: string, seq: number): ChatState {
  const held = state.rooms[roomId];
  if (!held) return state;
  const { cursor, fresh } = admit(held.cursor, seq);
  if (!fresh) return state;
  return { ...state, rooms: { ...state.rooms, [roomId]: { ...held, cursor } } };
}

function resumed(state: ChatState, delivered: Readonly<Record<string, number>>): ChatState {
  let rooms = state.rooms;
  for (const [roomId, seq] of Object.entries(delivered)) {
    const held = rooms[roomId];
    if (!held) continue;
    const cursor = catchUp(held.cursor, seq);
    if (cursor !== held.cursor) rooms = { ...rooms, [roomId]: { ...held, cursor } };
  }
  return rooms === state.rooms ? state : { ...state, rooms };
}

function readMoved(state: ChatState, roomId: string, lastReadSeq: number): ChatState {
  const held = state.rooms[roomId];
  if (!held || lastReadSeq <= held.room.lastReadSeq) return state;
  const room = held.room;
  const timeline = state.timelines[roomId];
  let unreadCount: number;
  let mentionCount = room.mentionCount;
  if (room.lastMessage === null || lastReadSeq >= room.lastMessage.seq) {
    unreadCount = 0;
    mentionCount = 0;
  } else if (timeline && state.me && !timeline.hasNewer && (timeline.messages[0]?.seq ?? Infinity) <= lastReadSeq + 1) {
    // The timeline holds every message after the read position: count exactly.
    unreadCount = countUnread(timeline.messages, lastReadSeq, state.me.id);
    const me = state.me.id;
    mentionCount = timeline.messages.filter((m) => m.seq > lastReadSeq && countsAsMention(m, me)).length;
  } else {
    unreadCount = room.unreadCount;
  }
  return { ...state, rooms: { ...state.rooms, [roomId]: { ...held, room: { ...room, lastReadSeq, unreadCount, mentionCount } } } };
}

/**
 * Our own message, stored: shown in the timeline at once. Its
 * `message.created` event still goes through the cursor (it is merged by
 * seq, so the timeline holds it once) and keeps the preview current.
 */
function acked(state: ChatState, message: Message): ChatState {
  // Our own reply shows in its open thread at once; the root is counted by the reply's event.
  const withThread = message.replyTo ? withReplyInThread(state, message) : withChangeInThreads(state, message);
  if (!withThread.timelines[message.roomId]) return withThread;
  return changeTimeline(withThread, message.roomId, (t) =>
    // A detached window (timeline.ts) only takes a copy of a message it holds (an edit's answer).
    t.hasNewer && !t.messages.some((m) => m.id === message.id) ? t : { ...t, messages: mergeMessages(t.messages, [message]) },
  );
}

/** A reply joins its thread, when that thread was opened. */
function withReplyInThread(state: ChatState, message: Message): ChatState {
  const rootId = message.replyTo?.id;
  const thread = rootId ? state.threads[rootId] : undefined;
  if (!rootId || !thread) return state;
  const next = threadWithReply(thread, message);
  return next === thread ? state : { ...state, threads: { ...state.threads, [rootId]: next } };
}

/** An edit or deletion reaches the opened threads that hold the message (as root or reply). */
function withChangeInThreads(state: ChatState, message: Message): ChatState {
  let threads = state.threads;
  for (const [rootId, thread] of Object.entries(state.threads)) {
    if (thread.roomId !== message.roomId) continue;
    const next = threadWithChange(thread, message);
    if (next !== thread) threads = { ...threads, [rootId]: next };
  }
  return threads === state.threads ? state : { ...state, threads };
}

/** A reaction event reaches the opened threads that hold its message (as root or reply). */
function withReactionInThreads(state: ChatState, event: ReactionAddedEvent | ReactionRemovedEvent): ChatState {
  let threads = state.threads;
  for (const [rootId, thread] of Object.entries(state.threads)) {
    const next = threadWithReaction(thread, event);
    if (next !== thread) threads = { ...threads, [rootId]: next };
  }
  return threads === state.threads ? state : { ...state, threads };
}

function changeThread(state: ChatState, roomId: string, rootId: string, change: (t: ThreadState) => ThreadState): ChatState {
  const current = state.threads[rootId] ?? emptyThread(roomId);
  const next = change(current);
  if (next === current) return state;
  return { ...state, threads: { ...state.threads, [rootId]: next } };
}

function changeTimeline(state: ChatState, roomId: string, change: (t: Timeline) => Timeline): ChatState {
  const current = state.timelines[roomId] ?? EMPTY_TIMELINE;
  const next = change(current);
  if (next === current) return state;
  return { ...state, timelines: { ...state.timelines, [roomId]: next } };
}

/** The last seq applied per room, for `resume`. */
export function resumeCursor(state: ChatState): Record<string, number> {
  const rooms: Record<string, number> = {};
  for (const [roomId, held] of Object.entries(state.rooms)) rooms[roomId] = held.cursor.floor;
  return rooms;
}
