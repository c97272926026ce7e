import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { Logger } from "pino";
import type { Actor } from "../deps.js";
import { CloseCode } from "@shared/protocol/errors.js";
import { MAX_SEQ } from "@shared/protocol/limits.js";
import type { RoomEventReader, StoredRoomEvent } from "../events/log.js";
import { frameText, frameTexts } from "./wire.js";

/** Rows read per batch when a socket catches up on a room, at most. */
const CATCH_UP_BATCH = 500;
/** Rows per batch, at least: a socket with a small bound still makes progress. */
const CATCH_UP_MIN_BATCH = 16;
/**
 * What a stored event frame is assumed to weigh until a socket has read
 * some (bytes): about 4× a typical chat frame, so that a first batch of
 * 4,000-character messages still fits the socket's bound.
 */
const ASSUMED_FRAME_BYTES = 2048;
/** Events framed into one buffer during a catch-up, at most (~450 bytes each: ~45 KB). */
const CATCH_UP_CHUNK = 100;
/** Live events held during one room's catch-up, at most; a socket that far behind is closed and resumes later. */
const MAX_HELD_EVENTS = 10_000;
/**
 * A catch-up waits for the socket to drain whenever this much is unsent (or
 * a quarter of the socket's bound, if less): it paces itself instead of
 * tripping the slow-consumer bound.
 */
const CATCH_UP_HIGH_WATER_BYTES = 256 * 1024;
/** Write-queue slots a socket keeps between flushes; a longer queue is let go after its flush. */
const QUEUE_KEPT_SLOTS = 64;
/** What a cleared queue slot holds: no frame (kept typed as a Buffer so the array stays of one kind). */
const EMPTY = Buffer.alloc(0);
/** A closing socket whose close frame is not through by then is cut (1006). */
const CLOSE_GRACE_MS = 5_000;

/** One socket's position in one room's event stream. */
interface RoomStream {
  /** Highest seq sent on this socket. */
  sent: number;
  /**
   * The seq this socket's live stream began after: events after it were
   * (or will be) sent live; events up to it were not sent on this socket.
   */
  baseline: number;
  /**
   * The last seq this socket may receive: the member's own `member.left`
   * once they left or were removed (Infinity while a member), whether the
   * leave arrived live or a catch-up read it from the log. A catch-up still
   * running on the stream stops there (DESIGN.md invariant 2).
   */
  end: number;
  /** A catch-up from the event log is running or queued; live events wait in `held`. */
  catchUp: Promise<void> | null;
  held: { seq: number; wire: Buffer }[];
}

/** The gateway's index of sockets per room, kept in step with each socket's subscriptions. */
export interface RoomIndex {
  add(roomId: string, conn: Connection): void;
  remove(roomId: string, conn: Connection): void;
}

/** How a Connection is bounded and how it talks back to its gateway. */
export interface ConnectionOptions {
  /** What this socket may make the server hold (bytes): unsent frames, held live events and catch-up batches. */
  sendBufferBytes: number;
  /** Asks for `flush()` at the end of this event-loop turn. */
  scheduleFlush: (conn: Connection) => void;
  index: RoomIndex;
  /** Told when a flush leaves bytes the kernel did not take: the gateway's stall check watches the socket from then on. */
  onBacklog: (conn: Connection) => void;
  /**
   * Told when a catch-up ended a room's stream at this member's own
   * `member.left`, a leave this node had not heard live (the bus between
   * nodes was down): the socket no longer follows the room.
   */
  onLeftInLog?: (roomId: string, conn: Connection) => void;
}

/** A room named in a `resume`: where its stream stands, read when the ack is built. */
export interface ResumedRoom {
  /** The last seq sent on this socket (every seq up to it was sent); once the member left, their `member.left`'s seq. */
  readonly sent: number;
}

/** What the gateway's stall check found: nothing pending, bytes moving, or none taken for the deadline. */
export type StallState = "idle" | "moving" | "stalled";

