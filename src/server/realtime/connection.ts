import type { Socket } from "node:net";
import { once } from "node:events";
import type { WebSocket } from "ws";
import type { Logger } from "pino";
import type { Actor } from "../deps.js";
import { CloseCode } from "@shared/protocol/errors.js";
import type { RoomEventReader } from "../events/log.js";
import { frameText, frameTexts } from "./wire.js";

/** Rows read per batch when a socket catches up on a room. */
const CATCH_UP_BATCH = 500;
/** Events framed into one buffer during a catch-up (~450 bytes each: ~45 KB). */
const CATCH_UP_CHUNK = 100;
/** Live events held during one room's catch-up, at most; a socket that far behind is closed and resumes later. */
const MAX_HELD_EVENTS = 10_000;
/** A catch-up waits for the socket to drain whenever this much is unsent: it paces itself instead of tripping the slow-consumer bound. */
const CATCH_UP_HIGH_WATER_BYTES = 256 * 1024;

/** One socket's position in one room's event stream. */
interface RoomStream {
  /** Highest seq sent on this socket. */
  sent: number;
  /**
   * The seq this socket's live stream began after: events after it were
   * (or will be) sent live; events up to it were not sent on this socket.
   */
  baseline: number;
  /** A catch-up from the event log is running; live events wait in `held`. */
  catchUp: Promise<void> | null;
  held: { seq: number; wire: Buffer }[];
}

/**
 * One client's WebSocket: its identity, its rooms and where it is in each
 * room's seq stream, and its outbound queue.
 *
 * Delivery per room is exactly once and in seq order on the socket: a live
 * event already sent is dropped, one that skips seqs makes the socket catch
 * up from the event log first (a subscription race, or a node that published
 * late), and live events that arrive during a catch-up wait and are sent
 * after it.
 *
 * Output is framed bytes written straight to the TCP socket: a broadcast's
 * frame is built once and shared by every recipient, and all frames bound
 * for one socket within an event-loop turn go out in one corked write (one
 * syscall) when the gateway flushes. Past `sendBufferBytes` of unsent data
 * the socket is closed with 4408 (DESIGN.md invariant 7); it resumes by seq.
 */
/** The gateway's index of sockets per room, kept in step with each socket's subscriptions. */
export interface RoomIndex {
  add(roomId: string, conn: Connection): void;
  remove(roomId: string, conn: Connection): void;
}

export class Connection {
  readonly rooms = new Map<string, RoomStream>();
  private closing = false;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Until `start`, output waits in the queue: `ready` must be the first frame. */
  private started = false;
  /** A pong arrived since the last heartbeat's ping. */
  private alive = true;

  constructor(
    readonly id: string,
    readonly actor: Actor,
    private readonly ws: WebSocket,
    /** The upgraded TCP socket under `ws`: frames are written to it directly. */
    private readonly socket: Socket,
    /** The room event log, as far as it is durable (RoomWriter.readableSeq). */
    private readonly readEvents: RoomEventReader,
    private readonly log: Logger,
    private readonly sendBufferBytes: number,
    /** Asks for `flush()` at the end of this event-loop turn. */
    private readonly scheduleFlush: (conn: Connection) => void,
    private readonly index: RoomIndex,
  ) {
    ws.on("pong", () => (this.alive = true));
  }

