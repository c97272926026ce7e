import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "@server/store/store.js";
import { historyPage } from "@server/messages/queries.js";
import { nowIso } from "@server/store/ids.js";

/**
 * historyPage's bounds: the page asked for (`before`, `after`, newest) and
 * the durable head `upTo` together, in one range on seq, whatever the order
 * of the two; out-of-range numbers read as "beyond every message".
 */
describe("historyPage bounds", () => {
  let store: Store;
  const seqsOf = async (page: Parameters<typeof historyPage>[2]) => {
    const found = await historyPage(store.db, "r", page);
    return { seqs: found.messages.map((m) => m.seq), hasMore: found.hasMore };
  };

  beforeAll(async () => {
    store = await openStore("sqlite::memory:", { sqliteSynchronous: "normal" });
    const at = nowIso();
    await store.db.insertInto("users").values({ id: "ann", username: "ann", username_key: "ann", email: "ann@x", email_key: "ann@x", display_name: "Ann", password_hash: "x", created_at: at }).execute();
    await store.db.insertInto("rooms").values({ id: "r", kind: "public", name: "r", topic: "", direct_key: null, created_by: "ann", created_at: at, last_seq: 20, last_activity_at: at, last_message_id: null }).execute();
    for (let seq = 1; seq <= 20; seq++) {
      await store.db.insertInto("messages").values({ id: `m${seq}`, room_id: "r", seq, author_id: "ann", body: `b${seq}`, client_id: null, created_at: at }).execute();
    }
  });
  afterAll(() => store.close());

  it("newest page: up to the head, or to upTo when a batch awaits its fsync", async () => {
    expect(await seqsOf({ limit: 5 })).toEqual({ seqs: [16, 17, 18, 19, 20], hasMore: true });
    expect(await seqsOf({ limit: 5, upTo: Infinity })).toEqual({ seqs: [16, 17, 18, 19, 20], hasMore: true });
    expect(await seqsOf({ limit: 5, upTo: 12 })).toEqual({ seqs: [8, 9, 10, 11, 12], hasMore: true });
  });

  it("before: the page just older, never past upTo, whichever bound is lower", async () => {
    expect(await seqsOf({ before: 10, limit: 5, upTo: 12 })).toEqual({ seqs: [5, 6, 7, 8, 9], hasMore: true });
    expect(await seqsOf({ before: 15, limit: 5, upTo: 12 })).toEqual({ seqs: [8, 9, 10, 11, 12], hasMore: true });
    expect(await seqsOf({ before: 3, limit: 5, upTo: 12 })).toEqual({ seqs: [1, 2], hasMore: false });
    expect(await seqsOf({ before: 1, limit: 5 })).toEqual({ seqs: [], hasMore: false });
    expect(await seqsOf({ before: 9_000_000_000_000, limit: 3 })).toEqual({ seqs: [18, 19, 20], hasMore: true });
  });

  it("after: the page just newer, stopping at upTo", async () => {
    expect(await seqsOf({ after: 3, limit: 5, upTo: 6 })).toEqual({ seqs: [4, 5, 6], hasMore: false });
    expect(await seqsOf({ after: 3, limit: 2, upTo: 6 })).toEqual({ seqs: [4, 5], hasMore: true });
    expect(await seqsOf({ after: 18, limit: 5 })).toEqual({ seqs: [19, 20], hasMore: false });
    expect(await seqsOf({ after: 9_000_000_000_000, limit: 5 })).toEqual({ seqs: [], hasMore: false });
  });
});
