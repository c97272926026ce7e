/**
 * The realtime connection: one WebSocket to /ws, kept alive for as long as
 * the user is signed in.
 *
 * It owns the transport concerns and nothing else:
 * - connecting, and reconnecting with exponential backoff and jitter;
 * - a heartbeat (`ping`) so a dead network is noticed in seconds rather than
 *   when the operating system gives up on the TCP connection;
 * - on every `ready`, a `resume` with the last seq the client has per room,
 *   so the server replays exactly what was missed;
 * - the outbox: composed messages are sent in order, resent with the same
 *   clientId after a drop, and settled by the server's copy.
 *
 * Frames from the server are validated with the shared schema; what does
 * not parse is logged and ignored. What the events mean for rooms and
 * messages is decided by the chat store, not here. The WebSocket, the
 * timers and the clock are injectable, so the rules run in unit tests.
 */
import {
  CloseCode,
  type Attachment,
  ServerFrameSchema,
  type ClientCommand,
  type Message,
  type Presence,
  type PresenceUpdatedEvent,
  type ReceiptsUpdatedEvent,
  type TypingUpdatedEvent,
  type RoomEvent,
  type Self,
  type ServerFrame,
  type NotificationEvent,
  type NotificationsUpdatedEvent,
  type RoomNotificationsUpdatedEvent,
} from "@shared/protocol/index.js";
import { DEFAULT_BACKOFF, reconnectDelay, type BackoffPolicy } from "./backoff";
import * as outboxRules from "./outbox";
import type { Outbox, ThreadPlacement } from "./outbox";

/** What the status indicator shows. */
export type ConnectionState = "connecting" | "connected" | "offline";

export interface ConnectionSnapshot {
  readonly state: ConnectionState;
  /** Failed attempts since the last successful `ready`. */
  readonly attempt: number;
  /** When the next attempt is due (ms since epoch), while waiting to retry. */
  readonly retryAt: number | null;
  /** The browser says there is no network; no attempt is made until it is back. */
  readonly networkDown: boolean;
}

