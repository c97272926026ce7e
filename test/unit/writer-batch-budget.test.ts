import { afterEach, beforeEach, describe, expect, it } from "vitest";
import pino from "pino";
import { openStore, type Store } from "@server/store/store.js";
import { appendRoomEvent } from "@server/events/log.js";
import { runSteps } from "@server/store/steps.js";
import { RoomWriter } from "@server/events/writer.js";
import { MemoryBus } from "@server/bus/memory.js";
import type { BusEnvelope } from "@server/bus/bus.js";
import { nowIso } from "@server/store/ids.js";

/**
 * A group commit's time budget (issue 16 item 15b): what queued during a
 * slow fsync or a stall no longer runs as one synchronous stretch of the
 * event loop; the batch commits the works that fit and the rest form the
 * next batch, in order. The clock is a fake one that each work moves on.
 */

const log = pino({ level: "silent" });
let store: Store;

beforeEach(async () => {
  store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
  const at = nowIso();
  await store.db.insertInto("users").values({ id: "u", username: "u", username_key: "u", email: "u@x", email_key: "u@x", display_name: "u", password_hash: "x", created_at: at }).execute();
  await store.db.insertInto("rooms").values({ id: "r", kind: "public", name: "r", topic: "", direct_key: null, created_by: "u", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
});
afterEach(() => store.close());

function setup(sync: boolean) {
  const clock = { ms: 0 };
  const bus = new MemoryBus();
  const published: number[] = [];
  bus.subscribe((e: BusEnvelope) => {
    if (e.kind === "room") published.push(e.seq);
  });
  const sizes: number[] = [];
  const writer = new RoomWriter(store.db, bus, log, async () => undefined, {
    sync: sync ? store.sync : null,
    maxBatchMs: 25,
    now: () => clock.ms,
    observer: { stage() {}, fanout() {}, batch: (b) => sizes.push(b.size) },
  });
  // Each work "takes" 10 ms on the fake clock: a batch fits three (0, 10, 20 < 25), then stops.
  const step = (i: number) =>
    writer.submitSteps((db) => {
      clock.ms += 10;
      return (function* () {
        const e = yield* appendRoomEvent(db, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: `w${i}` }));
        return { result: e.seq, publish: [{ kind: "room" as const, roomId: "r", seq: e.seq, frame: e.frame }] };
      })();
    });
  const work = (i: number) =>
    writer.submit(async (trx) => {
      clock.ms += 10;
      const e = await runSteps(trx, appendRoomEvent(trx, "r", nowIso(), (seq) => ({ type: "member.left" as const, roomId: "r", seq, userId: `w${i}` })));
      return { result: e.seq, publish: [{ kind: "room", roomId: "r", seq: e.seq, frame: e.frame }] };
    });
  return { writer, sizes, published, submit: sync ? step : work };
}

describe("RoomWriter batch time budget", () => {
  for (const sync of [true, false]) {
    it(`${sync ? "synchronous steps" : "Kysely works"}: a backlog commits in batches that fit the budget, every work once and in order`, async () => {
      const { sizes, published, submit } = setup(sync);
      const seqs = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(i)));
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(sizes).toEqual([3, 3, 3, 1]);
      expect(published).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const room = await store.db.selectFrom("rooms").select("last_seq").where("id", "=", "r").executeTakeFirstOrThrow();
      expect(room.last_seq).toBe(10);
    });
  }
});
