import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { v7 as uuidv7 } from "uuid";
import pino from "pino";
import { openStore, type Store } from "@server/store/store.js";
import { hashSecret } from "@server/auth/credentials.js";
import { hashPassword } from "@server/auth/passwords.js";
import { SearchBackfill } from "@server/search/backfill.js";
import type { Config } from "@server/config.js";
import type { MessageCreatedEventSchema, MemberJoinedEventSchema } from "@shared/protocol/frames.js";
import type { z } from "zod";
import { ENGLISH_WORDS } from "../scenarios/search-words.js";
import { SEED_PASSWORD, type SeededUser } from "./parley-seed.js";
import { seededRandom } from "../lib/random.js";

/**
 * The search scenario's installation (issue 18 item 6): `messages` messages
 * of varied text in `rooms` public rooms of `users` members each (everyone
 * in every room, so a search covers every message), written straight into
 * SQLite in the server's own schema and frame format like parley-seed.ts,
 * with UUID v7 ids carrying each message's time. The text, from a seeded
 * random generator (the same every run):
 * - 95 % English: 3 to 30 words drawn from ENGLISH_WORDS with Zipf weights
 *   by rank (s = 1); 3 % of messages hold one of PHRASES, 2 % one of the
 *   RARE words (each in about 1 in 50,000 messages);
 * - 5 % CJK: 2 to 8 words of CJK_WORDS written without spaces (Chinese,
 *   Japanese), now and then with an English word.
 * The index is then built by the backfill (search/backfill.ts), as on an
 * installation upgraded to search: `indexSearch`.
 */

export const SEARCH_SEED_SOURCES = [
  "src/server/store/migrations",
  "src/server/auth/credentials.ts",
  "src/server/events/log.ts",
  "src/shared/protocol/frames.ts",
  "bench/targets/parley-search-seed.ts",
  "bench/scenarios/search-words.ts",
];
/** What decides the index's content on top of the seed: the terms, the index's SQL, the backfill. */
export const SEARCH_INDEX_SOURCES = ["src/server/search"];

/** Two-word phrases, each in about 0.3 % of messages. */
export const PHRASES = ["code review", "release notes", "merge conflict", "load balancer", "coffee break", "pull request", "stand up", "happy hour", "on call", "test plan"];
/** Rare words: each in about 1 in 50,000 messages. */
export const RARE = ["quokka", "zeppelin", "marzipan", "tangram", "xylophone", "gazpacho", "kumquat", "fjord", "yodel", "wombat"];
/** CJK words: Chinese and Japanese, written without spaces. */
export const CJK_WORDS = [
  "数据库", "服务器", "部署", "测试", "发布", "问题", "用户", "搜索", "消息", "会议", "今天", "明天", "项目", "文档", "代码", "性能",
  "東京", "会議", "資料", "確認", "今日", "明日", "プロジェクト", "サーバー", "リリース", "テスト", "お願いします", "ありがとう", "検索", "データベース",
];

export interface SearchSeedMeta {
  users: SeededUser[];
  rooms: { id: string; messages: number }[];
  messages: number;
  /** How many messages hold each phrase and rare word, and CJK text. */
  counts: { phrases: Record<string, number>; rare: Record<string, number>; cjk: number };
}

type MessageCreated = z.infer<typeof MessageCreatedEventSchema>;
type MemberJoined = z.infer<typeof MemberJoinedEventSchema>;


