import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import type { Deps, Actor } from "../deps.js";
import type { Services } from "../services.js";
import type { BusEnvelope, RoomEnvelope } from "../bus/bus.js";
import { CloseCode, ErrorCode } from "@shared/protocol/errors.js";
import type { ErrorFrame, ReadyFrame } from "@shared/protocol/frames.js";
import { AppError } from "../errors.js";
import { Connection } from "./connection.js";
import { commandIdOf, parseCommand, runCommand } from "./commands.js";
import { CommandRateLimit } from "./rate-limit.js";
import { getSelf } from "../users/users.js";
import { frameText } from "./wire.js";
import { SESSION_COOKIE } from "../auth/credentials.js";
import { durableRoomEvents, type RoomEventReader } from "../events/log.js";

/** Frames larger than this close the socket (1009); up to it they get a `payload_too_large` error. */
const HARD_FRAME_LIMIT_BYTES = 1024 * 1024;
/** Server pings each socket this often; a socket that missed the last pong is cut. */
const HEARTBEAT_MS = 30_000;
/**
 * The sockets are pinged in this many groups, one group per tick
 * (HEARTBEAT_MS / HEARTBEAT_GROUPS apart), not all in one turn: a ping is a
 * socket write, and 1,000 of them at once stalled every delivery for
 * 10–20 ms every 30 s on the room-fanout benchmark (100,000 would stall a
 * node for about a second).
 */
