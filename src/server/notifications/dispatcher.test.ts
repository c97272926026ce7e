import { describe, expect, it } from "vitest";
import pino from "pino";
import { openStore } from "@server/store/store.js";
import { nowIso } from "@server/store/ids.js";
import { MemoryBus } from "@server/bus/memory.js";
import type { BusEnvelope } from "@server/bus/bus.js";
import type { Message } from "@shared/protocol/entities.js";
import { NotificationDispatcher, PREVIEW_MAX_CHARS, notificationOf, previewOf } from "./dispatcher.js";
import type { DecidedNotification, NotificationSink } from "./sinks.js";

const message = (over: Partial<Message> & { id: string; roomId: string; seq: number }): Message => ({
  author: { id: "ann", username: "ann", displayName: "Ann" },
  body: "hello",
  clientId: null,
  createdAt: "2026-12-07T09:00:00.000Z",
  editedAt: null,
  deletedAt: null,
  replyTo: null,
  replyCount: 0,
  lastReplyAt: null,
  ...over,
});

describe("previewOf / notificationOf", () => {
  it("author: text on one line, cut to PREVIEW_MAX_CHARS with an ellipsis, never inside a surrogate pair", () => {
    expect(previewOf("Ann", "hi\n\nthere  you", false)).toBe("Ann: hi there you");
    const long = previewOf("Ann", "x".repeat(500), false);
    expect(long).toHaveLength(PREVIEW_MAX_CHARS);
    expect(long.endsWith("…")).toBe(true);
    // An emoji (two UTF-16 units) straddling the cut is dropped whole.
    const emoji = previewOf("Ann", `${"x".repeat(PREVIEW_MAX_CHARS - 7)}😀😀😀`, false);
    expect(emoji.length).toBeLessThanOrEqual(PREVIEW_MAX_CHARS);
    expect(emoji.slice(0, -1)).not.toMatch(/[\ud800-\udbff]$/);
  });

  it("a message of files only says so; title, tag and url name the conversation and the message", () => {
    expect(previewOf("Ann", "", true)).toBe("Ann sent a file");
    const n = notificationOf(message({ id: "m1", roomId: "room/1", seq: 7 }), "mention", "public", "general");
    expect(n).toEqual({ roomId: "room/1", messageId: "m1", seq: 7, reason: "mention", title: "#general", body: "Ann: hello", tag: "room:room/1", url: "/#/rooms/room%2F1/7", createdAt: "2026-12-07T09:00:00.000Z" });
    expect(notificationOf(message({ id: "m2", roomId: "d", seq: 1 }), "direct", "direct", "ignored").title).toBe("Ann");
  });
});

