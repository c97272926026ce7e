import { afterEach, beforeEach, describe, expect, it } from "vitest";
import pino from "pino";
import { openStore, type Store } from "@server/store/store.js";
import { prepared } from "@server/store/prepared.js";
import { rows, runSteps, runStepsSync, type Steps } from "@server/store/steps.js";
import type { Kysely } from "kysely";
import type { Database } from "@server/store/schema.js";
import { RoomWriter } from "@server/events/writer.js";
import { MemoryBus } from "@server/bus/memory.js";
import { appendRoomEvent } from "@server/events/log.js";
import { AppError } from "@server/errors.js";
import { nowIso } from "@server/store/ids.js";

const log = pino({ level: "silent" });
let store: Store;
beforeEach(async () => {
  store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
  const at = nowIso();
  await store.db.insertInto("users").values({ id: "u", username: "u", username_key: "u", email: "u@x", email_key: "u@x", display_name: "U", password_hash: "x", created_at: at }).execute();
  await store.db.insertInto("rooms").values({ id: "r", kind: "public", name: "r", topic: "", direct_key: null, created_by: "u", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
});
afterEach(() => store.close());

const nameOf = prepared<{ id: string }, { display_name: string }>((db, p) => db.selectFrom("users").select("display_name").where("id", "=", p.id));

/** Reads a name, renames, reads again; a failing statement is caught inside the steps. */
function* renameTwice(db: Kysely<Database>): Steps<string[]> {
  const seen: string[] = [];
  seen.push((yield* rows(nameOf.query(db, { id: "u" })))[0]!.display_name);
  yield* rows(db.updateTable("users").set({ display_name: "V" }).where("id", "=", "u").compile());
  seen.push((yield* rows(nameOf.query(db, { id: "u" })))[0]!.display_name);
  try {
    yield* rows(db.insertInto("users").values({ id: "u", username: "dup", username_key: "dup", email: "d@x", email_key: "d@x", display_name: "D", password_hash: "x", created_at: nowIso() }).compile());
  } catch (err) {
    seen.push(store.dialect.isUniqueViolation(err) ? "unique" : "other");
  }
  return seen;
}

describe("steps", () => {
  it("run the same way through Kysely and synchronously on SQLite, errors thrown at their yield", async () => {
    expect(await runSteps(store.db, renameTwice(store.db))).toEqual(["U", "V", "unique"]);
    await store.db.updateTable("users").set({ display_name: "U" }).where("id", "=", "u").execute();
    expect(runStepsSync(store.sync!.run, renameTwice(store.db))).toEqual(["U", "V", "unique"]);
  });

  it("a batch of steps commits without a Kysely transaction; a batch with an async work goes through one; seqs stay gap-free", async () => {
    let kyselyTransactions = 0;
    const open = store.db.transaction.bind(store.db);
    store.db.transaction = () => {
      kyselyTransactions++;
      return open();
    };
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined, { sync: store.sync });
    const stepWork = () =>
      writer.submitSteps(function* (db) {
        const e = yield* appendRoomEvent(db, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "s" }));
        return { result: e.seq, publish: [] };
      });
    expect(await Promise.all([stepWork(), stepWork(), stepWork()])).toEqual([1, 2, 3]);
    expect(kyselyTransactions).toBe(0);

    const asyncWork = () => writer.submit(async (trx) => ({ result: (await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "a" })))).seq, publish: [] }));
    expect(await Promise.all([stepWork(), asyncWork(), stepWork()])).toEqual([4, 5, 6]);
    expect(kyselyTransactions).toBe(1);
  });

  it("a step that throws an AppError fails alone; the rest of its synchronous batch commits", async () => {
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined, { sync: store.sync });
    const ok = () =>
      writer.submitSteps(function* (db) {
        const e = yield* appendRoomEvent(db, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "s" }));
        return { result: e.seq, publish: [] };
      });
    // eslint-disable-next-line require-yield -- a work that fails its check before any statement
    const refused = writer.submitSteps(function* () {
      throw new AppError("not_found", "No such room.");
    });
    const results = await Promise.allSettled([ok(), refused, ok()]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as AppError).code))).toEqual([1, "not_found", 2]);
    const row = await store.db.selectFrom("rooms").select("last_seq").where("id", "=", "r").executeTakeFirstOrThrow();
    expect(Number(row.last_seq)).toBe(2);
  });

  it("waits for a Kysely transaction that is open (awaiting between statements) instead of starting inside it", async () => {
    const writer = new RoomWriter(store.db, new MemoryBus(), log, async () => undefined, { sync: store.sync });
    let release!: () => void;
    let opened!: () => void;
    const isOpen = new Promise<void>((r) => (opened = r));
    const other = store.db.transaction().execute(async (trx) => {
      await trx.updateTable("users").set({ display_name: "T" }).where("id", "=", "u").execute();
      opened();
      await new Promise<void>((r) => (release = r));
    });
    await isOpen;
    expect(store.sync!.inTransaction()).toBe(true);
    const sent = writer.submitSteps(function* (db) {
      const e = yield* appendRoomEvent(db, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: "w" }));
      return { result: e.seq, publish: [] };
    });
    await new Promise((r) => setTimeout(r, 20));
    release();
    await other;
    expect(await sent).toBe(1);
  });
});