const HEARTBEAT_GROUPS = 30;

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
    maxPayload: HARD_FRAME_LIMIT_BYTES,
    // Deflate costs CPU per frame and per socket memory; chat frames are small.
    perMessageDeflate: false,
  });
  private readonly byUser = new Map<string, Set<Connection>>();
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
  /** Sockets with frames queued this turn; flushed together at its end. */
  private readonly dirty = new Set<Connection>();
  private flushScheduled = false;

  /** What catch-ups read: the event log, as far as it is durable. */
  private readonly readEvents: RoomEventReader;

  constructor(
    private readonly deps: Deps,
    private readonly services: Services,
    private readonly parseCookie: (header: string) => Record<string, string | undefined>,
  ) {
    this.readEvents = durableRoomEvents(deps.store.db, (roomId) => services.writer.readableSeq(roomId));
    this.unsubscribeBus = deps.bus.subscribe((e) => this.onBus(e));
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS / HEARTBEAT_GROUPS);
    this.heartbeat.unref();
  }

  /** Number of open sockets, not counting those already closing (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const set of this.byUser.values()) for (const conn of set) if (conn.isOpen) n++;
    return n;
  }

  /** Routes the HTTP server's upgrades for /ws here; others are refused. */
  attach(server: Server): void {
    server.on("upgrade", (req, socket, head) => {
      void this.upgrade(req, socket, head).catch((err: unknown) => {
        this.deps.log.error({ err }, "upgrade failed");
        refuse(socket, 500, "Internal Server Error");
      });
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/ws") return refuse(socket, 404, "Not Found");
    if (!this.accepting) return refuse(socket, 503, "Service Unavailable");
    const actor = await this.authenticate(req);
    if (actor === "bad-origin") return refuse(socket, 403, "Forbidden");
    if (!actor) return refuse(socket, 401, "Unauthorized");
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.open(ws, socket as Socket, actor).catch((err: unknown) => {
        this.deps.log.error({ err }, "socket start failed");
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
    const conn = new Connection(
      randomUUID(),
      actor,
      ws,
      socket,
      this.readEvents,
      this.deps.log,
      this.deps.config.wsSendBufferBytes,
      (c) => this.scheduleFlush(c),
      { add: (roomId, c) => addTo(this.byRoom, roomId, c), remove: (roomId, c) => removeFrom(this.byRoom, roomId, c) },
    );
    const limit = new CommandRateLimit(this.deps.config.wsCommandsPerSecond);

    // Registered before the rooms are read: nothing published meanwhile is missed.
    this.starting.set(conn, []);
    addTo(this.byUser, actor.userId, conn);
    this.heartbeatGroups[this.nextGroup++ % HEARTBEAT_GROUPS]!.add(conn);
    ws.on("close", () => this.drop(conn));
    ws.on("error", (err) => this.deps.log.debug({ err, conn: conn.id }, "socket error"));

    // Frames that arrive before ready are handled after it, in order.
    const early: { data: RawData; isBinary: boolean }[] = [];
    let started = false;
    ws.on("message", (data, isBinary) => {
      if (!started) early.push({ data, isBinary });
      else this.onFrame(conn, limit, data, isBinary);
    });

    const loaded = await Promise.all([getSelf(this.deps.store.db, actor.userId), this.services.rooms.subscriptions(actor.userId)]).catch(
      (err: unknown) => {
        this.drop(conn);
        throw err;
      },
    );
    const [user, rooms] = loaded;
    if (ws.readyState !== ws.OPEN) {
      // Closed while its rooms were loading: drop() has run; subscribing now would leak it.
      this.drop(conn);
      return;
    }
    for (const r of rooms) conn.subscribe(r.roomId, r.lastSeq);
    const ready: ReadyFrame = { type: "ready", user };
    conn.start(JSON.stringify(ready));
    const missed = this.starting.get(conn) ?? [];
    this.starting.delete(conn);
    for (const e of missed) this.routeRoomEvent(e, conn);
    started = true;
    for (const f of early) this.onFrame(conn, limit, f.data, f.isBinary);
  }

  /** One setImmediate per turn flushes every socket written to in it. */
  private scheduleFlush(conn: Connection): void {
    this.dirty.add(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const dirty = [...this.dirty];
      this.dirty.clear();
      for (const c of dirty) c.flush();
    });
  }

  private drop(conn: Connection): void {
    for (const group of this.heartbeatGroups) if (group.delete(conn)) break;
    this.dirty.delete(conn);
    this.starting.delete(conn);
    removeFrom(this.byUser, conn.userId, conn);
    for (const roomId of conn.rooms.keys()) removeFrom(this.byRoom, roomId, conn);
  }

  private onFrame(conn: Connection, limit: CommandRateLimit, data: RawData, isBinary: boolean): void {
    const verdict = limit.take();
    if (verdict === "flood") {
      conn.close(CloseCode.Flooding);
      return;
    }
    if (isBinary) {
      this.sendError(conn, null, new AppError(ErrorCode.ValidationFailed, "Parley speaks JSON in text frames only."));
      return;
    }
    const text = data.toString();
    if (verdict === "limited") {
      this.sendError(conn, commandIdOf(text), new AppError(ErrorCode.RateLimited, "Too many commands; slow down.", { retryAfter: 1 }));
      return;
    }
    let cmd;
    try {
      cmd = parseCommand(text);
    } catch (err) {
      this.sendError(conn, commandIdOf(text), err);
      return;
    }
    runCommand(this.services, conn, cmd).then(
      (ack) => conn.send(JSON.stringify(ack)),
      (err: unknown) => this.sendError(conn, cmd.id, err),
    );
  }

  private sendError(conn: Connection, id: string | null, err: unknown): void {
    let frame: ErrorFrame;
    if (err instanceof AppError) {
      frame = { type: "error", id, code: err.code, message: err.message };
      if (err.details) frame.details = err.details;
      if (err.retryAfter !== undefined) frame.retryAfter = err.retryAfter;
    } else {
      this.deps.log.error({ err, conn: conn.id }, "command failed");
      frame = { type: "error", id, code: ErrorCode.Internal, message: "Something went wrong on the server." };
    }
    conn.send(JSON.stringify(frame));
  }

  private onBus(e: BusEnvelope): void {
    switch (e.kind) {
      case "room":
        for (const missed of this.starting.values()) missed.push(e);
        this.routeRoomEvent(e);
        return;
      case "user": {
        const conns = this.byUser.get(e.userId);
        if (!conns) return;
        const wire = frameText(e.frame);
        for (const conn of conns) conn.enqueue(wire);
        return;
      }
      case "credential.ended":
        for (const conn of this.byUser.get(e.userId) ?? []) {
          if (conn.actor.credentialHash === e.credentialHash) conn.close(CloseCode.Unauthorized);
        }
        return;
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
        if (only === undefined || conn === only) conn.unsubscribe(e.roomId);
      }
    }
  }

  /** Closes sockets whose session expired (4401), cuts those that missed the last ping, pings the rest. */
  /** Pings the next heartbeat group, and closes its sockets whose session has expired. */
  private beat(): void {
    const now = Date.now();
    const group = this.heartbeatGroups[this.tick++ % HEARTBEAT_GROUPS]!;
    for (const conn of group) {
      if (conn.actor.expiresAt !== null && conn.actor.expiresAt <= now) conn.close(CloseCode.Unauthorized);
      else conn.heartbeat();
    }
  }

  /** Stops accepting sockets and closes the open ones with 1001 "going away". */
  async close(): Promise<void> {
    this.accepting = false;
    clearInterval(this.heartbeat);
    this.unsubscribeBus();
    for (const set of this.byUser.values()) for (const conn of set) conn.close(CloseCode.GoingAway);
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

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
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
