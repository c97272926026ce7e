import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Migrator } from "kysely";
import { openSqlite } from "@server/store/sqlite.js";
import { openStore } from "@server/store/store.js";
import { migrationProvider } from "@server/store/migrations/index.js";

const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();

describe("migration 0002: messages and events in insertion order", () => {
  it("keeps every row of a database made by 0001, and its keys and indexes", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-migrate-"));
    const file = path.join(dir, "parley.db");
    try {
      const old = openSqlite(file, { synchronous: "normal" });
      const { error } = await new Migrator({ db: old.db, provider: migrationProvider(old.dialect) }).migrateTo("0001_initial");
      expect(error).toBeUndefined();
      expect(old.raw.prepare("select sql from sqlite_master where name = 'messages'").pluck().get()).toMatch(/without rowid/i);
      old.raw.prepare("insert into users (id, username, username_key, email, email_key, display_name, password_hash, created_at) values ('u1', 'Ann', 'ann', 'a@x.org', 'a@x.org', 'Ann', 'h', ?)").run(at(0));
      for (const room of ["r1", "r2"]) {
        old.raw.prepare("insert into rooms (id, kind, name, created_by, created_at, last_seq, last_activity_at) values (?, 'public', ?, 'u1', ?, 3, ?)").run(room, room, at(0), at(3));
        for (let seq = 1; seq <= 3; seq++) {
          old.raw.prepare("insert into messages (room_id, seq, id, author_id, body, client_id, created_at) values (?, ?, ?, 'u1', ?, ?, ?)").run(room, seq, `${room}-m${seq}`, `body ${room} ${seq}`, `c${seq}`, at(seq));
          old.raw.prepare("insert into room_events (room_id, seq, type, frame, created_at) values (?, ?, 'message.created', ?, ?)").run(room, seq, `{"seq":${seq}}`, at(seq));
        }
      }
      await old.close();

      const store = await openStore(`sqlite:${file}`, { sqliteSynchronous: "normal" });
      try {
        const messages = await store.db.selectFrom("messages").select(["room_id", "seq", "id", "body", "client_id"]).orderBy("room_id").orderBy("seq").execute();
        expect(messages.map((m) => `${m.room_id}/${m.seq}/${m.id}/${m.body}/${m.client_id}`)).toEqual([
          "r1/1/r1-m1/body r1 1/c1",
          "r1/2/r1-m2/body r1 2/c2",
          "r1/3/r1-m3/body r1 3/c3",
          "r2/1/r2-m1/body r2 1/c1",
          "r2/2/r2-m2/body r2 2/c2",
          "r2/3/r2-m3/body r2 3/c3",
        ]);
        const events = await store.db.selectFrom("room_events").select(["room_id", "seq", "frame"]).orderBy("room_id").orderBy("seq").execute();
        expect(events).toHaveLength(6);
        expect(events[5]).toEqual({ room_id: "r2", seq: 3, frame: '{"seq":3}' });

        const raw = new BetterSqlite3(file);
        try {
          const ddl = raw.prepare("select sql from sqlite_master where name in ('messages', 'room_events')").pluck().all() as string[];
          expect(ddl).toHaveLength(2);
          for (const text of ddl) expect(text).not.toMatch(/without rowid/i);
          const indexes = raw.prepare("select name from sqlite_master where type = 'index' and sql is not null").pluck().all();
          expect(indexes).toEqual(expect.arrayContaining(["messages_client_id", "rooms_public_activity"]));
          expect(indexes).not.toContain("rooms_kind_activity");
          // The keys still hold: a seq is taken once per room, a clientId once per author and room.
          const insert = raw.prepare("insert into messages (room_id, seq, id, author_id, body, client_id, created_at) values (?, ?, ?, 'u1', 'b', ?, ?)");
          expect(() => insert.run("r1", 3, "dup-seq", "c9", at(9))).toThrow(/UNIQUE/);
          expect(() => insert.run("r1", 4, "dup-client", "c1", at(9))).toThrow(/UNIQUE/);
          expect(() => insert.run("r1", 4, "r1-m1", "c9", at(9))).toThrow(/UNIQUE/);
          expect(() => raw.prepare("insert into room_events (room_id, seq, type, frame, created_at) values ('r2', 3, 't', '{}', ?)").run(at(9))).toThrow(/UNIQUE/);
        } finally {
          raw.close();
        }
      } finally {
        await store.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("migration 0005: replies", () => {
  it("gives messages stored before it no reply and a count of 0, and indexes replies by root", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-migrate-"));
    const file = path.join(dir, "parley.db");
    try {
      const old = openSqlite(file, { synchronous: "normal" });
      const { error } = await new Migrator({ db: old.db, provider: migrationProvider(old.dialect) }).migrateTo("0003_edits_deletions");
      expect(error).toBeUndefined();
      old.raw.prepare("insert into users (id, username, username_key, email, email_key, display_name, password_hash, created_at) values ('u1', 'Ann', 'ann', 'a@x.org', 'a@x.org', 'Ann', 'h', ?)").run(at(0));
      old.raw.prepare("insert into rooms (id, kind, name, created_by, created_at, last_seq, last_activity_at) values ('r1', 'public', 'r1', 'u1', ?, 1, ?)").run(at(0), at(1));
      old.raw.prepare("insert into messages (room_id, seq, id, author_id, body, client_id, created_at) values ('r1', 1, 'm1', 'u1', 'before replies', null, ?)").run(at(1));
      await old.close();

      const store = await openStore(`sqlite:${file}`, { sqliteSynchronous: "normal" });
      try {
        const row = await store.db.selectFrom("messages").select(["reply_to_id", "reply_count", "last_reply_at", "body"]).where("id", "=", "m1").executeTakeFirstOrThrow();
        expect(row).toEqual({ reply_to_id: null, reply_count: 0, last_reply_at: null, body: "before replies" });
      } finally {
        await store.close();
      }
      const raw = new BetterSqlite3(file);
      try {
        const indexes = raw.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'messages'").pluck().all();
        expect(indexes).toContain("messages_reply_to");
      } finally {
        raw.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("migration 0008: last seen", () => {
  it("adds a nullable users.last_seen_at to a database made by 0007, null for the users already there", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-migrate-"));
    const file = path.join(dir, "parley.db");
    try {
      const old = openSqlite(file, { synchronous: "normal" });
      const { error } = await new Migrator({ db: old.db, provider: migrationProvider(old.dialect) }).migrateTo("0007_mentions");
      expect(error).toBeUndefined();
      const columnsBefore = old.raw.prepare("select name from pragma_table_info('users')").pluck().all();
      expect(columnsBefore).not.toContain("last_seen_at");
      old.raw.prepare("insert into users (id, username, username_key, email, email_key, display_name, password_hash, created_at) values ('u1', 'Ann', 'ann', 'a@x.org', 'a@x.org', 'Ann', 'h', ?)").run(at(0));
      await old.close();

      const store = await openStore(`sqlite:${file}`, { sqliteSynchronous: "normal" });
      try {
        const before = await store.db.selectFrom("users").select(["id", "username", "last_seen_at"]).where("id", "=", "u1").executeTakeFirstOrThrow();
        expect(before).toEqual({ id: "u1", username: "Ann", last_seen_at: null });
        await store.db.updateTable("users").set({ last_seen_at: at(5) }).where("id", "=", "u1").execute();
        const after = await store.db.selectFrom("users").select("last_seen_at").where("id", "=", "u1").executeTakeFirstOrThrow();
        expect(after.last_seen_at).toBe(at(5));
      } finally {
        await store.close();
      }
      const raw = new BetterSqlite3(file);
      try {
        const column = raw.prepare("select type, \"notnull\" from pragma_table_info('users') where name = 'last_seen_at'").get();
        expect(column).toEqual({ type: "TEXT", notnull: 0 });
      } finally {
        raw.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
