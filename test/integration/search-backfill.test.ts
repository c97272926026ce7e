import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { sql, type Kysely } from "kysely";
import type { Message } from "@shared/protocol/entities.js";
import type { SearchResponse } from "@shared/protocol/search.js";
import type { Database } from "@server/store/schema.js";
import { openStore, type Store } from "@server/store/store.js";
import { SearchBackfill } from "@server/search/backfill.js";
import { copyDatabase } from "@server/store/copy.js";
import { lexeme, STREAM_PREFIXES, STREAM_WEIGHTS } from "@server/search/postgres.js";
import { createTestPostgresDatabase, startTestServer, testPostgresUrl, type TestServer } from "../support/server.js";
import { Caller, createRoom, postMessage, signup } from "../support/client.js";

/**
 * The search backfill (search/backfill.ts, issue 18 item 6) on the database
 * this project runs on: an installation whose messages were stored before
 * the search index existed (made here through the API, then the index's
 * tables emptied as migration 0013 leaves them) is indexed in the
 * background after start, newest first, below the ids of live messages,
 * resumably, with edits and deletions made meanwhile ending up right.
 */

/** A pino logger whose lines the test reads back. */
function capturedLog(): { logger: pino.Logger; lines: () => { msg: string; [key: string]: unknown }[] } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: pino({ level: "info" }, stream),
    lines: () =>
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string }),
  };
}

/** The index's tables as migration 0013 leaves them on an installation that has messages: empty, no backfill state. */
async function emptyIndex(db: Kysely<Database>, dialect: Store["dialect"]["name"]): Promise<void> {
  if (dialect === "sqlite") {
    await sql`delete from search_index`.execute(db);
    // The vocabulary's trigram table has external content (search_words): emptied by its own command.
    await sql`insert into search_words_trigram (search_words_trigram) values ('delete-all')`.execute(db);
  }
  await sql`delete from search_documents`.execute(db);
  await sql`delete from search_words`.execute(db);
  await sql`delete from search_backfill`.execute(db);
}

/** The indexed messages, by document id ascending (date order). */
async function documents(db: Kysely<Database>): Promise<{ id: number; messageId: string }[]> {
  const rows = await db.selectFrom("search_documents").select(["id", "message_id"]).orderBy("id").execute();
  return rows.map((r) => ({ id: Number(r.id), messageId: r.message_id }));
}

/** The messages whose indexed words include `word` (folded, as tokens.ts makes them), straight from the dialect's index. */
async function indexedWith(store: Store, word: string): Promise<string[]> {
  if (store.dialect.name === "sqlite") {
    const { rows } = await sql<{ message_id: string }>`select d.message_id from search_index i join search_documents d on d.id = i.rowid
      where search_index match ${`words : "${word}"`}`.execute(store.db);
    return rows.map((r) => r.message_id).sort();
  }
  const { rows } = await sql<{ message_id: string }>`select message_id from search_documents where terms @@ ${`${lexeme(STREAM_PREFIXES.words + word)}:${STREAM_WEIGHTS.words}`}::tsquery`.execute(store.db);
  return rows.map((r) => r.message_id).sort();
}

async function backfillState(db: Kysely<Database>): Promise<{ cursor: string | null; done: number } | undefined> {
  return db.selectFrom("search_backfill").select(["cursor", "done"]).where("id", "=", 1).executeTakeFirst();
}

/** Waits (polling, bounded) until `check` is true. */
async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The same identity on another node (a restart listens on another port). */
function onNode(caller: Caller, node: TestServer): Caller {
  const moved = new Caller(node.baseUrl);
  moved.cookie = caller.cookie;
  moved.csrfToken = caller.csrfToken;
  moved.user = caller.user;
  return moved;
}

/** The messages not deleted, in the order they were sent. */
async function aliveInOrder(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom("messages").select(["id"]).where("deleted_at", "is", null).orderBy("created_at").orderBy("seq").execute();
  return rows.map((r) => r.id);
}

const backfillDone = (t: TestServer) => async () => (await backfillState(t.server.store.db))?.done === 1;