describe("NotificationDispatcher", () => {
  async function setup(queueMax: number, firstSink: NotificationSink | null = null) {
    const store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
    const at = nowIso();
    for (const id of ["ann", "bob", "cat"]) {
      await store.db.insertInto("users").values({ id, username: id, username_key: id, email: `${id}@x`, email_key: `${id}@x`, display_name: id, password_hash: "x", created_at: at }).execute();
    }
    for (const [id, kind] of [["r1", "public"], ["r2", "private"]] as const) {
      await store.db.insertInto("rooms").values({ id, kind, name: id, topic: "", direct_key: null, created_by: "ann", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
      for (const user of ["ann", "bob", "cat"]) await store.db.insertInto("room_members").values({ room_id: id, user_id: user, role: "member", joined_at: at, last_read_seq: 0 }).execute();
    }
    // bob hears everything in both rooms; cat stays at the default.
    await store.db.updateTable("room_members").set({ notify_level: "all" }).where("user_id", "=", "bob").execute();
    const bus = new MemoryBus();
    const envelopes: BusEnvelope[] = [];
    bus.subscribe((e) => envelopes.push(e));
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const queries: string[] = [];
    const db = store.db.withPlugin({
      transformQuery: (args) => {
        queries.push(args.node.kind);
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const decided: DecidedNotification[] = [];
    const dispatcher = new NotificationDispatcher({ db, bus, log, connected: (id) => id === "bob", sinks: [...(firstSink ? [firstSink] : []), { accept: (b) => decided.push(...b) }], queueMax });
    return { store, dispatcher, envelopes, lines, queries, decided };
  }

  it("a turn's messages of several rooms: one query, frames to the connected recipients only, every decision to the sinks", async () => {
    const { store, dispatcher, envelopes, queries, decided } = await setup(100);
    try {
      dispatcher.enqueue(message({ id: "m1", roomId: "r1", seq: 1 }));
      dispatcher.enqueue(message({ id: "m2", roomId: "r2", seq: 1, mentions: { userIds: ["cat"], room: false, here: false } }));
      dispatcher.enqueue(message({ id: "m3", roomId: "r1", seq: 2, author: { id: "bob", username: "bob", displayName: "bob" } }));
      await dispatcher.drain();
      expect(queries).toEqual(["SelectQueryNode"]);
      expect(decided.map((d) => [d.notification.messageId, d.userId, d.notification.reason, d.connected])).toEqual([
        ["m1", "bob", "message", true],
        ["m2", "bob", "message", true],
        ["m2", "cat", "mention", false],
      ]);
      // Frames only for bob (connected), one envelope per message and reason.
      expect(envelopes.map((e) => (e.kind === "users" ? [e.userIds, JSON.parse(e.frame).notification.messageId] : e.kind))).toEqual([
        [["bob"], "m1"],
        [["bob"], "m2"],
      ]);
    } finally {
      await store.close();
    }
  });

  it("a query shape compiled once runs again with the next batch's values", async () => {
    const { store, dispatcher, decided } = await setup(100);
    try {
      const toCat = { userIds: ["cat"], room: false, here: false };
      dispatcher.enqueue(message({ id: "m1", roomId: "r1", seq: 1, mentions: toCat }));
      await dispatcher.drain();
      // The same shape (one room, no broadcast, one mentioned user), other values.
      dispatcher.enqueue(message({ id: "m2", roomId: "r2", seq: 1, mentions: { userIds: ["ann"], room: false, here: false }, author: { id: "cat", username: "cat", displayName: "cat" } }));
      await dispatcher.drain();
      dispatcher.enqueue(message({ id: "m3", roomId: "r2", seq: 2, mentions: { userIds: [], room: true, here: false } }));
      await dispatcher.drain();
      expect(decided.map((d) => [d.notification.messageId, d.notification.roomId, d.userId, d.notification.reason])).toEqual([
        ["m1", "r1", "bob", "message"],
        ["m1", "r1", "cat", "mention"],
        ["m2", "r2", "ann", "mention"],
        ["m2", "r2", "bob", "message"],
        ["m3", "r2", "bob", "room"],
        ["m3", "r2", "cat", "room"],
      ]);
    } finally {
      await store.close();
    }
  });

  it("a sink that throws is logged; the other sinks still get the batch", async () => {
    const { store, dispatcher, lines, decided } = await setup(100, { accept: () => { throw new Error("boom"); } });
    try {
      dispatcher.enqueue(message({ id: "m1", roomId: "r1", seq: 1 }));
      await dispatcher.drain();
      expect(decided.map((d) => d.notification.messageId)).toEqual(["m1"]);
      expect(lines.some((l) => l.includes("a notification sink threw"))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it("holds at most queueMax messages: the rest are dropped with one log line", async () => {
    const { store, dispatcher, lines, decided } = await setup(2);
    try {
      for (let i = 1; i <= 5; i++) dispatcher.enqueue(message({ id: `m${i}`, roomId: "r1", seq: i }));
      await dispatcher.drain();
      expect(decided.map((d) => d.notification.messageId)).toEqual(["m1", "m2"]);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ dropped: 3, queueMax: 2, msg: expect.stringContaining("dropped") });
    } finally {
      await store.close();
    }
  });

  it("a failing query is logged and the next batch still runs", async () => {
    const { store, dispatcher, lines, decided } = await setup(100);
    try {
      await store.db.schema.alterTable("room_members").renameColumn("muted_until", "gone").execute();
      dispatcher.enqueue(message({ id: "m1", roomId: "r1", seq: 1 }));
      await dispatcher.drain();
      expect(decided).toEqual([]);
      expect(lines.some((l) => l.includes("notification dispatch failed"))).toBe(true);
      await store.db.schema.alterTable("room_members").renameColumn("gone", "muted_until").execute();
      dispatcher.enqueue(message({ id: "m2", roomId: "r1", seq: 2 }));
      await dispatcher.drain();
      expect(decided.map((d) => d.notification.messageId)).toEqual(["m2"]);
    } finally {
      await store.close();
    }
  });
});
