import { describe, expect, it } from "vitest";
import { sql } from "kysely";
import { openStore } from "@server/store/store.js";
import { nowIso } from "@server/store/ids.js";
import { myRoomIds, roomViews, UNREAD_CAP } from "@server/rooms/views.js";
import { MAX_MENTION_NAMES, parseMentions, pickMentioned } from "./mentions.js";

const names = (body: string): string[] => parseMentions(body)?.tokens.map((t) => t.full) ?? [];

describe("parseMentions", () => {
  it("returns null for a body without @ or without a mention", () => {
    expect(parseMentions("hello there")).toBeNull();
    expect(parseMentions("mail me at ada@example.com")).toBeNull();
    expect(parseMentions("@ alone, @@, @ab (too short)")).toBeNull();
  });

  it("finds @names at the start, after spaces and after opening punctuation", () => {
    expect(names("@bob hi")).toEqual(["bob"]);
    expect(names("hi @bob")).toEqual(["bob"]);
    expect(names("(@bob) [@carol] \"@dave\" '@erin' ¿@frank")).toEqual(["bob", "carol", "dave", "erin", "frank"]);
    expect(names("line\n@bob")).toEqual(["bob"]);
  });

  it("is not a mention inside a word or an email address", () => {
    expect(names("ada@example.com")).toEqual([]);
    expect(names("first.last@example.org a+b@host.io x_@bob y-@bob z.@bob")).toEqual([]);
    expect(names("éa@bob 1@bob")).toEqual([]);
    // A name that runs on into another @ or a letter outside the pattern is no mention.
    expect(names("@bob@example.com @bobé")).toEqual([]);
  });

  it("ends a name at punctuation, keeping a candidate without trailing dots and hyphens", () => {
    expect(names("@bob, @carol! @dave? @erin: @frank;")).toEqual(["bob", "carol", "dave", "erin", "frank"]);
    const parsed = parseMentions("thanks @bob.");
    expect(parsed?.tokens).toEqual([{ full: "bob.", trimmed: "bob" }]);
    expect(parsed?.names.sort()).toEqual(["bob", "bob."]);
    // Dots and hyphens inside a name belong to it.
    expect(names("@ada.lovelace @grace-hopper @a_b")).toEqual(["ada.lovelace", "grace-hopper", "a_b"]);
  });

  it("accepts 3 to 32 characters, no more", () => {
    expect(names(`@${"a".repeat(32)}`)).toEqual(["a".repeat(32)]);
    expect(names(`@${"a".repeat(33)}`)).toEqual([]);
    expect(names("@abc @ab")).toEqual(["abc"]);
  });

  it("ignores case and dedupes", () => {
    expect(names("@Bob @BOB @bob @carol @Bob")).toEqual(["bob", "carol"]);
  });

  it("recognizes @room and @here, never as usernames", () => {
    const parsed = parseMentions("@Room @here, @bob");
    expect(parsed).toMatchObject({ room: true, here: true });
    expect(parsed?.names).toEqual(["bob"]);
    expect(parseMentions("@here.")).toMatchObject({ room: false, here: true, names: [] });
    expect(parseMentions("me@room.org")).toBeNull();
  });

  it(`looks up at most ${MAX_MENTION_NAMES} distinct names per message`, () => {
    const many = Array.from({ length: 80 }, (_, i) => `@user${i}`).join(" ");
    const parsed = parseMentions(`@user0 ${many}`);
    expect(parsed?.tokens).toHaveLength(MAX_MENTION_NAMES);
    expect(parsed?.tokens[0]?.full).toBe("user0");
    expect(parsed?.tokens.at(-1)?.full).toBe(`user${MAX_MENTION_NAMES - 1}`);
  });
});

describe("pickMentioned", () => {
  it("prefers the name as written, else the name without trailing punctuation, deduped in order", () => {
    const members = new Map([["bob", "u-bob"], ["bob.", "u-bobdot"], ["carol", "u-carol"]]);
    const tokens = parseMentions("@carol @bob. @Bob @carol. @nobody")?.tokens ?? [];
    expect(pickMentioned(tokens, members)).toEqual(["u-carol", "u-bobdot", "u-bob"]);
    expect(pickMentioned(parseMentions("@bob...")?.tokens ?? [], new Map([["bob", "u-bob"]]))).toEqual(["u-bob"]);
  });
});

describe("mentionCount in roomViews (migration 0007)", () => {
  it("counts my mention rows after my read position, capped at UNREAD_CAP, using the primary key", async () => {
    const store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
    try {
      const at = nowIso();
      for (const id of ["ann", "bob"]) {
        await store.db.insertInto("users").values({ id, username: id, username_key: id, email: `${id}@x`, email_key: `${id}@x`, display_name: id, password_hash: "x", created_at: at }).execute();
      }
      await store.db.insertInto("rooms").values({ id: "r", kind: "public", name: "r", topic: "", direct_key: null, created_by: "ann", created_at: at, last_seq: 150, last_activity_at: at, last_message_id: null }).execute();
      for (const id of ["ann", "bob"]) await store.db.insertInto("room_members").values({ room_id: "r", user_id: id, role: "member", joined_at: at, last_read_seq: 0 }).execute();
      const rows = Array.from({ length: 150 }, (_, i) => ({ message_id: `m${i + 1}`, user_id: "bob", room_id: "r", seq: i + 1 }));
      await store.db.insertInto("message_mentions").values(rows).execute();
      const count = async (userId: string) => (await roomViews(store.db, userId, myRoomIds(store.db, userId)))[0]?.mentionCount;
      expect(await count("bob")).toBe(UNREAD_CAP);
      expect(await count("ann")).toBe(0);
      await store.db.updateTable("room_members").set({ last_read_seq: 140 }).where("user_id", "=", "bob").execute();
      expect(await count("bob")).toBe(10);
      // The count is one range of the primary key (user_id, room_id, seq), never a scan of the table.
      const plan = await sql<{ detail: string }>`explain query plan select seq from message_mentions where user_id = ${"bob"} and room_id = ${"r"} and seq > ${140} limit 100`.execute(store.db);
      expect(plan.rows.map((r) => r.detail).join("\n")).toMatch(/USING (COVERING )?INDEX sqlite_autoindex_message_mentions_1|USING PRIMARY KEY/);
    } finally {
      await store.close();
    }
  });
});
