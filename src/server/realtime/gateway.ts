import { STATUS_CODES, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import type { Deps, Actor } from "../deps.js";
import type { Services } from "../services.js";
import type { BusEnvelope, RoomEnvelope, RoomEphemeralEnvelope } from "../bus/bus.js";
import { CloseCode, ErrorCode, errorStatus, type ErrorBody } from "@shared/protocol/errors.js";
import type { ErrorFrame, ReadyFrame } from "@shared/protocol/frames.js";
import { MAX_FRAME_BYTES, MAX_SEQ } from "@shared/protocol/limits.js";
import { AppError } from "../errors.js";
import { Connection } from "./connection.js";
import { CommandRejected, parseCommand, peekCommandId, runCommand } from "./commands.js";
import { CommandRateLimit, InvalidFrameLimit, TypingBudget } from "./rate-limit.js";
import { getSelf } from "../users/users.js";
import { frameText } from "./wire.js";
import { SESSION_COOKIE, liveCredentials } from "../auth/credentials.js";
import { durableRoomEvents, type RoomEventReader } from "../events/log.js";
import { addressKey, clientAddressOf } from "../http/client-address.js";
import { requestId } from "../http/health.js";
import { isTypingFrame } from "../presence/typing.js";
import { databaseUnavailable, isDatabaseUnavailable } from "../store/outage.js";
import { noSocketCounts, type SocketCounts } from "./socket-counts.js";
import { membersAmong } from "../rooms/access.js";
import type { SearchAdmission } from "../search/routes.js";

/**
 * The sockets are pinged in this many groups, one group per tick
 * (wsHeartbeatMs / HEARTBEAT_GROUPS apart), not all in one turn: a ping is a
 * socket write, and 1,000 of them at once stalled every delivery for
 * 10–20 ms every 30 s on the room-fanout benchmark (100,000 would stall a
 * node for about a second). Each tick also re-checks its group's
 * credentials in one query.
 */
const HEARTBEAT_GROUPS = 30;
/**
 * Frames a socket may send before `ready`, kept to run after it. A client
 * has no reason to send many (it has not seen `ready`); past it the socket
 * is closed (1008). Their bytes are bounded by the byte rate limit.
 */
const MAX_EARLY_FRAMES = 32;
/** Users whose rooms one query of a resync reads (after a bus outage). */
const RESYNC_USERS = 500;
/**
 * Ephemeral room frames waiting for their membership check while the bus is
 * down, at most; past it they are dropped (typing and receipts carry no
 * seq: a lost one is no gap).
 */
const MAX_UNVOUCHED_FRAMES = 1_000;

/** Per socket: its rate limits and the frames that arrived before `ready`. */
interface Intake {
  limit: CommandRateLimit;
  invalid: InvalidFrameLimit;
  /** Typing frames have their own budget, so that typing never throttles sends. */
  typing: TypingBudget;
  /** Frames waiting for `ready`; null once started. */
  early: RawData[] | null;
  /** The socket's first rate_limited refusal was logged (at warn); the rest are not. */
  limitedLogged?: boolean;
}

/**
 * The WebSocket gateway at /ws: authenticates the upgrade (cookie with an
 * allowed Origin, or a Bearer header), keeps the registry of sockets per
 * user and per room, and fans out what the bus publishes. It decides nothing
 * about who may see what: the services publish, and membership changes
 * arrive as room events that name the users who join or leave.
 */
export class Gateway {
  private readonly wss = new WebSocketServer({
    noServer: true,
    // Contract v1's frame limit, enforced by ws from the frame header: a larger
    // frame closes the socket with 1009 before it is buffered or parsed.
    maxPayload: MAX_FRAME_BYTES,
    // Deflate costs CPU per frame and per socket memory; chat frames are small.
    perMessageDeflate: false,
  });
  private readonly byUser = new Map<string, Set<Connection>>();
  /** TCP connections per client address, from the upgrade request until the socket closes. */
  private readonly byAddress = new Map<string, number>();
  /** Sockets that had bytes the kernel would not take at their last flush: the stall check's set. */
  private readonly backlogged = new Set<Connection>();
  private readonly stallTimer: NodeJS.Timeout;
  /** The client address of an upgrade request: the peer, or what a trusted proxy forwarded (config.trustProxy). */
  private readonly clientAddress: (req: IncomingMessage) => string;
  /** Heartbeat groups whose credential check is still running: a slow database gets no second one. */
  private readonly verifying = new Set<Set<Connection>>();
  private readonly byRoom = new Map<string, Set<Connection>>();
  /** Sockets loading their rooms: they see every room event until subscribed. */
  private readonly starting = new Map<Connection, RoomEnvelope[]>();
  private readonly unsubscribeBus: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  /** Sockets by heartbeat group, filled round-robin; the timer pings one group per tick. */
  private readonly heartbeatGroups: Set<Connection>[] = Array.from({ length: HEARTBEAT_GROUPS }, () => new Set());
  private nextGroup = 0;
  private tick = 0;
  private accepting = true;
  /** Draining (shutdown began): new upgrades are refused with 503, so a balancer tries another node; open sockets stay. */
  private refusing = false;
  /** Sockets with frames queued this turn; flushed together at its end. */
  private readonly dirty = new Set<Connection>();
  private flushScheduled = false;
  /** When the room events routed this turn were committed (performance.now() ms): the fan-out latency metric. */
  private routedCommits: number[] = [];
  /**
   * True from the loss of the bus between nodes until the resync after it
   * has run: leaves made on other nodes meanwhile were not heard, so the
   * per-room index may name sockets of users who left. Never set with the
   * in-process bus.
   */
  private unvouched = false;
  /** Bus outages so far: a resync clears `unvouched` only if no new outage began while it ran. */
  private outages = 0;
  /** Ephemeral room frames whose membership check runs (in order, one after another) while unvouched. */
  private vouching: Promise<void> = Promise.resolve();
  private vouchQueue = 0;

  /** What catch-ups read: the event log, as far as it is durable. */
  private readonly readEvents: RoomEventReader;

  constructor(
    private readonly deps: Deps,
    private readonly services: Services,
    private readonly parseCookie: (header: string) => Record<string, string | undefined>,
    /** Sockets per user and per address on the other nodes (many nodes), for the socket caps. */
    private readonly socketCounts: SocketCounts = noSocketCounts,
    /** What a `search` command passes first (query length, the user's search budget): the HTTP routes' own (search/routes.ts). */
    private readonly searchAdmission: SearchAdmission | null = null,
  ) {
    this.readEvents = durableRoomEvents(deps.store.db, (roomId) => services.writer.readableSeq(roomId));
    this.clientAddress = clientAddressOf(deps.config.trustProxy);
    this.unsubscribeBus = deps.bus.subscribe((e) => this.onBus(e));
    this.heartbeat = setInterval(() => this.beat(), deps.config.wsHeartbeatMs / HEARTBEAT_GROUPS);
    this.heartbeat.unref();
    // Coarse: a stalled socket is cut within wsStallTimeoutMs plus one tick.
    const stallTick = Math.max(250, Math.min(5_000, Math.floor(deps.config.wsStallTimeoutMs / 4)));
    this.stallTimer = setInterval(() => this.checkStalls(), stallTick);
    this.stallTimer.unref();
  }

  /** Number of open sockets, not counting those already closing (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const set of this.byUser.values()) for (const conn of set) if (conn.isOpen) n++;
    return n;
  }

  /** What every socket here makes the node hold, unsent (bytes; for the metric). */
  get bufferedBytes(): number {
    let n = 0;
    for (const set of this.byUser.values()) for (const conn of set) n += conn.bufferedBytes;
    return n;
  }

  /** A user's registered sockets, closing ones included until they are gone (for metrics and tests). */
  connectionsOf(userId: string): readonly Connection[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  /** Routes the HTTP server's upgrades for /ws here; others are refused. */
  attach(server: Server): void {
    server.on("upgrade", (req, socket, head) => {
      void this.upgrade(req, socket, head).catch((err: unknown) => {
        this.deps.log.error({ err }, "upgrade failed");
        refuse(socket, req, ErrorCode.Internal, "Something went wrong on the server.");
      });
    });
  }

  /**
   * Refuses before accepting, each in contract v1's error shape (`refuse`):
   * 400 for a target that is no URL, 404 off /ws, 503 when shutting down,
   * 429 past wsSocketsPerAddress (counted from the request, before
   * authentication) or wsSocketsPerUser, 403 for a cookie from a foreign
   * Origin, 401 without valid credentials.
   */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = targetPath(req.url ?? "/");
    if (path === null) return refuse(socket, req, ErrorCode.ValidationFailed, "The request target is not a valid URL.");
    if (path !== "/ws") return refuse(socket, req, ErrorCode.NotFound, "No WebSocket here; it is at /ws.");
    if (!this.accepting) return refuse(socket, req, ErrorCode.Unavailable, "The server is shutting down; try again shortly.");
    // Keyed like the HTTP limits: IPv4 as is, IPv6 by its /64.
    const address = addressKey(this.clientAddress(req));
    // With many nodes the caps count every node's sockets (realtime/socket-counts.ts); read before the checks,
    // so that each check and its registration still happen in one turn.
    const addressElsewhere = await this.socketCounts.elsewhere(`a:${address}`);
    if ((this.byAddress.get(address) ?? 0) + addressElsewhere >= this.deps.config.wsSocketsPerAddress) {
      this.deps.log.warn({ address, limit: "--ws-sockets-per-address" }, "socket refused: rate limit");
      return refuse(socket, req, ErrorCode.RateLimited, "Too many open sockets from this address.");
    }
    // Held until the upgrade is refused or the TCP connection closes: counted once, released once.
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    this.socketCounts.set(`a:${address}`, this.byAddress.get(address)!);
    let counted = true;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      const n = (this.byAddress.get(address) ?? 1) - 1;
      if (n > 0) this.byAddress.set(address, n);
      else this.byAddress.delete(address);
      this.socketCounts.set(`a:${address}`, n);
    };
    socket.once("close", release);
    const refuseCounted = (code: ErrorCode, message: string): void => {
      release();
      refuse(socket, req, code, message);
    };
    const actor = await this.authenticate(req).catch((err: unknown) => {
      release();
      throw err;
    });
    if (actor === "bad-origin") return refuseCounted(ErrorCode.Forbidden, "This Origin may not open a socket with the session cookie.");
    if (!actor) return refuseCounted(ErrorCode.Unauthenticated, "No valid session cookie or Bearer token.");
    const userElsewhere = await this.socketCounts.elsewhere(`u:${actor.userId}`);
    if (socket.destroyed || !this.accepting || this.refusing) return refuseCounted(ErrorCode.Unavailable, "The server is shutting down; try again shortly.");
    // Checked and registered (in open(), called back synchronously) in one turn: concurrent upgrades on this node cannot both pass.
    if ((this.byUser.get(actor.userId)?.size ?? 0) + userElsewhere >= this.deps.config.wsSocketsPerUser) {
      this.deps.log.warn({ userId: actor.userId, limit: "--ws-sockets-per-user" }, "socket refused: rate limit");
      return refuseCounted(ErrorCode.RateLimited, "Too many open sockets for this user.");
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.open(ws, socket as Socket, actor).catch((err: unknown) => {
        // A start that fails on a socket already gone (peer left, shutdown) is no bug.
        if (ws.readyState === ws.OPEN && this.accepting) this.deps.log.error({ err }, "socket start failed");
        else this.deps.log.debug({ err }, "socket start ended with its socket");
        ws.close(CloseCode.GoingAway.code, CloseCode.GoingAway.reason);
      });
    });
  }

  /**
   * Bearer header first; else the session cookie, whose Origin must be an
   * allowed origin or the server's own (Cross-Site WebSocket Hijacking, OWASP
   * WebSocket Security Cheat Sheet).
   */
  private async authenticate(req: IncomingMessage): Promise<Actor | null | "bad-origin"> {
    const auth = req.headers.authorization;
    if (auth?.startsWith("Bearer ")) return this.services.auth.identify({ bearer: auth.slice(7).trim() });
    const sessionToken = req.headers.cookie ? this.parseCookie(req.headers.cookie)[SESSION_COOKIE] : undefined;
    if (!sessionToken) return null;
    const origin = req.headers.origin;
    if (!origin || !(this.deps.config.allowedOrigins.includes(origin) || isSameOrigin(origin, req.headers.host))) return "bad-origin";
    return this.services.auth.identify({ sessionToken });
  }

  private async open(ws: WebSocket, socket: Socket, actor: Actor): Promise<void> {
    const conn = new Connection(randomUUID(), actor, ws, socket, this.readEvents, this.deps.log, {
      sendBufferBytes: this.deps.config.wsSendBufferBytes,
      scheduleFlush: (c) => this.scheduleFlush(c),
      index: { add: (roomId, c) => addTo(this.byRoom, roomId, c), remove: (roomId, c) => removeFrom(this.byRoom, roomId, c) },
      onBacklog: (c) => this.backlogged.add(c),
      onLeftInLog: (roomId, c) => this.leftInLog(roomId, c),
    });
    const intake: Intake = {
      limit: new CommandRateLimit(this.deps.config.wsCommandsPerSecond, this.deps.config.wsBytesPerSecond),
      invalid: new InvalidFrameLimit(this.deps.config.wsInvalidFramesPerMinute),
      typing: new TypingBudget(this.deps.config.wsTypingPerSecond),
      // Frames that arrive before ready are run after it, in order (rate-limited on arrival).
      early: [],
    };

    // Registered before the rooms are read: nothing published meanwhile is missed.
    this.starting.set(conn, []);
    addTo(this.byUser, actor.userId, conn);
    this.socketCounts.set(`u:${actor.userId}`, this.byUser.get(actor.userId)!.size);
    this.heartbeatGroups[this.nextGroup++ % HEARTBEAT_GROUPS]!.add(conn);
    ws.on("close", () => this.drop(conn));
    ws.on("error", (err) => this.deps.log.debug({ err, conn: conn.id }, "socket error"));
    ws.on("message", (data, isBinary) => this.onFrame(conn, intake, data, isBinary));

    const loaded = await Promise.all([
      getSelf(this.deps.store.db, actor.userId),
      this.services.rooms.subscriptions(actor.userId),
      this.services.presence.snapshotFor(actor.userId),
    ]).catch(
      (err: unknown) => {
        this.drop(conn);
        throw err;
      },
    );
    const [user, rooms, presence] = loaded;
    if (!conn.isOpen) {
      // Closed while its rooms were loading: drop() has run or will; subscribing now would leak it.
      this.drop(conn);
      return;
    }
    for (const r of rooms) conn.subscribe(r.roomId, r.lastSeq);
    const ready: ReadyFrame = { type: "ready", user, presence };
    conn.start(JSON.stringify(ready));
    this.services.presence.connected(actor.userId, conn.id);
    const missed = this.starting.get(conn) ?? [];
    this.starting.delete(conn);
    for (const e of missed) this.routeRoomEvent(e, conn);
    const early = intake.early ?? [];
    intake.early = null;
    for (const data of early) this.runFrame(conn, intake, data);
  }

  /** One setImmediate per turn flushes every socket written to in it. */
  private scheduleFlush(conn: Connection): void {
    this.dirty.add(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      const started = performance.now();
      this.flushScheduled = false;
      const dirty = [...this.dirty];
      this.dirty.clear();
      for (const c of dirty) c.flush();
      const done = performance.now();
      const observer = this.deps.metrics.sendPath;
      observer.stage("flush", done - started);
      for (const committedAt of this.routedCommits) observer.fanout(done - committedAt);
      this.routedCommits = [];
    });
  }

  private drop(conn: Connection): void {
    for (const group of this.heartbeatGroups) if (group.delete(conn)) break;
    this.dirty.delete(conn);
    this.backlogged.delete(conn);
    this.starting.delete(conn);
    removeFrom(this.byUser, conn.userId, conn);
    this.socketCounts.set(`u:${conn.userId}`, this.byUser.get(conn.userId)?.size ?? 0);
    for (const roomId of conn.rooms.keys()) removeFrom(this.byRoom, roomId, conn);
    // Both idempotent (drop may run twice): its typing stops now, its presence after the grace.
    this.services.typing.disconnected(conn.id);
    this.services.presence.disconnected(conn.userId, conn.id);
  }

  /**
   * Frame intake: counted against the socket's frame and byte rates before
   * anything else, refused unparsed when over them, kept until `ready` when
   * early, then parsed and run. Nothing a closing socket sends is looked at:
   * its session may have ended (logout) while its close handshake runs.
   */
  private onFrame(conn: Connection, intake: Intake, data: RawData, isBinary: boolean): void {
    if (!conn.isOpen) return;
    const started = performance.now();
    const bytes = rawLength(data);
    const head = headOf(data);
    if (!isBinary && isTypingFrame(head, bytes)) {
      // Its own budget, not the command limit; over it, or before ready, dropped unanswered (ephemeral).
      if (intake.typing.take() && !intake.early) this.runFrame(conn, intake, data, "typing", started);
      return;
    }
    const verdict = intake.limit.take(bytes);
    if (verdict === "flood") {
      this.deps.log.warn({ conn: conn.id, userId: conn.actor.userId }, "socket closed: it ignored rate_limited (4429)");
      conn.close(CloseCode.Flooding);
      return;
    }
    if (verdict === "limited") {
      // Once per socket at warn: a client over its budget sends many refused frames in a row.
      if (!intake.limitedLogged) {
        intake.limitedLogged = true;
        this.deps.log.warn({ conn: conn.id, userId: conn.actor.userId, limit: "--ws-commands-per-second / --ws-bytes-per-second" }, "socket frames refused: rate limit");
      }
      // Not parsed: refusing must cost less than the frame did to send. The id is peeked from the
      // frame's head so that a client can tell which command to retry. Not counted as invalid:
      // a client that ignores rate_limited is closed by the flood verdict (4429) instead.
      this.sendError(conn, peekCommandId(head), new AppError(ErrorCode.RateLimited, "Too many commands or bytes; slow down.", { retryAfter: 1 }));
      return;
    }
    if (isBinary) {
      this.refuse(conn, intake, null, new AppError(ErrorCode.ValidationFailed, "Parley speaks JSON in text frames only."));
      return;
    }
    if (intake.early) {
      if (intake.early.length >= MAX_EARLY_FRAMES) {
        conn.close(CloseCode.PolicyViolation);
        return;
      }
      intake.early.push(data);
      return;
    }
    this.runFrame(conn, intake, data, undefined, started);
  }

  /** Parses and runs one accepted text frame; answers its ack or error. `started`: when its intake began (performance.now() ms), for the metric. */
  private runFrame(conn: Connection, intake: Intake, data: RawData, only?: "typing", started?: number): void {
    if (!conn.isOpen) return;
    let cmd;
    try {
      cmd = parseCommand(textOf(data));
    } catch (err) {
      this.refuse(conn, intake, err instanceof CommandRejected ? err.commandId : null, err);
      return;
    }
    if (only !== undefined && cmd.type !== only) {
      // Admitted on the typing budget by its head, but another command (a duplicate "type" key): refused.
      this.refuse(conn, intake, cmd.id ?? null, new AppError(ErrorCode.ValidationFailed, "A frame that starts as a typing command must be one."));
      return;
    }
    if (started !== undefined) this.deps.metrics.sendPath.stage("intake", performance.now() - started);
    runCommand(this.services, conn, cmd, this.searchAdmission).then(
      (ack) => {
        if (ack) conn.send(JSON.stringify(typeof ack === "function" ? ack() : ack));
      },
      (err: unknown) => this.sendError(conn, cmd.id ?? null, err),
    );
  }

  /** Answers a malformed frame (not JSON, unknown command, bad fields, binary); past wsInvalidFramesPerMinute the socket is closed (1008). */
  private refuse(conn: Connection, intake: Intake, id: string | null, err: unknown): void {
    this.sendError(conn, id, err);
    if (intake.invalid.count()) conn.close(CloseCode.PolicyViolation);
  }

  private sendError(conn: Connection, id: string | null, err: unknown): void {
    let frame: ErrorFrame;
    if (!(err instanceof AppError) && isDatabaseUnavailable(err)) {
      this.deps.log.warn({ err: (err as Error).message, conn: conn.id }, "command failed: database unavailable");
      err = databaseUnavailable();
    }
    if (err instanceof AppError) {
      frame = { type: "error", id, code: err.code, message: err.message };
      if (err.details) frame.details = err.details;
      if (err.retryAfter !== undefined) frame.retryAfter = err.retryAfter;
    } else {
      // A command that fails on a socket already closing (peer gone, logout) is not a bug.
      if (conn.isOpen) this.deps.log.error({ err, conn: conn.id }, "command failed");
      else this.deps.log.debug({ err, conn: conn.id }, "command ended with its socket");
      frame = { type: "error", id, code: ErrorCode.Internal, message: "Something went wrong on the server." };
    }
    conn.send(JSON.stringify(frame));
  }

  private onBus(e: BusEnvelope): void {
    switch (e.kind) {
      case "room":
        for (const missed of this.starting.values()) missed.push(e);
        this.routeRoomEvent(e);
        // Measured only when it reached a socket here (a flush is due).
        if (e.committedAt !== undefined && this.flushScheduled) this.routedCommits.push(e.committedAt);
        return;
      case "user":
        this.toUsers([e.userId], e.frame);
        return;
      case "room.ephemeral": {
        // Typing, receipts: to the room's subscribed sockets but the typist's; framed once; no seq, so no cursor.
        // Also while checked frames still wait after the resync: a frame sent directly must not overtake them.
        if (this.unvouched || this.vouchQueue > 0) {
          this.toMembersChecked(e);
          return;
        }
        const conns = this.byRoom.get(e.roomId);
        if (!conns) return;
        const wire = frameText(e.frame);
        for (const conn of conns) if (conn.userId !== e.exceptUserId) conn.enqueue(wire);
        return;
      }
      case "users":
        // Presence: one frame for the sockets on this node of each named user.
        this.toUsers(e.userIds, e.frame);
        return;
      case "credential.ended":
        for (const conn of this.byUser.get(e.userId) ?? []) {
          if (conn.actor.credentialHash === e.credentialHash) conn.close(CloseCode.Unauthorized);
        }
        return;
    }
  }

  /**
   * An ephemeral room frame while the bus is down: the room's sockets here
   * may include those of a user who left through another node, unheard. So
   * membership is read from the database first, in one query for all of
   * them, and the frame goes only to members' sockets. A socket whose user
   * is no longer a member is caught up from the log, which ends its stream
   * at their `member.left`. Frames are checked one after another (their
   * order kept), at most MAX_UNVOUCHED_FRAMES waiting; when the database
   * cannot answer either, the frame is dropped (ephemeral: no seq, no gap).
   */
  private toMembersChecked(e: RoomEphemeralEnvelope): void {
    const conns = [...(this.byRoom.get(e.roomId) ?? [])].filter((c) => c.userId !== e.exceptUserId);
    if (conns.length === 0) return;
    if (this.vouchQueue >= MAX_UNVOUCHED_FRAMES) return;
    this.vouchQueue++;
    const userIds = [...new Set(conns.map((c) => c.userId))];
    this.vouching = this.vouching
      .then(async () => {
        const members = await membersAmong(this.deps.store.db, e.roomId, userIds);
        let wire: Buffer | null = null;
        for (const conn of conns) {
          // Left (heard meanwhile) or closed while the check ran.
          if (!conn.rooms.has(e.roomId) || !conn.isOpen) continue;
          if (!members.has(conn.userId)) conn.catchUpTo(e.roomId, MAX_SEQ);
          else conn.enqueue((wire ??= frameText(e.frame)));
        }
      })
      .catch((err: unknown) => this.deps.log.warn({ err, roomId: e.roomId }, "ephemeral room frame dropped: membership could not be checked"))
      .finally(() => this.vouchQueue--);
  }

  /**
   * A catch-up ended a socket's room at its user's own `member.left`, a
   * leave this node did not hear live: they are no longer typing there. If
   * they are a member again (they rejoined, unheard too), this socket cannot
   * follow the room from here: it is closed with 1012 and its client
   * resumes, as the resync does with a socket whose rooms changed.
   */
  private leftInLog(roomId: string, conn: Connection): void {
    this.services.typing.left(roomId, conn.userId);
    membersAmong(this.deps.store.db, roomId, [conn.userId]).then(
      (members) => {
        if (members.has(conn.userId) && conn.isOpen && !conn.rooms.has(roomId)) conn.close(CloseCode.ServiceRestart);
      },
      (err: unknown) => this.deps.log.warn({ err, conn: conn.id, roomId }, "membership check after a leave found in the log failed"),
    );
  }

  /** Every socket on this node of each of `userIds`; framed once, and only if one of them is here. */
  private toUsers(userIds: readonly string[], frame: string): void {
    let wire: Buffer | null = null;
    for (const userId of userIds) {
      const conns = this.byUser.get(userId);
      if (!conns) continue;
      wire ??= frameText(frame);
      for (const conn of conns) conn.enqueue(wire);
    }
  }

  /**
   * Joins first (so the joiner gets its own member.joined), then delivery,
   * then leaves. The event is framed once for all its recipients.
   */
  private routeRoomEvent(e: RoomEnvelope, only?: Connection): void {
    for (const userId of e.addUserIds ?? []) {
      for (const conn of this.byUser.get(userId) ?? []) {
        if (only === undefined || conn === only) conn.subscribe(e.roomId, e.seq - 1);
      }
    }
    const conns = only ? [only] : this.byRoom.get(e.roomId);
    if (conns) {
      const wire = frameText(e.frame);
      for (const conn of conns) conn.deliver(e.roomId, e.seq, wire);
    }
    for (const userId of e.removeUserIds ?? []) {
      for (const conn of this.byUser.get(userId) ?? []) {
        // Their own member.left (e.seq) is the last event of the room they get, on every path.
        if (only === undefined || conn === only) conn.unsubscribe(e.roomId, e.seq);
      }
      // Whoever left is no longer typing there, for the members who stay.
      if (only === undefined) this.services.typing.left(e.roomId, userId);
    }
  }

  /**
   * Pings the next heartbeat group, closes its sockets whose session has
   * expired (4401), and re-checks the group's sessions and tokens in one
   * query: one deleted elsewhere (logout on another node, an operator, a
   * purge) is closed too.
   */
  private beat(): void {
    const now = Date.now();
    const group = this.heartbeatGroups[this.tick++ % HEARTBEAT_GROUPS]!;
    for (const conn of group) {
      if (conn.actor.expiresAt !== null && conn.actor.expiresAt <= now) conn.close(CloseCode.Unauthorized);
      else conn.heartbeat();
    }
    if (group.size > 0 && !this.verifying.has(group)) {
      this.verifying.add(group);
      void this.verifyCredentials(group).finally(() => this.verifying.delete(group));
    }
  }

  private async verifyCredentials(group: Set<Connection>): Promise<void> {
    const conns = [...group].filter((c) => c.isOpen);
    if (conns.length === 0) return;
    const sessions = new Set<string>();
    const tokens = new Set<string>();
    for (const c of conns) (c.actor.via === "session" ? sessions : tokens).add(c.actor.credentialHash);
    let live: Set<string>;
    try {
      live = await liveCredentials(this.deps.store.db, { sessions: [...sessions], tokens: [...tokens] });
    } catch (err) {
      // An outage is not a reason to cut everyone; the next beat asks again.
      if (this.accepting) this.deps.log.warn({ err }, "credential check failed");
      return;
    }
    for (const c of conns) if (!live.has(c.actor.credentialHash)) c.close(CloseCode.Unauthorized);
  }

  /** Cuts sockets whose peer took none of the pending bytes for wsStallTimeoutMs (4408, then terminated). */
  private checkStalls(): void {
    if (this.backlogged.size === 0) return;
    const now = performance.now();
    const timeout = this.deps.config.wsStallTimeoutMs;
    for (const conn of this.backlogged) {
      const state = conn.stall(now, timeout);
      if (state === "idle") this.backlogged.delete(conn);
      else if (state === "stalled") {
        this.backlogged.delete(conn);
        this.deps.log.debug({ conn: conn.id, buffered: conn.bufferedBytes }, "stalled reader: cutting");
        conn.close(CloseCode.SlowConsumer, { cut: true });
      }
    }
  }

  /**
   * The bus between nodes is down (bus/open.ts): until the resync after it
   * has run, this node cannot vouch for its per-room index, since a leave
   * made on another node meanwhile is not heard. Room events with a seq
   * need nothing more: the leave took a seq, so the next event a stale
   * socket gets shows a gap, and the catch-up from the log that fills it
   * ends at the member's own `member.left`. Ephemeral room frames (typing,
   * receipts) have no seq: they are sent only to sockets whose user the
   * database confirms as a member (`toMembersChecked`).
   */
  busLost(): void {
    this.outages++;
    this.unvouched = true;
  }

  /**
   * After the bus between nodes was down: envelopes published meanwhile are
   * lost, so every socket here is brought up to date from the database. For
   * the users with sockets here, RESYNC_USERS at a time, one query gives
   * their rooms and heads: a socket whose rooms are the same catches up on
   * each room it is behind in; one whose rooms changed meanwhile (a join or
   * leave it did not hear of) is closed with 1012, and its client reconnects
   * and resumes by seq, which sends it exactly what it lacks. Once it has
   * run through (and the bus did not go down again meanwhile), ephemeral
   * room frames go to the per-room index unchecked again.
   */
  async resync(): Promise<void> {
    const outage = this.outages;
    const users = [...this.byUser.keys()];
    for (let i = 0; i < users.length && this.accepting; i += RESYNC_USERS) {
      const chunk = users.slice(i, i + RESYNC_USERS);
      const subscriptions = await this.services.rooms.subscriptionsOf(chunk);
      for (const userId of chunk) {
        const heads = new Map((subscriptions.get(userId) ?? []).map((r) => [r.roomId, r.lastSeq]));
        for (const conn of this.byUser.get(userId) ?? []) {
          if (!conn.isOpen || this.starting.has(conn)) continue;
          const same = conn.rooms.size === heads.size && [...conn.rooms.keys()].every((roomId) => heads.has(roomId));
          if (!same) conn.close(CloseCode.ServiceRestart);
          else for (const [roomId, head] of heads) conn.catchUpTo(roomId, head);
        }
      }
    }
    if (this.outages === outage) this.unvouched = false;
  }

  /**
   * The first step of a shutdown: upgrades from now on are refused with
   * 503 (nginx passes a refused GET to another node), while the sockets
   * already open keep being served until `close`.
   */
  refuseNewSockets(): void {
    this.refusing = true;
  }

  /**
   * Stops accepting sockets and closes the open ones with 1012 "service
   * restart": clients reconnect at once, through the load balancer to
   * another node, and resume by seq.
   */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    clearInterval(this.stallTimer);
    this.unsubscribeBus();
    for (const set of this.byUser.values()) for (const conn of set) conn.close(CloseCode.ServiceRestart);
    const deadline = Date.now() + 3_000;
    while (this.wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** True when `origin` names the host the request was sent to (a malformed Origin is not). */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The path of an upgrade's request target, or null when it is no URL. An
 * origin-form target (RFC 9112 §3.2.1, `/ws?x`) is a path as it stands:
 * `//ws:99999` is a path, not a host and port. An absolute-form one
 * (`http://host/ws`) is parsed; `http://[::1` is not a URL.
 */
function targetPath(target: string): string | null {
  if (target.startsWith("/")) return target.split(/[?#]/, 1)[0] ?? "";
  try {
    return new URL(target).pathname;
  } catch {
    return null;
  }
}

/**
 * Refuses an upgrade with a plain HTTP answer in contract v1's error shape:
 * the code's status, `{error: {code, message}}` (none to a HEAD), the
 * request's X-Request-Id, Retry-After on 429 (10 s) and 503 (5 s, as the
 * HTTP API's shutdown answer), and `Connection: close`.
 */
function refuse(socket: Duplex, req: IncomingMessage, code: ErrorCode, message: string): void {
  const status = errorStatus[code];
  const body: ErrorBody = { error: { code, message } };
  const json = JSON.stringify(body);
  const retryAfter = status === 429 ? 10 : status === 503 ? 5 : null;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`,
    "Content-Type: application/json; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(json)}`,
    `X-Request-Id: ${requestId(req)}`,
    ...(retryAfter === null ? [] : [`Retry-After: ${retryAfter}`]),
    "Connection: close",
  ].join("\r\n");
  socket.end(`${head}\r\n\r\n${req.method === "HEAD" ? "" : json}`);
}

/** A frame's payload length in bytes, whatever shape ws delivered it in. */
function rawLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

/** The first bytes of a frame's payload (enough for `peekCommandId`), without copying the whole frame. */
function headOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return data[0] ?? Buffer.alloc(0);
  return Buffer.from(data, 0, Math.min(data.byteLength, 256));
}

/** A text frame's payload as a string (ws has checked it is UTF-8, RFC 6455 §8.1). */
function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString();
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.from(data).toString();
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