/** The subset of the browser WebSocket this module uses. */
export interface WebSocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Timers and clock, injectable for tests. */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const browserClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => globalThis.setTimeout(run, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What the connection reports to the rest of the app. */
export interface RealtimeHandlers {
  /** The server accepted the socket (first frame); `presence`: the people who share a room with the user (absent: offline). */
  ready(user: Self, presence?: Readonly<Record<string, Presence>>): void;
  /** An ephemeral signal (no seq): someone typing, someone's presence. */
  ephemeral?(event: TypingUpdatedEvent | PresenceUpdatedEvent): void;
  /** The answer to `askPresence`: the asked users who share a room with us. */
  presence?(presence: Readonly<Record<string, Presence>>): void;
  /** A room event (message.created, member.joined, member.left), in arrival order. */
  roomEvent(event: RoomEvent): void;
  /** A room event of a type this client does not know: its seq still counts as seen. */
  unknownRoomEvent(roomId: string, seq: number): void;
  /** The user's read position moved on another of their sockets. */
  roomRead(roomId: string, lastReadSeq: number): void;
  /** Members' read/delivered positions moved in a room (batched, ephemeral). */
  receipts?(event: ReceiptsUpdatedEvent): void;
  /** Issue 19, ephemeral: my notification settings changed (any tab or device), or a message notifies me. */
  notifications?(event: NotificationsUpdatedEvent | RoomNotificationsUpdatedEvent | NotificationEvent): void;
  /** A resume finished: everything up to these seqs has been delivered. */
  resumed(rooms: Readonly<Record<string, number>>): void;
  /** The server stored one of our messages (ack of message.send). */
  messageAcked(message: Message): void;
  /** The status indicator should change. */
  statusChanged(snapshot: ConnectionSnapshot): void;
  /** The outbox changed (for rendering pending messages). */
  outboxChanged(outbox: Outbox): void;
  /** The session behind the socket is gone: go to the login screen. */
  sessionEnded(): void;
}

export interface RealtimeOptions {
  /** ws:// or wss:// URL of /ws. */
  url: string;
  handlers: RealtimeHandlers;
  /** The last seq the client has, per room, for `resume`. */
  resumeCursor(): Record<string, number>;
  createSocket?: (url: string) => WebSocketLike;
  backoff?: BackoffPolicy;
  random?: () => number;
  clock?: Clock;
  /** Creates a clientId for a composed message. */
  newClientId?: () => string;
  /** Whether the browser believes it has a network (navigator.onLine). */
  isOnline?: () => boolean;
  /**
   * Asked after repeated failures to connect: a refused upgrade looks like any
   * other network error to a browser (close code 1006), so the session is
   * checked over HTTP. Resolves false when the session has ended.
   */
  checkSession?: () => Promise<boolean>;
  /** Interval between heartbeats while connected. */
  heartbeatMs?: number;
  /** How long a heartbeat or a connection attempt may go unanswered before the socket is dropped. */
  answerTimeoutMs?: number;
}

type PendingCommand =
  | { kind: "send"; clientId: string }
  | { kind: "resume" }
  | { kind: "read" }
  | { kind: "ping" };

/** Close code the client uses when it abandons a socket itself (heartbeat or connect timeout). */
const CLIENT_GAVE_UP = 4000;

/** After this many failed attempts in a row, check whether the session still exists. */
const SESSION_CHECK_AFTER_FAILURES = 2;

/**
 * One realtime connection. Create it, call `start()` after sign-in and
 * `stop()` at sign-out.
 */
export class RealtimeConnection {
  private socket: WebSocketLike | null = null;
  private isReady = false;
  private stopped = true;
  private attempt = 0;
  private retryAt: number | null = null;
  private networkDown = false;
  private state: ConnectionState = "offline";
  private retryTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private answerTimer: unknown = null;
  private commandCounter = 0;
  private pending = new Map<string, PendingCommand>();
  private box: Outbox = outboxRules.EMPTY_OUTBOX;

  private readonly clock: Clock;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly heartbeatMs: number;
  private readonly answerTimeoutMs: number;

  constructor(private readonly options: RealtimeOptions) {
    this.clock = options.clock ?? browserClock;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.heartbeatMs = options.heartbeatMs ?? 20_000;
    this.answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
  }

  get snapshot(): ConnectionSnapshot {
    return { state: this.state, attempt: this.attempt, retryAt: this.retryAt, networkDown: this.networkDown };
  }

  get outbox(): Outbox {
    return this.box;
  }

  /** Opens the connection (idempotent). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.networkDown = this.options.isOnline ? !this.options.isOnline() : false;
    this.attempt = 0;
    this.connectOrWait();
  }

  /** Closes the connection for good (sign-out) and forgets the outbox. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.abandonSocket(1000, "sign out");
    this.box = outboxRules.EMPTY_OUTBOX;
    this.setState("offline");
  }

  /**
   * Queues a message for `roomId` and sends it as soon as the socket allows.
   * Returns its clientId, created here once and kept for every resend.
   */
  send(roomId: string, body: string, replyTo?: string, placement: ThreadPlacement = {}, attachments: readonly Attachment[] = []): string {
    const clientId = this.options.newClientId?.() ?? crypto.randomUUID();
    const composedAt = new Date(this.clock.now()).toISOString();
    const where = replyTo && placement.inThread ? { inThread: true, ...(placement.alsoInRoom ? { alsoInRoom: true } : {}) } : {};
    const files = attachments.length ? { attachments } : {};
    this.setOutbox(outboxRules.enqueue(this.box, { clientId, roomId, body, composedAt, ...(replyTo ? { replyTo } : {}), ...where, ...files }));
    this.flushOutbox();
    return clientId;
  }

  /** Sends a failed message again, with the clientId it was composed with. */
  retry(clientId: string): void {
    this.setOutbox(outboxRules.retry(this.box, clientId));
    this.flushOutbox();
  }

  /** Drops a failed message from the outbox. */
  discard(clientId: string): void {
    this.setOutbox(outboxRules.discard(this.box, clientId));
  }

  /** A copy of the message reached the client by another path (e.g. resume): settle its entry. */
  settle(clientId: string | null): void {
    const next = outboxRules.settle(this.box, clientId);
    if (next === this.box) return;
    this.setOutbox(next);
    this.flushOutbox();
  }

  /**
   * Marks a room read over the socket. Returns false when not connected,
   * so the caller can use HTTP instead.
   */
  markRead(roomId: string, seq: number): boolean {
    return this.command({ type: "room.read", id: this.nextId(), roomId, seq }, { kind: "read" });
  }

  /**
   * Ephemeral signals, not tracked and never retried: a typing start/stop
   * (sent without an id, so no ack comes back) or this tab's activity. Dropped
   * when not connected: the next `ready` starts fresh.
   */
  typing(roomId: string, state: "start" | "stop"): void {
    this.sendEphemeral({ type: "typing", roomId, state });
  }

  /** Says the room's events up to `seq` reached this device (room.delivered without an id: no ack); dropped when offline. */
  delivered(roomId: string, seq: number): void {
    this.sendEphemeral({ type: "room.delivered", roomId, seq });
  }

  /** Reports this tab active or idle (presence.set); its ack matches no pending command and is ignored. */
  setActivity(state: "active" | "idle"): void {
    this.sendEphemeral({ type: "presence.set", id: this.nextId(), state });
  }

  /** Asks the presence of up to 1,000 users (presence.get); the answer goes to `handlers.presence`. */
  askPresence(userIds: readonly string[]): void {
    if (userIds.length > 0) this.sendEphemeral({ type: "presence.get", id: this.nextId(), userIds: userIds.slice(0, 1000) });
  }

  private sendEphemeral(frame: ClientCommand): void {
    if (!this.socket || !this.isReady) return;
    try {
      this.socket.send(JSON.stringify(frame));
    } catch {
      // Closing: nothing to keep.
    }
  }

  /** The browser's online/offline events: drop at once when the network goes, retry at once when it comes back. */
  networkChanged(online: boolean): void {
    if (this.stopped) return;
    this.networkDown = !online;
    if (!online) {
      if (this.socket) this.dropSocket(CLIENT_GAVE_UP, "network down");
      else this.connectOrWait();
      return;
    }
    this.reconnectNow();
  }

  /** Skips the backoff wait ("Reconnect now" button, network back). */
  reconnectNow(): void {
    if (this.stopped || this.socket) return;
    this.attempt = 0;
    this.connectOrWait();
  }

  /** Test hook: drops the socket as if the network had cut it. */
  simulateDrop(): void {
    if (this.socket) this.dropSocket(CLIENT_GAVE_UP, "simulated drop");
  }

  // ---- connection lifecycle ----

  private connectOrWait(): void {
    this.clearTimer("retryTimer");
    this.retryAt = null;
    if (this.stopped) return;
    if (this.networkDown) {
      this.setState("offline");
      return;
    }
    this.connect();
  }

  private connect(): void {
    const socket = (this.options.createSocket ?? browserSocket)(this.options.url);
    this.socket = socket;
    this.isReady = false;
    this.setState("connecting");
    // A connection attempt that hangs (a black-holed network) must not hold
    // the client in "connecting" forever.
    this.armAnswerTimer();

    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.closed(event.code);
    };
    socket.onerror = () => {
      // The close event follows and carries what there is to know.
    };
  }

  private closed(code: number): void {
    this.socket = null;
    const wasReady = this.isReady;
    this.isReady = false;
    this.afterDisconnect();
    if (code === CloseCode.Unauthorized.code) {
      this.endSession();
      return;
    }
    if (!wasReady) this.maybeCheckSession();
    this.scheduleReconnect();
  }

  /** Closes our socket ourselves and carries on as if the network had closed it. */
  private dropSocket(code: number, reason: string): void {
    const wasReady = this.isReady;
    this.abandonSocket(code, reason);
    this.afterDisconnect();
    if (!wasReady) this.maybeCheckSession();
    this.scheduleReconnect();
  }

  /** Detaches and closes the socket without waiting for the closing handshake, which a dead network never completes. */
  private abandonSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    this.isReady = false;
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // Closing a socket that never opened can throw; it is gone either way.
    }
  }

  private afterDisconnect(): void {
    this.clearTimer("heartbeatTimer");
    this.clearTimer("answerTimer");
    // Commands in flight will never be answered on this socket; sends go
    // back to the queue with their clientId, the rest is simply forgotten.
    this.pending.clear();
    this.setOutbox(outboxRules.requeueInFlight(this.box));
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    if (this.networkDown) {
      this.setState("offline");
      return;
    }
    const delay = reconnectDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this.retryAt = this.clock.now() + delay;
    this.setState("offline");
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      this.connectOrWait();
    }, delay);
  }

  private maybeCheckSession(): void {
    const check = this.options.checkSession;
    if (!check || this.attempt + 1 < SESSION_CHECK_AFTER_FAILURES) return;
    void check().then(
      (alive) => {
        if (!alive && !this.stopped) this.endSession();
      },
      () => {
        // Unknown (server unreachable): keep retrying.
      },
    );
  }

  private endSession(): void {
    this.stop();
    this.options.handlers.sessionEnded();
  }

  // ---- frames ----

  private receive(data: unknown): void {
    if (typeof data !== "string") {
      console.warn("Ignoring a non-text WebSocket frame");
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      console.warn("Ignoring a WebSocket frame that is not JSON");
      return;
    }
    const parsed = ServerFrameSchema.safeParse(json);
    if (!parsed.success) {
      console.warn("Ignoring an unexpected WebSocket frame", json, parsed.error.issues);
      const seqOf = roomSeqOf(json);
      if (seqOf) this.options.handlers.unknownRoomEvent(seqOf.roomId, seqOf.seq);
      return;
    }
    this.dispatch(parsed.data);
  }

  private dispatch(frame: ServerFrame): void {
    const handlers = this.options.handlers;
    switch (frame.type) {
      case "ready":
        this.becameReady(frame.user, frame.presence);
        return;
      case "typing.updated":
      case "presence.updated":
        handlers.ephemeral?.(frame);
        return;
      case "ack":
        // Only presence.get's ack carries `presence` (sent untracked: acked() ignores its id).
        if (frame.presence) handlers.presence?.(frame.presence);
        this.acked(frame.id, frame.message, frame.rooms);
        return;
      case "error":
        this.refused(frame.id, frame.code, frame.message);
        return;
      case "message.created":
        // The sender's own socket gets its message here too: settle the
        // pending copy by clientId so the message shows once.
        handlers.roomEvent(frame);
        this.settle(frame.message.clientId);
        return;
      case "message.edited":
      case "message.deleted":
      case "reaction.added":
      case "reaction.removed":
      case "member.joined":
      case "member.left":
        handlers.roomEvent(frame);
        return;
      case "room.read":
        handlers.roomRead(frame.roomId, frame.lastReadSeq);
        return;
      case "receipts.updated":
        handlers.receipts?.(frame);
        return;
      case "notifications.updated":
      case "room.notifications.updated":
      case "notification":
        handlers.notifications?.(frame);
        return;
    }
  }

  private becameReady(user: Self, presence: Readonly<Record<string, Presence>> | undefined): void {
    this.isReady = true;
    this.attempt = 0;
    this.retryAt = null;
    this.clearTimer("answerTimer");
    this.setState("connected");
    this.options.handlers.ready(user, presence);
    for (const rooms of resumeBatches(this.options.resumeCursor())) {
      this.command({ type: "resume", id: this.nextId(), rooms }, { kind: "resume" });
    }
    this.flushOutbox();
    this.scheduleHeartbeat();
  }

  private acked(id: string, message: Message | undefined, rooms: Record<string, number> | undefined): void {
    const command = this.pending.get(id);
    if (!command) return;
    this.pending.delete(id);
    switch (command.kind) {
      case "send":
        if (message) this.options.handlers.messageAcked(message);
        this.settle(command.clientId);
        return;
      case "resume":
        this.options.handlers.resumed(rooms ?? {});
        return;
      case "ping":
        this.clearTimer("answerTimer");
        this.scheduleHeartbeat();
        return;
      case "read":
        return;
    }
  }

  private refused(id: string | null, code: string, message: string): void {
    const command = id === null ? undefined : this.pending.get(id);
    if (id === null || !command) {
      console.warn("WebSocket error", code, message);
      return;
    }
    this.pending.delete(id);
    if (command.kind === "send") {
      this.setOutbox(outboxRules.markFailed(this.box, id, { code, message }));
      this.flushOutbox();
      return;
    }
    console.warn(`WebSocket ${command.kind} refused`, code, message);
    if (command.kind === "ping") {
      this.clearTimer("answerTimer");
      this.scheduleHeartbeat();
    }
  }

  // ---- sending ----

  private flushOutbox(): void {
    if (!this.isReady) return;
    for (const entry of outboxRules.sendable(this.box)) {
      const id = this.nextId();
      const sent = this.command(
        { type: "message.send", id, roomId: entry.roomId, body: entry.body, clientId: entry.clientId, ...(entry.replyTo ? { replyTo: entry.replyTo } : {}),
          ...(entry.inThread ? { inThread: true } : {}), ...(entry.alsoInRoom ? { alsoInRoom: true } : {}),
          ...(entry.attachments?.length ? { attachments: entry.attachments.map((a) => a.id) } : {}) },
        { kind: "send", clientId: entry.clientId },
      );
      if (!sent) return;
      this.setOutbox(outboxRules.markSending(this.box, entry.clientId, id));
    }
  }

  private command(frame: ClientCommand & { id: string }, pending: PendingCommand): boolean {
    if (!this.socket || !this.isReady) return false;
    try {
      this.socket.send(JSON.stringify(frame));
    } catch {
      // The socket is closing; its close event requeues and reconnects.
      return false;
    }
    this.pending.set(frame.id, pending);
    return true;
  }

  private scheduleHeartbeat(): void {
    this.clearTimer("heartbeatTimer");
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = null;
      if (this.command({ type: "ping", id: this.nextId() }, { kind: "ping" })) this.armAnswerTimer();
    }, this.heartbeatMs);
  }

  private armAnswerTimer(): void {
    this.clearTimer("answerTimer");
    this.answerTimer = this.clock.setTimeout(() => {
      this.answerTimer = null;
      if (this.socket) this.dropSocket(CLIENT_GAVE_UP, "no answer");
    }, this.answerTimeoutMs);
  }

  // ---- small state plumbing ----

  private nextId(): string {
    this.commandCounter += 1;
    return `c${this.commandCounter}`;
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.options.handlers.statusChanged(this.snapshot);
  }

  private setOutbox(next: Outbox): void {
    if (next === this.box) return;
    this.box = next;
    this.options.handlers.outboxChanged(next);
  }

  private clearTimer(name: "retryTimer" | "heartbeatTimer" | "answerTimer"): void {
    const handle = this[name];
    if (handle !== null) this.clock.clearTimeout(handle);
    this[name] = null;
  }

  private clearTimers(): void {
    this.clearTimer("retryTimer");
    this.clearTimer("heartbeatTimer");
    this.clearTimer("answerTimer");
  }
}