/**
 * One client's WebSocket: its identity, its rooms and where it is in each
 * room's seq stream, and its outbound queue.
 *
 * Delivery per room is exactly once and in seq order on the socket: a live
 * event already sent is dropped, one that skips seqs makes the socket catch
 * up from the event log first (a subscription race, or a node that published
 * late), and live events that arrive during a catch-up wait and are sent
 * after it. A socket runs one catch-up at a time, so what it holds for them
 * is one batch, not one per room.
 *
 * Output is framed bytes written straight to the TCP socket: a broadcast's
 * frame is built once and shared by every recipient, and all frames bound
 * for one socket within an event-loop turn go out in one corked write (one
 * syscall) when the gateway flushes. Past `sendBufferBytes` of what the
 * socket makes the server hold (unsent frames, held live events, the catch-up
 * batch in hand) it is closed with 4408 (DESIGN.md invariant 7); it resumes by seq.
 */
export class Connection {
  readonly rooms = new Map<string, RoomStream>();
  private closing = false;
  /**
   * Frames to write at the next flush: the first `queued` slots. The array
   * is kept and its slots cleared, not replaced: a socket flushes a few
   * times a second, so a fresh array per flush lived just long enough to
   * be promoted out of V8's young generation, and old-generation growth is
   * what brings the long mark-compact pauses (the dm benchmark's p99).
   */
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private queuedBytes = 0;
  /** Bytes of live events held in every room's `held` while catch-ups run. */
  private heldBytes = 0;
  /** Bytes of stored frames read by the running catch-up and not yet queued. */
  private batchBytes = 0;
  /** Until `start`, output waits in the queue: `ready` must be the first frame. */
  private started = false;
  /** A pong arrived since the last heartbeat's ping. */
  private alive = true;
  /** The catch-up that runs last: the next one starts after it. */
  private catchUpTail: Promise<void> = Promise.resolve();
  /** Average stored frame size seen by catch-ups (bytes); sizes the next batch. */
  private frameBytes = ASSUMED_FRAME_BYTES;
  /** Stall check: bytes the kernel had taken at the last check that saw them move, and when (ms). */
  private progressMark = 0;
  private progressAt = -1;
  /** Rooms unsubscribed so far: a resume re-checks membership when one was left while it checked. */
  leaves = 0;

  constructor(
    readonly id: string,
    readonly actor: Actor,
    private readonly ws: WebSocket,
    /** The upgraded TCP socket under `ws`: frames are written to it directly. */
    private readonly socket: Socket,
    /** The room event log, as far as it is durable (RoomWriter.readableSeq). */
    private readonly readEvents: RoomEventReader,
    private readonly log: Logger,
    private readonly opts: ConnectionOptions,
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
    this.queue.splice(0, 0, ready);
    this.queued++;
    this.queuedBytes += ready.length;
    this.opts.scheduleFlush(this);
  }

  get userId(): string {
    return this.actor.userId;
  }

  /** False once closing: from then on nothing the socket sends takes effect and nothing more is sent to it. */
  get isOpen(): boolean {
    return !this.closing && this.ws.readyState === this.ws.OPEN;
  }

  /** What the server holds for this socket (bytes): our queue, the socket's buffer, held live events, the catch-up batch. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.socket.writableLength + this.heldBytes + this.batchBytes;
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
    // Only what earlier turns could not hand to the kernel counts, plus what
    // catch-ups hold: this turn's queue is bounded by the turn's own work and goes out at its end.
    if (!paced && this.socket.writableLength + this.heldBytes + this.batchBytes > this.opts.sendBufferBytes) {
      this.slowConsumer();
      return;
    }
    if (this.queued === 0 && this.started) this.opts.scheduleFlush(this);
    this.queue[this.queued++] = wire;
    this.queuedBytes += wire.length;
  }

  /** Writes the queued frames in one corked batch. */
  flush(): void {
    if (this.queued === 0 || !this.started) return;
    const queue = this.queue;
    const count = this.queued;
    this.queued = 0;
    this.queuedBytes = 0;
    // Not to a socket already ended (the peer or we closed it this turn): Node would build, with its
    // stack, and emit an ERR_STREAM_WRITE_AFTER_END per write, on the event loop, under churn.
    if (!this.socket.destroyed && !this.socket.writableEnded) {
      if (count === 1) {
        // The usual case under fan-out (one event per socket per turn): corking one buffer only adds work.
        this.socket.write(queue[0]!);
      } else {
        this.socket.cork();
        for (let i = 0; i < count; i++) this.socket.write(queue[i]!);
        this.socket.uncork();
      }
    }
    // The slots let go of their frames (shared with other sockets) but the array stays,
    // unless one busy turn (a catch-up, a burst) grew it past what a socket usually needs.
    if (queue.length > QUEUE_KEPT_SLOTS) queue.length = 0;
    else queue.fill(EMPTY, 0, count);
    if (!this.socket.destroyed && this.socket.writableLength > 0) this.opts.onBacklog(this);
  }

