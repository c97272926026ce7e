import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { BENCH_DIR } from "../lib/proc.js";
import type { ClientSpec } from "../lib/types.js";
import { groupsOf, startServerProcess, type BenchContext, type MessagingSpec, type Prepared, type Target } from "./types.js";

/**
 * Socket.IO 4 + @socket.io/redis-adapter + one SQLite insert per message
 * (socketio-server.mjs). Its accounts (users with a token, rooms, members)
 * are written straight into its SQLite file before it starts: that is the
 * app's own schema, not Parley's.
 */

export const SOCKETIO_SERVER = path.join(BENCH_DIR, "targets", "socketio-server.mjs");

/** Creates the app's database with one user per client and their rooms; returns each client's token. */
export function seedSocketio(file: string, groups: number[][], prefix: string): string[] {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec(`
    CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, token TEXT NOT NULL UNIQUE);
    CREATE TABLE rooms (id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE room_members (room_id TEXT NOT NULL REFERENCES rooms(id), user_id TEXT NOT NULL REFERENCES users(id), PRIMARY KEY (room_id, user_id));
    CREATE INDEX room_members_user ON room_members (user_id);
    CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, room_id TEXT NOT NULL REFERENCES rooms(id), author_id TEXT NOT NULL REFERENCES users(id), body TEXT NOT NULL, client_id TEXT, created_at TEXT NOT NULL);
    CREATE INDEX messages_room ON messages (room_id, id);
  `);
  const tokens: string[] = [];
  const addUser = db.prepare("INSERT INTO users (id, username, display_name, token) VALUES (?, ?, ?, ?)");
  const addRoom = db.prepare("INSERT INTO rooms (id, name) VALUES (?, ?)");
  const addMember = db.prepare("INSERT INTO room_members (room_id, user_id) VALUES (?, ?)");
  db.transaction(() => {
    for (const members of groups) {
      for (const index of members) {
        const token = randomBytes(24).toString("base64url");
        tokens[index] = token;
        addUser.run(`u${index}`, `user${index}`, `user${index}`, token);
      }
    }
    groups.forEach((members, g) => {
      addRoom.run(`${prefix}${g}`, `${prefix}${g}`);
      for (const index of members) addMember.run(`${prefix}${g}`, `u${index}`);
    });
  })();
  db.close();
  return tokens;
}

async function prepare(ctx: BenchContext, groups: number[][], prefix: string): Promise<Prepared> {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(ctx.tmpDir, "socketio-"));
  const file = path.join(dir, "chat.db");
  const tokens = seedSocketio(file, groups, prefix);
  const seedMs = Date.now() - t0;
  const server = await startServerProcess(ctx, {
    name: "socketio",
    args: (port) => [SOCKETIO_SERVER, String(port)],
    env: { BENCH_DB: file, BENCH_REDIS_URL: ctx.redisUrl, BENCH_REDIS_KEY: `parley-bench-${ctx.runId}` },
    healthPath: "/healthz",
  });
  const clients = socketioClients(groups, prefix, server.port, tokens);
  return { server, clients, setup: { seedMs, startMs: Date.now() - t0 - seedMs } };
}

/** One Socket.IO client per user, grouped into rooms `<prefix><group>`, in user order; `port`: the server's (or its balancer's). */
export function socketioClients(groups: number[][], prefix: string, port: number, tokens: string[]): ClientSpec[] {
  const clients: ClientSpec[] = [];
  groups.forEach((members, g) => {
    members.forEach((index, slot) => {
      clients.push({
        index,
        url: `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
        auth: { token: tokens[index]! },
        roomId: `${prefix}${g}`,
        roomSize: members.length,
        slot,
      });
    });
  });
  return clients.sort((a, b) => a.index - b.index);
}

export const socketio: Target = {
  name: "socketio",
  protocol: "socketio",
  description: "Socket.IO 4 + @socket.io/redis-adapter + one SQLite insert per message (WAL, synchronous=FULL), token checked in SQLite at connect",
  messaging: (ctx: BenchContext, spec: MessagingSpec) => prepare(ctx, groupsOf(spec), spec.use === "direct" ? "d" : "r"),
  connections: (ctx: BenchContext, count: number, roomSize: number) => prepare(ctx, groupsOf({ clients: count, roomSize, use: "rooms" }), "r"),
};