function browserSocket(url: string): WebSocketLike {
  return new WebSocket(url) as unknown as WebSocketLike;
}

/** The protocol caps one resume at this many rooms. */
const MAX_ROOMS_PER_RESUME = 1000;

/** Splits the resume cursor into commands the server accepts (always at least one). */
export function resumeBatches(cursor: Record<string, number>): Record<string, number>[] {
  const entries = Object.entries(cursor);
  const batches: Record<string, number>[] = [];
  for (let i = 0; i < entries.length; i += MAX_ROOMS_PER_RESUME) {
    batches.push(Object.fromEntries(entries.slice(i, i + MAX_ROOMS_PER_RESUME)));
  }
  return batches.length > 0 ? batches : [{}];
}

/** The /ws URL on the page's own origin (the cookie and the Origin check need same-origin). */
export function sameOriginSocketUrl(location: { protocol: string; host: string }): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

/** roomId and seq of a frame that looks like a room event of an unknown type. */
function roomSeqOf(json: unknown): { roomId: string; seq: number } | null {
  if (typeof json !== "object" || json === null) return null;
  const { roomId, seq } = json as { roomId?: unknown; seq?: unknown };
  if (typeof roomId !== "string" || typeof seq !== "number" || !Number.isInteger(seq) || seq < 1) return null;
  return { roomId, seq };
}
