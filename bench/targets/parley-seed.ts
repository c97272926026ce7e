import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { openStore } from "@server/store/store.js";
import { hashSecret } from "@server/auth/credentials.js";
import { hashPassword } from "@server/auth/passwords.js";
import type { MessageCreatedEventSchema, MemberJoinedEventSchema } from "@shared/protocol/frames.js";
import type { z } from "zod";

/**
 * Writes a Parley database directly, for the sizes the API cannot fill in
 * reasonable time (a million messages; twenty thousand accounts). The schema
 * comes from Parley's own migrations (openStore runs them); rows follow what
 * the services write: each member's `member.joined` event takes the room's
 * next seq, then each message takes the next seq and its `message.created`
 * frame is stored in room_events exactly as the server would broadcast it
 * (src/server/events/log.ts, src/server/messages/service.ts,
 * src/server/rooms/service.ts). Tokens are real API tokens (`prl_` + 32
 * random bytes, stored as their SHA-256), so clients authenticate through
 * the normal path.
 */

export const SEED_PASSWORD = "bench-Quokka-harness-7";
/** Files whose change must invalidate a cached seeded database. */
export const SEED_SOURCES = [
  "src/server/store/migrations",
  "src/server/auth/credentials.ts",
  "src/server/events/log.ts",
  "src/shared/protocol/frames.ts",
  "bench/targets/parley-seed.ts",
];

export interface SeededUser {
  id: string;
  username: string;
  token: string;
}

export interface SeedMeta {
  users: SeededUser[];
  rooms: { id: string; members: number[]; lastSeq: number; messages: number }[];
}

type MessageCreated = z.infer<typeof MessageCreatedEventSchema>;
type MemberJoined = z.infer<typeof MemberJoinedEventSchema>;

const BODY_WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"];

/** A 64-character body, varied so that pages do not compress to nothing. */
function bodyFor(i: number): string {
  let s = `#${i}`;
  let k = i;
  while (s.length < 64) {
    s += ` ${BODY_WORDS[k % BODY_WORDS.length]}`;
    k = Math.floor(k / 3) + 7;
  }
  return s.slice(0, 64);
}

/**
 * Seeds `dataDir/parley.db`: `users` accounts with one API token each, in
 * rooms of `roomSize` (the first member owns the room); the first room gets
 * `messages` messages by its members in turn.
 */
export async function seedParley(dataDir: string, opts: { users: number; roomSize: number; messages: number; log?: (s: string) => void }): Promise<SeedMeta> {
  const file = path.join(dataDir, "parley.db");
  fs.mkdirSync(dataDir, { recursive: true });
  const store = await openStore(`sqlite:${file}`, { sqliteSynchronous: "normal" });
  // Hold the event loop open while the store closes: its background threads are unref'd, and a
  // close that only waits on them would otherwise let Node exit in the middle of the await.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    await store.close();
  } finally {
    clearInterval(keepAlive);
  }

  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  db.pragma("foreign_keys = OFF");

  const passwordHash = await hashPassword(SEED_PASSWORD);
  const base = Date.parse("2025-01-01T00:00:00.000Z");
  const iso = (ms: number) => new Date(ms).toISOString();

  const users: SeededUser[] = [];
  const insertUser = db.prepare(
    "INSERT INTO users (id, username, username_key, email, email_key, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insertToken = db.prepare("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, NULL)");
  db.transaction(() => {
    for (let i = 0; i < opts.users; i++) {
      const id = randomUUID();
      const username = `bench${i}`;
      const token = `prl_${randomBytes(32).toString("base64url")}`;
      insertUser.run(id, username, username, `${username}@bench.test`, `${username}@bench.test`, username, passwordHash, iso(base));
      insertToken.run(randomUUID(), id, "bench", hashSecret(token), iso(base));
      users.push({ id, username, token });
    }
  })();

  const insertRoom = db.prepare(
    "INSERT INTO rooms (id, kind, name, topic, direct_key, created_by, created_at, last_seq, last_activity_at, last_message_id) VALUES (?, 'public', ?, '', NULL, ?, ?, 0, ?, NULL)",
  );
  const insertMember = db.prepare("INSERT INTO room_members (room_id, user_id, role, joined_at, last_read_seq) VALUES (?, ?, ?, ?, ?)");
  const insertEvent = db.prepare("INSERT INTO room_events (room_id, seq, type, frame, created_at) VALUES (?, ?, ?, ?, ?)");
  const insertMessage = db.prepare("INSERT INTO messages (id, room_id, seq, author_id, body, client_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const finishRoom = db.prepare("UPDATE rooms SET last_seq = ?, last_activity_at = ?, last_message_id = ? WHERE id = ?");

  const rooms: SeedMeta["rooms"] = [];
  for (let start = 0, r = 0; start < opts.users; start += opts.roomSize, r++) {
    const members = Array.from({ length: Math.min(opts.roomSize, opts.users - start) }, (_, k) => start + k);
    const roomId = randomUUID();
    const messages = r === 0 ? opts.messages : 0;
    let seq = 0;
    let at = base;
    let lastMessageId: string | null = null;
    db.transaction(() => {
      insertRoom.run(roomId, `bench room ${r}`, users[members[0]!]!.id, iso(at), iso(at));
      for (const index of members) {
        const u = users[index]!;
        const role = index === members[0] ? "owner" : "member";
        seq++;
        const event: MemberJoined = {
          type: "member.joined",
          roomId,
          seq,
          member: { user: { id: u.id, username: u.username, displayName: u.username, createdAt: iso(base) }, role, joinedAt: iso(at) },
        };
        insertMember.run(roomId, u.id, role, iso(at), seq);
        insertEvent.run(roomId, seq, event.type, JSON.stringify(event), iso(at));
      }
    })();
    const BATCH = 50_000;
    for (let done = 0; done < messages; done += BATCH) {
      db.transaction(() => {
        for (let i = done; i < Math.min(messages, done + BATCH); i++) {
          const author = users[members[i % members.length]!]!;
          seq++;
          at += 1000;
          const id = randomUUID();
          const createdAt = iso(at);
          const clientId = randomUUID();
          const body = bodyFor(i);
          const event: MessageCreated = {
            type: "message.created",
            roomId,
            seq,
            message: { id, roomId, seq, author: { id: author.id, username: author.username, displayName: author.username }, body, clientId, createdAt },
          };
          insertEvent.run(roomId, seq, event.type, JSON.stringify(event), createdAt);
          insertMessage.run(id, roomId, seq, author.id, body, clientId, createdAt);
          lastMessageId = id;
        }
      })();
      opts.log?.(`  seeded ${Math.min(messages, done + BATCH).toLocaleString("en")} / ${messages.toLocaleString("en")} messages`);
    }
    finishRoom.run(seq, iso(at), lastMessageId, roomId);
    rooms.push({ id: roomId, members, lastSeq: seq, messages });
  }
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { users, rooms };
}