  /**
   * The stall check, run by the gateway's coarse timer on backlogged sockets
   * (`now` and `timeoutMs` in ms): "stalled" when bytes wait in the socket
   * and the peer took none of them for `timeoutMs`. Progress is bytes the
   * kernel accepted (bytesWritten − writableLength), so a client that pongs
   * but reads nothing makes none.
   */
  stall(now: number, timeoutMs: number): StallState {
    const pending = this.socket.writableLength;
    if (pending === 0 || this.socket.destroyed) {
      this.progressAt = -1;
      return "idle";
    }
    const taken = this.socket.bytesWritten - pending;
    if (this.progressAt < 0 || taken > this.progressMark) {
      this.progressMark = taken;
      this.progressAt = now;
      return "moving";
    }
    return now - this.progressAt >= timeoutMs ? "stalled" : "moving";
  }

  /** Flushes, then resolves when the socket has drained below its high-water mark, or closed, or failed. */
  private async drained(): Promise<void> {
    this.flush();
    const socket = this.socket;
    // A closing socket has nothing more coming: no reason to wait for it.
    if (!this.isOpen || !socket.writableNeedDrain || socket.destroyed) return;
    // Not events.once: it rejects on "error", and a peer that goes away is no failure of the catch-up.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off("drain", done);
        socket.off("close", done);
        socket.off("error", done);
        resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
      socket.on("error", done);
    });
  }

  /**
   * Closes with a code, after what is queued. The close frame waits behind
   * unsent data, so a socket that does not drain within 5 s is cut (1006);
   * `cut` does it at once (a socket that reads nothing would never take the
   * close frame). What the socket held is released.
   */
  close(close: { code: number; reason: string }, opts: { cut?: boolean } = {}): void {
    if (this.closing) {
      if (opts.cut) this.ws.terminate();
      return;
    }
    if (!opts.cut) this.flush();
    this.closing = true;
    this.queue.length = 0;
    this.queued = 0;
    this.queuedBytes = 0;
    // Held live events go when their catch-up ends, at its next step (deliver holds no more from now on).
    this.ws.close(close.code, close.reason);
    if (opts.cut) this.ws.terminate();
    else setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private slowConsumer(): void {
    // Any client can make this happen at will: not worth more than debug.
    this.log.debug({ conn: this.id, buffered: this.bufferedBytes }, "slow consumer: closing");
    this.close(CloseCode.SlowConsumer);
  }

  /** Starts receiving a room's events after `seq` (the head when subscribed, or a join's seq − 1). */
  subscribe(roomId: string, seq: number): void {
    if (this.rooms.has(roomId)) return;
    this.rooms.set(roomId, { sent: seq, baseline: seq, end: Infinity, catchUp: null, held: [] });
    this.opts.index.add(roomId, this);
  }

  /**
   * Stops receiving a room after `lastSeq` (the member's own `member.left`):
   * nothing later reaches this socket by any path. A catch-up running on the
   * room finishes at `lastSeq`; live events held past it are dropped.
   */
  unsubscribe(roomId: string, lastSeq: number): void {
    // Counted even for a room this socket had no stream for: a resume may be about to subscribe it.
    this.leaves++;
    const stream = this.rooms.get(roomId);
    if (!stream) return;
    this.rooms.delete(roomId);
    this.opts.index.remove(roomId, this);
    stream.end = lastSeq;
    this.dropHeldAfter(stream, lastSeq);
  }

  private dropHeldAfter(stream: RoomStream, seq: number): void {
    if (stream.held.length === 0) return;
    const keep: RoomStream["held"] = [];
    for (const h of stream.held) {
      if (h.seq <= seq) keep.push(h);
      else this.heldBytes -= h.wire.length;
    }
    stream.held = keep;
  }

  /** A live room event from the bus, already framed. */
  deliver(roomId: string, seq: number, wire: Buffer): void {
    const stream = this.rooms.get(roomId);
    if (!stream) return;
    if (stream.catchUp) {
      if (!this.isOpen) return;
      stream.held.push({ seq, wire });
      this.heldBytes += wire.length;
      if (stream.held.length > MAX_HELD_EVENTS || this.bufferedBytes > this.opts.sendBufferBytes) this.slowConsumer();
    } else if (seq === stream.sent + 1) {
      stream.sent = seq;
      this.enqueue(wire);
    } else if (seq > stream.sent + 1) {
      if (!this.isOpen) return;
      stream.held.push({ seq, wire });
      this.heldBytes += wire.length;
      this.startCatchUp(roomId, stream, null);
    }
    // seq <= sent: already delivered on this socket.
  }

  /**
   * Sends what this socket missed of a room up to `head` (the room's last
   * seq), from the event log: for events whose live fan-out was lost (the
   * bus between nodes was down). Nothing when already there or catching up.
   */
  catchUpTo(roomId: string, head: number): void {
    const stream = this.rooms.get(roomId);
    if (!stream || stream.catchUp || head <= stream.sent || !this.isOpen) return;
    this.startCatchUp(roomId, stream, null);
  }

  /**
   * Resume: the client has a room's events up to `lastSeq`. Sends every
   * later event not yet sent on this socket, in seq order, reading the log in
   * batches that wait for the socket to drain. Resolves with the room's
   * stream, whose `sent` keeps moving as live events go out: read it when
   * the ack is built, so that the ack never reports less than the socket
   * sent (a later room's catch-up may take long). For a room left
   * meanwhile it stays at the member's `member.left`.
   */
  async resume(roomId: string, lastSeq: number): Promise<ResumedRoom> {
    const stream = this.rooms.get(roomId);
    if (!stream) return { sent: lastSeq };
    while (stream.catchUp) await stream.catchUp;
    // Left (or closed) while the earlier catch-up ran: nothing more for this room.
    if (this.rooms.get(roomId) !== stream || !this.isOpen) return stream;
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
    return stream;
  }

  /** True for this member's own `member.left` (only those rows are parsed: leaves are rare). */
  private isOwnLeave(row: StoredRoomEvent): boolean {
    if (row.type !== "member.left") return false;
    return (JSON.parse(row.frame) as { userId?: unknown }).userId === this.userId;
  }

  /**
   * A catch-up sent this member's own `member.left` (`seq`): the room's
   * stream ends there, on this socket, as a live leave ends it
   * (`unsubscribe`), and the gateway is told.
   */
  private endAtOwnLeave(roomId: string, stream: RoomStream, seq: number): void {
    if (this.rooms.get(roomId) === stream) {
      this.unsubscribe(roomId, seq);
      this.opts.onLeftInLog?.(roomId, this);
    } else {
      // Already unsubscribed (a live leave, later than this one: the member rejoined and left again).
      stream.end = Math.min(stream.end, seq);
      this.dropHeldAfter(stream, seq);
    }
  }

  private startCatchUp(roomId: string, stream: RoomStream, before: { after: number; upTo: number } | null): void {
    if (stream.catchUp) return;
    // One catch-up at a time per socket: a client that resumes many rooms at
    // once (or has gaps in many) makes the server hold one batch, not one per room.
    const run = this.catchUpTail
      .then(() => this.catchUp(roomId, stream, before))
      .catch((err: unknown) => {
        // A failure after the socket went away (peer gone, shutdown) is expected; only a live socket's is a bug.
        if (this.isOpen) this.log.error({ err, conn: this.id, roomId }, "catch-up failed; closing so the client resumes");
        else this.log.debug({ err, conn: this.id, roomId }, "catch-up ended with its socket");
        this.close(CloseCode.GoingAway);
      })
      .finally(() => {
        stream.catchUp = null;
      });
    stream.catchUp = run;
    this.catchUpTail = run;
  }

  private async catchUp(roomId: string, stream: RoomStream, before: { after: number; upTo: number } | null): Promise<void> {
    if (before) await this.stream(roomId, stream, before.after, before.upTo, false);
    // Bounded: each pass either empties `held` or reads newly committed events.
    for (let pass = 0; pass < 100 && this.isOpen; pass++) {
      await this.stream(roomId, stream, stream.sent, MAX_SEQ, true);
      const held = stream.held.sort((a, b) => a.seq - b.seq);
      stream.held = [];
      let gap = false;
      for (const h of held) {
        this.heldBytes -= h.wire.length;
        if (h.seq <= stream.sent || h.seq > stream.end) continue;
        if (h.seq === stream.sent + 1 && !gap) {
          stream.sent = h.seq;
          this.enqueue(h.wire);
        } else {
          gap = true;
          stream.held.push(h);
          this.heldBytes += h.wire.length;
        }
      }
      if (!gap || stream.sent >= stream.end || !this.isOpen) break;
    }
    if (!this.isOpen || stream.sent >= stream.end) {
      for (const h of stream.held) this.heldBytes -= h.wire.length;
      stream.held = [];
    }
  }

  /**
   * Sends the log's frames in (after, min(upTo, stream.end)], batch by batch,
   * pacing on the socket's drain; `advance` moves the stream's `sent` along.
   * The end is read again after every wait: a member who leaves mid-stream
   * gets nothing past their `member.left`.
   *
   * With `advance` (the stream's own catch-up, past what it sent), the
   * member's own `member.left` met in the log ends the stream there, as if
   * it had arrived live: the leave may have been made on a node this one
   * did not hear (the bus between nodes down), and the log, not the bus, is
   * what proves it. Without `advance` (a resume's replay of what came before
   * this socket's stream began, up to its baseline) an own `member.left` is
   * an old one: the stream began after it, on a membership checked since
   * (a rejoin), so the replay goes on past it.
   */
  private async stream(roomId: string, stream: RoomStream, after: number, upTo: number, advance: boolean): Promise<void> {
    const bound = this.opts.sendBufferBytes;
    const highWater = Math.min(CATCH_UP_HIGH_WATER_BYTES, Math.floor(bound / 4));
    const chunkBudget = Math.max(1, Math.floor(highWater / 2));
    let cursor = after;
    while (this.isOpen) {
      const limit = Math.min(upTo, stream.end);
      if (cursor >= limit) return;
      const rowsWanted = Math.max(CATCH_UP_MIN_BATCH, Math.min(CATCH_UP_BATCH, Math.floor(bound / 4 / this.frameBytes)));
      const rows = await this.readEvents(roomId, cursor, limit, rowsWanted);
      if (rows.length === 0) return;
      let pending = 0;
      for (const r of rows) pending += r.frame.length;
      this.frameBytes = Math.max(64, Math.ceil(pending / rows.length));
      this.batchBytes += pending;
      try {
        let i = 0;
        while (i < rows.length && this.isOpen) {
          const stop = Math.min(upTo, stream.end);
          const texts: string[] = [];
          let chunkBytes = 0;
          let ownLeave = false;
          // Framed a chunk at a time into one buffer each, not event by event.
          while (i < rows.length && rows[i]!.seq <= stop && texts.length < CATCH_UP_CHUNK && (texts.length === 0 || chunkBytes < chunkBudget)) {
            const row = rows[i]!;
            texts.push(row.frame);
            chunkBytes += row.frame.length;
            i++;
            if (advance && this.isOwnLeave(row)) {
              ownLeave = true;
              break;
            }
          }
          if (texts.length === 0) return;
          pending -= chunkBytes;
          this.batchBytes -= chunkBytes;
          this.enqueue(frameTexts(texts), true);
          if (advance) stream.sent = rows[i - 1]!.seq;
          if (ownLeave) {
            this.endAtOwnLeave(roomId, stream, rows[i - 1]!.seq);
            return;
          }
          if (this.bufferedBytes > highWater) await this.drained();
        }
      } finally {
        this.batchBytes -= pending;
      }
      if (!this.isOpen) return;
      cursor = rows[rows.length - 1]!.seq;
      await this.drained();
      if (rows.length < rowsWanted) return;
      // A local peer's socket rarely needs a drain, and SQLite's reads resolve in microtasks: without this, a
      // long catch-up (an old cursor's resume) ran batch after batch in one macrotask, holding the loop
      // (the issue 16 soak's loop max grew with the log). One batch per turn lets sends and acks through.
      await yieldToLoop();
    }
  }
}
