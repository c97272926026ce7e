import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "@server/store/store.js";
import { prepared } from "@server/store/prepared.js";

let store: Store;
beforeEach(async () => {
  store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
  await store.db
    .insertInto("users")
    .values(["a", "b", "c"].map((id) => ({ id, username: id, username_key: id, email: `${id}@x`, email_key: `${id}@x`, display_name: id.toUpperCase(), password_hash: "x", created_at: "2026-01-01T00:00:00.000Z" })))
    .execute();
});
afterEach(() => store.close());

describe("prepared", () => {
  const byId = prepared<{ id: string }, { display_name: string }>((db, p) =>
    db.selectFrom("users").select("display_name").where("id", "=", p.id),
  );

  it("runs the same compiled query with each call's parameters", async () => {
    expect(await byId(store.db, { id: "a" })).toEqual([{ display_name: "A" }]);
    expect(await byId(store.db, { id: "c" })).toEqual([{ display_name: "C" }]);
    expect(await byId(store.db, { id: "zz" })).toEqual([]);
  });

  it("keeps builder constants and maps several parameters in order, inside a transaction too", async () => {
    const rename = prepared<{ name: string; id: string }, { id: string }>((db, p) =>
      db.updateTable("users").set({ display_name: p.name }).where("id", "=", p.id).where("username", "!=", "nobody").returning("id"),
    );
    await store.db.transaction().execute(async (trx) => {
      expect(await rename(trx, { id: "b", name: "Bee" })).toEqual([{ id: "b" }]);
    });
    expect(await byId(store.db, { id: "b" })).toEqual([{ display_name: "Bee" }]);
  });
});