describe("search backfill: messages stored before the index", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * An installation with `count` messages (bodies "old message <i> w<i>", oldest first) in one
   * room, plus one deleted and one edited before the index existed; stopped, its index emptied.
   */
  async function installedBeforeSearch(count: number): Promise<{ dataDir: string; alice: Caller; roomId: string; messages: Message[]; deleted: Message; edited: Message }> {
    const first = await startTestServer();
    let stopped = false;
    cleanups.push(async () => {
      // The last node on this data dir destroys it (and its PostgreSQL database); this one only if the test failed early.
      if (!stopped) await first.destroy();
    });
    const alice = await signup(first.baseUrl, "alice");
    const roomId = await createRoom(alice, "public");
    const messages: Message[] = [];
    let deleted: Message | undefined;
    let edited: Message | undefined;
    for (let i = 0; i < count; i++) {
      messages.push(await postMessage(alice, roomId, `old message ${i} w${i}`));
      if (i === 2) deleted = await postMessage(alice, roomId, "soon deleted dodo");
      if (i === 3) edited = await postMessage(alice, roomId, "first draft quagga");
    }
    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${deleted!.id}`)).status).toBe(200);
    expect((await alice.request("PATCH", `/rooms/${roomId}/messages/${edited!.id}`, { body: "final text okapi" })).status).toBe(200);
    const databaseUrl = first.server.config.databaseUrl;
    await first.stop();
    stopped = true;
    const store = await openStore(databaseUrl, { sqliteSynchronous: "normal" });
    try {
      await emptyIndex(store.db, store.dialect.name);
    } finally {
      await store.close();
    }
    return { dataDir: first.dataDir, alice, roomId, messages, deleted: deleted!, edited: edited! };
  }

  /** Starts a node on the installation; destroyed (with its data) after the test unless `keep`. */
  async function node(dataDir: string, settings: { batch: number; pauseMs: number }, opts: Parameters<typeof startTestServer>[1] = {}, keep = false): Promise<TestServer> {
    const t = await startTestServer({ dataDir, searchBackfillBatch: settings.batch, searchBackfillPauseMs: settings.pauseMs }, opts);
    if (!keep) cleanups.push(() => t.destroy());
    return t;
  }

  it("indexes every message, newest first, with ids below the live ones in date order, and logs its progress", async () => {
    const old = await installedBeforeSearch(24);
    const log = capturedLog();
    const t = await node(old.dataDir, { batch: 1, pauseMs: 0 }, { logger: log.logger });
    await until(backfillDone(t), "the backfill to finish");
    const { db } = t.server.store;

    // Every message not deleted, once; the edited one with its current text only.
    const expected = [...old.messages.map((m) => m.id), old.edited.id].sort();
    const docs = await documents(db);
    expect(docs.map((d) => d.messageId).sort()).toEqual(expected);
    expect(await indexedWith(t.server.store, "okapi")).toEqual([old.edited.id]);
    expect(await indexedWith(t.server.store, "quagga")).toEqual([]);
    expect(await indexedWith(t.server.store, "dodo")).toEqual([]);
    expect(await indexedWith(t.server.store, "w7")).toEqual([old.messages[7]!.id]);

    // Ids count down from 0: id order is the order the messages were sent in.
    expect(docs.every((d) => d.id <= 0)).toBe(true);
    expect(docs.map((d) => d.messageId)).toEqual(await aliveInOrder(db));

    // A message sent now counts up, above every backfilled one.
    const live = await postMessage(onNode(old.alice, t), old.roomId, "a new message capybara");
    const after = await documents(db);
    expect(after.at(-1)).toMatchObject({ messageId: live.id });
    expect(after.at(-1)!.id).toBeGreaterThan(0);

    // Found over the API: a word of an old message, and sort=date lists old and new newest first.
    const alice = onNode(old.alice, t);
    const one = await alice.get<SearchResponse>(`/search?q=w7`);
    expect(one.status).toBe(200);
    expect(one.body.results.map((r) => r.message.id)).toEqual([old.messages[7]!.id]);
    const byDate = await alice.get<SearchResponse>(`/search?q=message&sort=date&limit=50`);
    expect(byDate.body.results.map((r) => r.message.id)).toEqual([live.id, ...old.messages.map((m) => m.id).reverse()]);
    expect((await alice.get<SearchResponse>(`/search?q=okapi`)).body.results.map((r) => r.message.id)).toEqual([old.edited.id]);
    const none = await alice.get<SearchResponse>(`/search?q=quagga`);
    expect(none.body, JSON.stringify(none.body)).toMatchObject({ total: 0, results: [] });

    const lines = log.lines();
    expect(lines.find((l) => l.msg.startsWith("search backfill: indexing the messages stored before the search index"))).toBeDefined();
    // Every 20 batches of 1: one progress line with counts and the rate.
    expect(lines.find((l) => l.msg.startsWith("search backfill: 20 messages indexed"))).toMatchObject({ indexed: 20, batches: 20, perSecond: expect.any(Number) });
    expect(lines.find((l) => l.msg.startsWith("search backfill: done"))).toMatchObject({ indexed: 25, elapsedMs: expect.any(Number) });
  });

  it("resumes after a restart where it stopped, and never indexes a message twice", async () => {
    const old = await installedBeforeSearch(10);
    // One batch at start, then a long pause: stopped in the middle.
    const first = await node(old.dataDir, { batch: 3, pauseMs: 60_000 }, {}, true);
    await until(async () => (await backfillState(first.server.store.db))?.cursor != null, "the first batch");
    const partial = await documents(first.server.store.db);
    const newestFirst = (await aliveInOrder(first.server.store.db)).reverse();
    await first.stop();
    // The three newest, below 0.
    expect(partial.map((d) => d.id)).toEqual([-2, -1, 0]);
    expect(partial.map((d) => d.messageId).reverse()).toEqual(newestFirst.slice(0, 3));

    const log = capturedLog();
    const second = await node(old.dataDir, { batch: 3, pauseMs: 0 }, { logger: log.logger });
    await until(backfillDone(second), "the backfill to finish");
    const docs = await documents(second.server.store.db);
    expect(docs.map((d) => d.messageId).reverse()).toEqual(newestFirst);
    expect(docs.map((d) => d.id)).toEqual(Array.from({ length: 11 }, (_, i) => i - 10));
    expect(log.lines().find((l) => l.msg.startsWith("search backfill: resuming"))).toBeDefined();
    expect(log.lines().find((l) => l.msg.startsWith("search backfill: done"))).toMatchObject({ indexed: 8 });

    // Done is remembered: a later start indexes nothing and says nothing.
    await second.stop();
    const quiet = capturedLog();
    const third = await node(old.dataDir, { batch: 3, pauseMs: 0 }, { logger: quiet.logger });
    await new Promise((r) => setTimeout(r, 100));
    expect(await documents(third.server.store.db)).toHaveLength(11);
    expect(quiet.lines().filter((l) => l.msg.startsWith("search backfill"))).toEqual([]);
  });

  it("indexes the text a message has at its batch's commit: edits and deletions before, during and after", async () => {
    const old = await installedBeforeSearch(9);
    const [m0, m1, , , , m5, , m7, m8] = old.messages;
    let once = false;
    const alice = old.alice;
    // The first batch reads the three newest (m8, m7, m6); before its transaction m8 is edited and m7 deleted.
    const first = await node(
      old.dataDir,
      { batch: 3, pauseMs: 60_000 },
      {
        searchBackfill: {
          afterRead: async (ids) => {
            if (once) return;
            once = true;
            expect(ids).toEqual([m8!.id, m7!.id, old.messages[6]!.id]);
            const caller = onNode(alice, first);
            expect((await caller.request("PATCH", `/rooms/${old.roomId}/messages/${m8!.id}`, { body: "edited while read zebra" })).status).toBe(200);
            expect((await caller.request("DELETE", `/rooms/${old.roomId}/messages/${m7!.id}`)).status).toBe(200);
          },
        },
      },
      true,
    );
    await until(async () => (await backfillState(first.server.store.db))?.cursor != null, "the first batch");
    const caller = onNode(alice, first);
    // After the first batch: one already indexed edited, one not reached yet edited, one not reached deleted.
    expect((await caller.request("PATCH", `/rooms/${old.roomId}/messages/${old.messages[6]!.id}`, { body: "edited after indexing narwhal" })).status).toBe(200);
    expect((await caller.request("PATCH", `/rooms/${old.roomId}/messages/${m5!.id}`, { body: "edited before its batch walrus" })).status).toBe(200);
    expect((await caller.request("DELETE", `/rooms/${old.roomId}/messages/${m1!.id}`)).status).toBe(200);
    await first.stop();

    const second = await node(old.dataDir, { batch: 3, pauseMs: 0 });
    await until(backfillDone(second), "the backfill to finish");
    const store = second.server.store;
    expect(await indexedWith(store, "zebra")).toEqual([m8!.id]);
    expect(await indexedWith(store, "w8")).toEqual([]);
    expect(await indexedWith(store, "w7")).toEqual([]);
    expect(await indexedWith(store, "narwhal")).toEqual([old.messages[6]!.id]);
    expect(await indexedWith(store, "w6")).toEqual([]);
    expect(await indexedWith(store, "walrus")).toEqual([m5!.id]);
    expect(await indexedWith(store, "w5")).toEqual([]);
    expect(await indexedWith(store, "w1")).toEqual([]);
    expect(await indexedWith(store, "w0")).toEqual([m0!.id]);
    const indexed = (await documents(store.db)).map((d) => d.messageId).sort();
    const alive = old.messages.filter((m) => m !== m7 && m !== m1).map((m) => m.id);
    expect(indexed).toEqual([...alive, old.edited.id].sort());
  });

  it("two backfills at once (two nodes that both take themselves for the leader) index each message once", async () => {
    const old = await installedBeforeSearch(12);
    const t = await node(old.dataDir, { batch: 4, pauseMs: 60_000 });
    await until(async () => (await backfillState(t.server.store.db))?.cursor != null, "the node's first batch");
    const { config, store, log } = t.server;
    const a = new SearchBackfill({ config, store, log, cluster: null });
    const b = new SearchBackfill({ config, store, log, cluster: null });
    const [ra, rb] = await Promise.all([a.batch(4), b.batch(4)]);
    // One of the two indexed the next four; the other found the cursor moved (or the lock held) and did nothing.
    expect([ra, rb].filter((r) => r !== null)).toEqual([{ indexed: 4, done: false }]);
    const docs = await documents(store.db);
    expect(new Set(docs.map((d) => d.messageId)).size).toBe(8);
    expect(docs.map((d) => d.id)).toEqual(Array.from({ length: 8 }, (_, i) => i - 7));
  });

  // copy-database (docs/moving-data.md) goes from SQLite to PostgreSQL: once, in the PostgreSQL project.
  it.runIf(testPostgresUrl)("after copy-database to PostgreSQL (which leaves the index behind) the target's first start builds its index", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-search-copy-"));
    const from = `sqlite:${path.join(dir, "parley.db")}`;
    const source = await startTestServer({ dataDir: dir, databaseUrl: from });
    cleanups.push(async () => {
      await source.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const alice = await signup(source.baseUrl, "alice");
    const roomId = await createRoom(alice, "private");
    const sent: Message[] = [];
    for (let i = 0; i < 6; i++) sent.push(await postMessage(alice, roomId, `copied message kiwi ${i}`));
    expect((await alice.request("PATCH", `/rooms/${roomId}/messages/${sent[2]!.id}`, { body: "copied and edited mango" })).status).toBe(200);
    expect((await alice.request("DELETE", `/rooms/${roomId}/messages/${sent[4]!.id}`)).status).toBe(200);
    // Indexed on SQLite as they were sent.
    expect(await documents(source.server.store.db)).toHaveLength(5);
    await source.stop();

    const target = await createTestPostgresDatabase();
    cleanups.push(target.drop);
    await copyDatabase({ from, to: target.url });
    const log = capturedLog();
    const node = await startTestServer({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), "parley-search-copy-target-")), databaseUrl: target.url }, { logger: log.logger });
    cleanups.push(() => node.destroy());
    await until(backfillDone(node), "the target's backfill");

    const docs = await documents(node.server.store.db);
    expect(docs.map((d) => d.messageId)).toEqual(await aliveInOrder(node.server.store.db));
    expect(docs).toHaveLength(5);
    const moved = onNode(alice, node);
    const kiwi = await moved.get<SearchResponse>(`/search?q=kiwi&sort=date`);
    expect(kiwi.status).toBe(200);
    expect(kiwi.body.results.map((r) => r.message.id)).toEqual([sent[5]!.id, sent[3]!.id, sent[1]!.id, sent[0]!.id]);
    expect((await moved.get<SearchResponse>(`/search?q=mango`)).body.results.map((r) => r.message.id)).toEqual([sent[2]!.id]);
    expect(log.lines().find((l) => l.msg.startsWith("search backfill: done"))).toMatchObject({ indexed: 5 });
  });
});