/** Draws indexes 0…n−1 with weight 1/(rank+1)^s: a table of cumulative weights, searched by bisection. */
function zipf(n: number, s: number, rand: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) cumulative[i] = total += 1 / Math.pow(i + 1, s);
  return () => {
    const x = rand() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Writes `dataDir/parley.db`: accounts with API tokens, rooms, messages (not indexed). */
export async function seedSearchParley(
  dataDir: string,
  opts: { users: number; rooms: number; messages: number; log?: (s: string) => void },
): Promise<SearchSeedMeta> {
  const file = path.join(dataDir, "parley.db");
  fs.mkdirSync(dataDir, { recursive: true });
  const store = await openStore(`sqlite:${file}`, { sqliteSynchronous: "normal" });
  await closeStore(store);

  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  db.pragma("foreign_keys = OFF");
  const rand = seededRandom(18);
  const passwordHash = await hashPassword(SEED_PASSWORD);
  // A year of messages up to 2026-12-01.
  const end = Date.parse("2026-12-01T00:00:00.000Z");
  const step = Math.floor((365 * 24 * 3600 * 1000) / Math.max(1, opts.messages));
  const base = end - step * opts.messages;
  const iso = (ms: number) => new Date(ms).toISOString();

  const users: SeededUser[] = [];
  const insertUser = db.prepare(
    "INSERT INTO users (id, username, username_key, email, email_key, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insertToken = db.prepare("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, NULL)");
  const insertRoom = db.prepare(
    "INSERT INTO rooms (id, kind, name, topic, direct_key, created_by, created_at, last_seq, last_activity_at, last_message_id) VALUES (?, 'public', ?, '', NULL, ?, ?, 0, ?, NULL)",
  );
  const insertMember = db.prepare("INSERT INTO room_members (room_id, user_id, role, joined_at, last_read_seq) VALUES (?, ?, ?, ?, ?)");
  const insertEvent = db.prepare("INSERT INTO room_events (room_id, seq, type, frame, created_at) VALUES (?, ?, ?, ?, ?)");
  const insertMessage = db.prepare("INSERT INTO messages (id, room_id, seq, author_id, body, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const finishRoom = db.prepare("UPDATE rooms SET last_seq = ?, last_activity_at = ?, last_message_id = ? WHERE id = ?");

  const rooms: { id: string; seq: number; messages: number; lastMessageId: string | null; lastAt: number }[] = [];
  db.transaction(() => {
    for (let i = 0; i < opts.users; i++) {
      const id = uuidv7({ msecs: base - 1000 });
      const username = `searcher${i}`;
      const token = `prl_${randomBytes(32).toString("base64url")}`;
      insertUser.run(id, username, username, `${username}@bench.test`, `${username}@bench.test`, username, passwordHash, iso(base - 1000));
      insertToken.run(randomUUID(), id, "bench", hashSecret(token), iso(base - 1000));
      users.push({ id, username, token });
    }
    for (let r = 0; r < opts.rooms; r++) {
      const roomId = uuidv7({ msecs: base - 500 });
      insertRoom.run(roomId, `search room ${r}`, users[0]!.id, iso(base - 500), iso(base - 500));
      let seq = 0;
      for (const [index, u] of users.entries()) {
        const role = index === 0 ? "owner" : "member";
        seq++;
        const event: MemberJoined = {
          type: "member.joined",
          roomId,
          seq,
          member: { user: { id: u.id, username: u.username, displayName: u.username, createdAt: iso(base - 1000) }, role, joinedAt: iso(base - 500) },
        };
        insertMember.run(roomId, u.id, role, iso(base - 500), seq);
        insertEvent.run(roomId, seq, event.type, JSON.stringify(event), iso(base - 500));
      }
      rooms.push({ id: roomId, seq, messages: 0, lastMessageId: null, lastAt: base });
    }
  })();

  const word = zipf(ENGLISH_WORDS.length, 1, rand);
  const room = zipf(opts.rooms, 0.8, rand);
  const counts: SearchSeedMeta["counts"] = { phrases: Object.fromEntries(PHRASES.map((p) => [p, 0])), rare: Object.fromEntries(RARE.map((w) => [w, 0])), cjk: 0 };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const body = (): string => {
    if (rand() < 0.05) {
      counts.cjk++;
      const parts: string[] = [];
      const n = 2 + Math.floor(rand() * 7);
      for (let i = 0; i < n; i++) parts.push(pick(CJK_WORDS));
      if (rand() < 0.3) parts.splice(Math.floor(rand() * parts.length), 0, ` ${ENGLISH_WORDS[word()]} `);
      return parts.join("") + (rand() < 0.5 ? "。" : "");
    }
    // 3 to 30 words, most around 8–12.
    const n = Math.min(30, 3 + Math.floor(-Math.log(1 - rand()) * 8));
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(ENGLISH_WORDS[word()]!);
    if (rand() < 0.03) {
      const phrase = pick(PHRASES);
      counts.phrases[phrase]!++;
      words.splice(Math.floor(rand() * words.length), 0, phrase);
    }
    if (rand() < RARE.length / 50_000) {
      const rare = pick(RARE);
      counts.rare[rare]!++;
      words.splice(Math.floor(rand() * words.length), 0, rare);
    }
    const text = words.join(" ");
    return text.charAt(0).toUpperCase() + text.slice(1) + (rand() < 0.2 ? "?" : ".");
  };

  const BATCH = 50_000;
  for (let done = 0; done < opts.messages; done += BATCH) {
    db.transaction(() => {
      for (let i = done; i < Math.min(opts.messages, done + BATCH); i++) {
        const r = rooms[room()]!;
        const author = users[Math.floor(rand() * users.length)]!;
        const at = base + i * step;
        const seq = ++r.seq;
        const id = uuidv7({ msecs: at });
        const createdAt = iso(at);
        const clientId = randomUUID();
        const text = body();
        const event: MessageCreated = {
          type: "message.created",
          roomId: r.id,
          seq,
          message: { id, roomId: r.id, seq, author: { id: author.id, username: author.username, displayName: author.username }, body: text, clientId, createdAt },
        };
        insertEvent.run(r.id, seq, event.type, JSON.stringify(event), createdAt);
        insertMessage.run(id, r.id, seq, author.id, text, clientId, createdAt);
        r.messages++;
        r.lastMessageId = id;
        r.lastAt = at;
      }
    })();
    opts.log?.(`  seeded ${Math.min(opts.messages, done + BATCH).toLocaleString("en")} / ${opts.messages.toLocaleString("en")} messages`);
  }
  for (const r of rooms) finishRoom.run(r.seq, iso(r.lastAt), r.lastMessageId, r.id);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { users, rooms: rooms.map((r) => ({ id: r.id, messages: r.messages })), messages: opts.messages, counts };
}

/**
 * Builds the search index of the database at `url` with the backfill the
 * server runs after an upgrade (search/backfill.ts), in batches of `batch`
 * with no pause, in this process.
 * @returns messages indexed and the time it took (ms)
 */
export async function indexSearch(url: string, opts: { batch: number; log?: (s: string) => void }): Promise<{ indexed: number; ms: number }> {
  const store = await openStore(url, { sqliteSynchronous: "normal" });
  try {
    const backfill = new SearchBackfill({ config: {} as Config, store, log: pino({ level: "silent" }), cluster: null });
    const t0 = performance.now();
    let indexed = 0;
    let lastLog = t0;
    for (;;) {
      const batch = await backfill.batch(opts.batch);
      if (batch === null) continue;
      indexed += batch.indexed;
      if (batch.done) break;
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        opts.log?.(`  indexed ${indexed.toLocaleString("en")} messages (${Math.round((indexed * 1000) / (lastLog - t0)).toLocaleString("en")}/s)`);
      }
    }
    return { indexed, ms: Math.round(performance.now() - t0) };
  } finally {
    await closeStore(store);
  }
}

/** Closes a store, holding the event loop open meanwhile (its background threads are unref'd). */
async function closeStore(store: Store): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await store.close();
  } finally {
    clearInterval(keepAlive);
  }
}
