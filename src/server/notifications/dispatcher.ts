import { sql, type CompiledQuery, type Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../store/schema.js";
import type { Bus } from "../bus/bus.js";
import { inTimeline, type Message } from "@shared/protocol/entities.js";
import type { Notification, NotificationEvent, NotificationReason, NotifyLevel } from "@shared/protocol/notifications.js";
import { nowIso } from "../store/ids.js";
import { decide, type MemberFacts, type MessageFacts } from "./decide.js";
import type { DecidedNotification, NotificationSink } from "./sinks.js";
import type { SyncSession } from "../store/steps.js";

/** A preview ("alice: the text…") is at most this many characters. */
export const PREVIEW_MAX_CHARS = 200;

/**
 * Messages one candidate query covers at most: each adds a room id and up to
 * MAX_MENTION_NAMES (50) mentioned ids as parameters, so a batch stays far
 * below SQLite's 32,766 parameters. A larger backlog runs as several batches.
 */
const BATCH_MESSAGES = 200;

/** Where the dispatcher's candidates come from, and who it tells. */
export interface DispatcherDeps {
  db: Kysely<Database>;
  bus: Bus;
  log: Logger;
  /** SQLite's synchronous session (store.sync), or null: the candidate query then runs through Kysely, awaited. */
  sync?: SyncSession | null;
  /** A socket of the user is open on some node now (PresenceService.isConnected). */
  connected: (userId: string) => boolean;
  /** Web Push (push/), email digests (email/): each is handed every decided batch. */
  sinks: readonly NotificationSink[];
  /** Messages waiting at most (--notification-queue-max); past it the newest are dropped and logged. */
  queueMax: number;
  /** Epoch ms (tests may pin it). */
  now?: () => number;
}

/** One row of the candidate query: a member of a batch's room who may be notified. */
interface CandidateRow {
  room_id: string;
  user_id: string;
  notify_level: NotifyLevel | null;
  muted_until: string | null;
  kind: "public" | "private" | "direct";
  name: string;
  room_level: NotifyLevel | null;
  direct_level: NotifyLevel | null;
  dnd_until: string | null;
}

/**
 * The server side of notifications (issue 19): after a message's commit,
 * who is told of it. Nothing here is ever awaited by a send, and no push
 * or mail is sent here (the sinks queue them).
 *
 * `enqueue` is called by MessageService.send once the message is committed
 * and published, and returns at once (a push onto an array). What the
 * writer's batch answered runs as one batch: on SQLite in a microtask of
 * the same turn, with the candidate query run synchronously (so the in-app
 * frames join the messages' own socket writes), on PostgreSQL in a later
 * turn. ONE query reads, for all the batch's rooms, the members who may
 * be notified (level `all` by the room or the account's default, direct
 * rooms, the mentioned, every member of a room with `@room`/`@here`; muted
 * rooms and do not disturb left out), with their room's name and kind and
 * account settings; `decide` (pure) then says why each is notified, or
 * not; presence says who is connected. Connected users get the in-app
 * `notification` frame, as one `users` envelope per message and reason
 * (framed once, to every node); the whole decided batch goes to the sinks
 * (Web Push takes the unconnected, email the direct messages and mentions).
 * One batch runs at a time; messages that arrive meanwhile form the next.
 *
 * Bounded: at most `queueMax` messages wait; past it new ones are dropped
 * with a log line (one per batch that dropped). A failed query is logged and
 * its batch dropped: notifications are best-effort, the message itself is
 * stored and delivered regardless.
 */
export class NotificationDispatcher {
  private queue: Message[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  private dropped = 0;
  private readonly now: () => number;
  private readonly sinks: NotificationSink[];
  /** Compiled candidate queries by shape, least recently used first. */
  private readonly shapes = new Map<string, CandidateShape>();

  constructor(private readonly deps: DispatcherDeps) {
    this.now = deps.now ?? Date.now;
    this.sinks = [...deps.sinks];
  }

  /** Hands every later batch to `sink` too (one made after the services: app.ts, a test's recorder). */
  addSink(sink: NotificationSink): void {
    this.sinks.push(sink);
  }

  /**
   * A committed message whose readers may be notified; returns at once.
   * Call it only for a message just created (not for a retried clientId).
   */
  enqueue(message: Message): void {
    if (this.queue.length >= this.deps.queueMax) {
      this.dropped++;
      return;
    }
    this.queue.push(message);
    if (!this.scheduled && this.running === null) {
      this.scheduled = true;
      this.schedule();
    }
  }

  /**
   * On SQLite, the batch runs in a microtask: after every sender of the
   * writer's batch has been answered (their continuations were queued
   * first), and still in the turn that published the messages, so the
   * in-app frame reaches a socket in the same write as the message itself
   * (the gateway flushes at the end of the turn). Deciding in a later turn
   * cost dm a socket write per message and an async query: +20 % CPU per
   * message at 1,000/s. PostgreSQL's query is async anyway: a later turn.
   */
  private schedule(): void {
    if (this.deps.sync) queueMicrotask(() => this.runNext());
    else setImmediate(() => this.runNext());
  }

  /** Resolves once every message queued so far has been dispatched (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.running !== null || this.queue.length > 0 || this.scheduled) {
      if (this.running === null && !this.scheduled) this.runNext();
      await (this.running ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  private runNext(): void {
    this.scheduled = false;
    if (this.running !== null || this.queue.length === 0) return;
    if (this.dropped > 0) {
      this.deps.log.warn({ dropped: this.dropped, queueMax: this.deps.queueMax }, "notifications dropped: too many messages waiting to be dispatched");
      this.dropped = 0;
    }
    const batch = this.queue.length <= BATCH_MESSAGES ? this.queue : this.queue.slice(0, BATCH_MESSAGES);
    this.queue = batch === this.queue ? [] : this.queue.slice(BATCH_MESSAGES);
    const sync = this.deps.sync;
    // A Kysely transaction awaiting between its statements holds the connection: the query waits its turn, async.
    if (sync && !sync.inTransaction()) {
      try {
        this.deliver(batch, sync.run(this.candidateQuery(batch)) as CandidateRow[]);
      } catch (err) {
        this.deps.log.warn({ err, messages: batch.length }, "notification dispatch failed; this batch notifies nobody");
      }
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.runNext());
      }
      return;
    }
    this.running = this.dispatch(batch)
      .catch((err: unknown) => this.deps.log.warn({ err, messages: batch.length }, "notification dispatch failed; this batch notifies nobody"))
      .finally(() => {
        this.running = null;
        if (this.queue.length > 0 && !this.scheduled) {
          this.scheduled = true;
          setImmediate(() => this.runNext());
        }
      });
  }

  private async dispatch(batch: readonly Message[]): Promise<void> {
    this.deliver(batch, (await this.deps.db.executeQuery<CandidateRow>(this.candidateQuery(batch))).rows);
  }

  /** Decides, frames and hands on a batch given its candidate rows; synchronous. */
  private deliver(batch: readonly Message[], rows: readonly CandidateRow[]): void {
    if (rows.length === 0) return;
    const byRoom = new Map<string, CandidateRow[]>();
    for (const r of rows) {
      const list = byRoom.get(r.room_id);
      if (list) list.push(r);
      else byRoom.set(r.room_id, [r]);
    }
    const nowMs = this.now();
    const decided: DecidedNotification[] = [];
    // Per reason: the notification (built once, shared by its recipients) and the connected users to frame it to.
    const byReason = new Map<NotificationReason, { notification: Notification; connectedIds: string[] }>();
    // One object for every row, refilled: a room of thousands at level `all` allocates no fact per member.
    const member: MemberFacts = { userId: "", notifyLevel: null, mutedUntil: null, roomLevel: null, directLevel: null, dndUntil: null, connected: false };
    for (const message of batch) {
      const members = byRoom.get(message.roomId);
      if (!members) continue;
      const kind = members[0]!.kind;
      const facts: MessageFacts = { authorId: message.author.id, roomKind: kind, mentions: message.mentions, threadOnly: !inTimeline(message) };
      // Presence is asked before deciding only when `@here` depends on it; else only of those notified.
      const hereMatters = message.mentions?.here === true;
      byReason.clear();
      for (const m of members) {
        member.userId = m.user_id;
        member.notifyLevel = m.notify_level;
        member.mutedUntil = m.muted_until;
        member.roomLevel = m.room_level;
        member.directLevel = m.direct_level;
        member.dndUntil = m.dnd_until;
        member.connected = hereMatters && this.deps.connected(m.user_id);
        const reason = decide(facts, member, nowMs);
        if (reason === null) continue;
        const connected = hereMatters ? member.connected : this.deps.connected(m.user_id);
        let group = byReason.get(reason);
        if (!group) byReason.set(reason, (group = { notification: notificationOf(message, reason, kind, m.name), connectedIds: [] }));
        if (connected) group.connectedIds.push(m.user_id);
        decided.push({ userId: m.user_id, notification: group.notification, authorName: message.author.displayName, roomKind: kind, connected });
      }
      for (const { notification, connectedIds } of byReason.values()) {
        if (connectedIds.length === 0) continue;
        const event: NotificationEvent = { type: "notification", notification };
        this.deps.bus.publish({ kind: "users", userIds: connectedIds, frame: JSON.stringify(event) });
      }
    }
    if (decided.length === 0) return;
    for (const sink of this.sinks) {
      try {
        sink.accept(decided);
      } catch (err) {
        // A sink must not throw (sinks.ts); one that does costs only its own share.
        this.deps.log.error({ err }, "a notification sink threw");
      }
    }
  }

  /**
   * ONE query for the whole batch: the members of its rooms who may be
   * notified of some message in it, a superset of those `decide` keeps
   * (it still applies the author, `@here`'s presence and the reason).
   * Left out in SQL: muted rooms, do not disturb, level `nothing`, and in
   * rooms (not direct) members at `mentions` who are not mentioned and
   * whose room has no `@room`/`@here` in the batch: so a busy room at the
   * default level reads no row at all. Times compare as text: every stored
   * end is canonical ISO (preferences.ts), as is now.
   *
   * Kysely builds and compiles the query once per shape (how many rooms,
   * broadcast rooms and mentioned users it names; at most SHAPES_CACHED
   * kept), then only its parameters change: building it each time cost
   * about as much as running it.
   */
  private candidateQuery(batch: readonly Message[]): CompiledQuery<CandidateRow> {
    const roomSet = new Set<string>();
    const broadcastSet = new Set<string>();
    const mentionedSet = new Set<string>();
    for (const m of batch) {
      roomSet.add(m.roomId);
      const mentions = m.mentions;
      if (!mentions) continue;
      if (mentions.room || mentions.here) broadcastSet.add(m.roomId);
      for (const id of mentions.userIds) mentionedSet.add(id);
    }
    const rooms = [...roomSet];
    const broadcast = [...broadcastSet];
    const mentioned = [...mentionedSet];
    const key = `${rooms.length}/${broadcast.length}/${mentioned.length}`;
    let shape = this.shapes.get(key);
    if (shape) {
      // Least recently used last out: a hit moves to the end.
      this.shapes.delete(key);
    } else {
      const slot = (list: readonly string[], prefix: string) => list.map((_, i) => `${SLOT}${prefix}${i}`);
      const compiled = candidateQuery(this.deps.db, slot(rooms, "r"), `${SLOT}now`, slot(broadcast, "b"), slot(mentioned, "m")).compile();
      shape = { compiled, slots: compiled.parameters.map((p) => (typeof p === "string" && p.startsWith(SLOT) ? p.slice(SLOT.length) : { value: p })) };
      if (this.shapes.size >= SHAPES_CACHED) this.shapes.delete(this.shapes.keys().next().value as string);
    }
    this.shapes.set(key, shape);
    const now = nowIso();
    const parameters = shape.slots.map((s) => {
      if (typeof s !== "string") return s.value;
      if (s === "now") return now;
      const list = s[0] === "r" ? rooms : s[0] === "b" ? broadcast : mentioned;
      return list[Number(s.slice(1))];
    });
    return { ...shape.compiled, parameters };
  }
}

/** Marks a parameter while a candidate query's shape is compiled; never reaches the database. */
const SLOT = "\u0000notify-slot:";

/** Compiled candidate queries kept, by shape (a batch of 1 to 200 messages has few shapes in practice). */
const SHAPES_CACHED = 128;

/** One compiled shape of the candidate query: its SQL, and per parameter a slot name ("r0", "now", "b1", "m2") or a fixed value. */
interface CandidateShape {
  compiled: CompiledQuery<CandidateRow>;
  slots: (string | { value: unknown })[];
}

/** The candidate query (NotificationDispatcher.candidates) for these rooms, broadcast rooms and mentioned users at `now`. */
function candidateQuery(db: Kysely<Database>, rooms: readonly string[], now: string, broadcast: readonly string[], mentioned: readonly string[]) {
  return db
    .selectFrom("room_members as m")
    .innerJoin("rooms as r", "r.id", "m.room_id")
    .leftJoin("notification_settings as s", "s.user_id", "m.user_id")
    .select(["m.room_id", "m.user_id", "m.notify_level", "m.muted_until", "r.kind", "r.name", "s.room_level", "s.direct_level", "s.dnd_until"])
    .where("m.room_id", "in", rooms)
    .where((eb) => eb.or([eb("m.muted_until", "is", null), eb("m.muted_until", "<=", now)]))
    .where((eb) => eb.or([eb("s.dnd_until", "is", null), eb("s.dnd_until", "<=", now)]))
    .where((eb) => eb.or([eb("m.notify_level", "is", null), eb("m.notify_level", "!=", sql.lit("nothing"))]))
    .where((eb) => {
      const may = [
        eb("r.kind", "=", sql.lit("direct")),
        eb("m.notify_level", "=", sql.lit("all")),
        eb.and([eb("m.notify_level", "is", null), eb("s.room_level", "=", sql.lit("all"))]),
      ];
      if (broadcast.length > 0) may.push(eb("m.room_id", "in", broadcast));
      if (mentioned.length > 0) may.push(eb("m.user_id", "in", mentioned));
      return eb.or(may);
    });
}

/**
 * What a notification of `message` says, for every recipient with
 * `reason`: the conversation as title ("#general", or in a direct room the
 * author, the other person), "alice: the text" cut to PREVIEW_MAX_CHARS (a
 * message of files only: "alice sent a file"), one tag per conversation
 * (a newer notification replaces the older), and the app URL that opens
 * the message (`/#/rooms/<roomId>/<seq>`).
 */
export function notificationOf(message: Message, reason: NotificationReason, roomKind: "public" | "private" | "direct", roomName: string): Notification {
  const author = message.author.displayName;
  return {
    roomId: message.roomId,
    messageId: message.id,
    seq: message.seq,
    reason,
    title: roomKind === "direct" ? author : `#${roomName}`,
    body: previewOf(author, message.body, (message.attachments?.length ?? 0) > 0),
    tag: `room:${message.roomId}`,
    url: `/#/rooms/${encodeURIComponent(message.roomId)}/${message.seq}`,
    createdAt: message.createdAt,
  };
}

/** "alice: the text" on one line, at most PREVIEW_MAX_CHARS characters (cut with "…", never inside a surrogate pair). */
export function previewOf(author: string, body: string, hasFiles: boolean): string {
  const text = body.replace(/\s+/g, " ").trim();
  if (text === "") return hasFiles ? `${author} sent a file` : `${author}: …`;
  const full = `${author}: ${text}`;
  if (full.length <= PREVIEW_MAX_CHARS) return full;
  let cut = PREVIEW_MAX_CHARS - 1;
  const last = full.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${full.slice(0, cut)}…`;
}