  /** Pings; a socket that did not answer the previous ping is dead and is cut (RFC 6455 §5.5.2). */
  heartbeat(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Sends `ready` ahead of anything queued while the socket was starting, and opens the output. */
  start(readyFrame: string): void {
    this.started = true;
    const ready = frameText(readyFrame);
    this.queue.unshift(ready);
    this.queuedBytes += ready.length;
    this.scheduleFlush(this);
  }

  get userId(): string {
    return this.actor.userId;
  }

  get isOpen(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  /** Bytes not yet handed to the kernel: our queue plus the socket's buffer. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /** Sends one frame given as JSON text (acks, errors, ready). */
  send(frame: string): void {
    this.enqueue(frameText(frame));
  }

  /**
   * Queues framed bytes (possibly shared with other sockets: never modified).
   * `paced` is for catch-ups, which wait for drains themselves.
   */
  enqueue(wire: Buffer, paced = false): void {
    if (!this.isOpen) return;
    // Only what earlier turns could not hand to the kernel counts: this turn's
    // queue is bounded by the turn's own work and goes out at its end.
    if (!paced && this.socket.writableLength > this.sendBufferBytes) {
      this.log.warn({ conn: this.id, buffered: this.bufferedBytes }, "slow consumer: closing");
      this.close(CloseCode.SlowConsumer);
      return;
    }
    if (this.queue.length === 0 && this.started) this.scheduleFlush(this);
    this.queue.push(wire);
    this.queuedBytes += wire.length;
  }

  /** Writes the queued frames in one corked batch. */
  flush(): void {
    if (this.queue.length === 0 || !this.started) return;
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.socket.destroyed) return;
    this.socket.cork();
    for (const wire of queue) this.socket.write(wire);
    this.socket.uncork();
  }

  /** Flushes, then resolves when the socket's buffer has drained below its high-water mark. */
  private async drained(): Promise<void> {
    this.flush();
    if (this.socket.writableNeedDrain && !this.socket.destroyed) {
      await Promise.race([once(this.socket, "drain"), once(this.socket, "close")]);
    }
  }

  /**
   * Closes with a code, after what is queued. The close frame waits behind
   * unsent data, so a socket that does not drain within 5 s is cut (1006).
   */
  close(close: { code: number; reason: string }): void {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    this.ws.close(close.code, close.reason);
    setTimeout(() => this.ws.terminate(), 5_000).unref();
  }

  /** Starts receiving a room's events after `seq` (the head when subscribed, or a join's seq − 1). */
  subscribe(roomId: string, seq: number): void {
    if (this.rooms.has(roomId)) return;
    this.rooms.set(roomId, { sent: seq, baseline: seq, catchUp: null, held: [] });
    this.index.add(roomId, this);
  }

  unsubscribe(roomId: string): void {
    if (this.rooms.delete(roomId)) this.index.remove(roomId, this);
  }

  /** A live room event from the bus, already framed. */
  deliver(roomId: string, seq: number, wire: Buffer): void {
    const stream = this.rooms.get(roomId);
    if (!stream) return;
    if (stream.catchUp) {
      if (stream.held.length >= MAX_HELD_EVENTS) {
        this.close(CloseCode.SlowConsumer);
        return;
      }
      stream.held.push({ seq, wire });
    } else if (seq === stream.sent + 1) {
      stream.sent = seq;
      this.enqueue(wire);
    } else if (seq > stream.sent + 1) {
      stream.held.push({ seq, wire });
      this.startCatchUp(roomId, stream, null);
    }
    // seq <= sent: already delivered on this socket.
  }
  /**
   * Resume: the client has a room's events up to `lastSeq`. Sends every
   * later event not yet sent on this socket, in seq order, reading the log in
   * batches that wait for the socket to drain. Resolves with the last seq sent.
   */
  async resume(roomId: string, lastSeq: number): Promise<number> {
    const stream = this.rooms.get(roomId);
    if (!stream) return lastSeq;
    while (stream.catchUp) await stream.catchUp;
    if (lastSeq >= stream.sent) {
      // The client has more than this socket sent (e.g. from HTTP history).
      stream.sent = lastSeq;
      stream.baseline = Math.max(stream.baseline, lastSeq);
      this.startCatchUp(roomId, stream, null);
    } else if (lastSeq < stream.baseline) {
      // Events before this socket's live stream began: (lastSeq, baseline].
      this.startCatchUp(roomId, stream, { after: lastSeq, upTo: stream.baseline });
      stream.baseline = lastSeq;
    } else {
      this.startCatchUp(roomId, stream, null);
    }
    while (stream.catchUp) await stream.catchUp;
    return stream.sent;
  }

  private startCatchUp(roomId: string, stream: RoomStream, before: { after: number; upTo: number } | null): void {
    if (stream.catchUp) return;
    stream.catchUp = this.catchUp(roomId, stream, before)
      .catch((err: unknown) => {
        this.log.error({ err, conn: this.id, roomId }, "catch-up failed; closing so the client resumes");
        this.close(CloseCode.GoingAway);
      })
      .finally(() => {
        stream.catchUp = null;
      });
  }

  private async catchUp(roomId: string, stream: RoomStream, before: { after: number; upTo: number } | null): Promise<void> {
    if (before) await this.stream(roomId, before.after, before.upTo, () => undefined);
    // Bounded: each pass either empties `held` or reads newly committed events.
    for (let pass = 0; pass < 100 && this.isOpen; pass++) {
      await this.stream(roomId, stream.sent, Number.MAX_SAFE_INTEGER, (seq) => {
        stream.sent = seq;
      });
      const held = stream.held.sort((a, b) => a.seq - b.seq);
      stream.held = [];
      let gap = false;
      for (const h of held) {
        if (h.seq <= stream.sent) continue;
        if (h.seq === stream.sent + 1 && !gap) {
          stream.sent = h.seq;
          this.enqueue(h.wire);
        } else {
          gap = true;
          stream.held.push(h);
        }
      }
      if (!gap) return;
    }
  }

  /** Sends the log's frames in (after, upTo], batch by batch, waiting for each batch to drain. */
  private async stream(roomId: string, after: number, upTo: number, onSent: (seq: number) => void): Promise<void> {
    let cursor = after;
    while (this.isOpen) {
      const rows = await this.readEvents(roomId, cursor, upTo, CATCH_UP_BATCH);
      if (rows.length === 0) return;
      // Framed a chunk at a time into one buffer each, not event by event.
      for (let i = 0; i < rows.length; i += CATCH_UP_CHUNK) {
        const chunk = rows.slice(i, i + CATCH_UP_CHUNK);
        this.enqueue(frameTexts(chunk.map((r) => r.frame)), true);
        onSent(chunk[chunk.length - 1]!.seq);
        if (this.bufferedBytes > CATCH_UP_HIGH_WATER_BYTES) await this.drained();
      }
      cursor = rows[rows.length - 1]!.seq;
      await this.drained();
      if (rows.length < CATCH_UP_BATCH) return;
    }
  }
}
