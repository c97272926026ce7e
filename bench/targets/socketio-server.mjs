// Socket.IO 4 the way most Node chat apps run it: @socket.io/redis-adapter
// (so that more nodes could be added), a token checked against SQLite at
// connect, the user's rooms joined from SQLite, and one SQLite insert per
// message before the broadcast and the ack. SQLite is WAL with
// synchronous=FULL, the same durability as Parley's default (override with
// BENCH_SQLITE_SYNCHRONOUS). Started by bench/targets/socketio.ts.
import http from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import Database from "better-sqlite3";

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const host = process.env.HOST ?? "127.0.0.1";
const dbFile = process.env.BENCH_DB;
const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const redisKey = process.env.BENCH_REDIS_KEY ?? "parley-bench";
if (!dbFile) throw new Error("BENCH_DB is required");

const db = new Database(dbFile);
db.pragma("journal_mode = WAL");
db.pragma(`synchronous = ${process.env.BENCH_SQLITE_SYNCHRONOUS ?? "FULL"}`);
const userByToken = db.prepare("SELECT id, username, display_name FROM users WHERE token = ?");
const roomsOf = db.prepare("SELECT room_id FROM room_members WHERE user_id = ?");
const insert = db.prepare("INSERT INTO messages (room_id, author_id, body, client_id, created_at) VALUES (?, ?, ?, ?, ?)");

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    return;
  }
  // socket.io answers its own path; everything else is 404.
  if (!req.url?.startsWith("/socket.io/")) res.writeHead(404).end();
});

const io = new Server(server, {
  transports: ["websocket"],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 1 << 20,
});

const pub = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
const sub = pub.duplicate();
io.adapter(createAdapter(pub, sub, { key: redisKey }));

io.use((socket, next) => {
  const token = socket.handshake.auth?.token;
  const user = typeof token === "string" ? userByToken.get(token) : undefined;
  if (!user) return next(new Error("unauthorized"));
  socket.data.user = user;
  next();
});

io.on("connection", (socket) => {
  const user = socket.data.user;
  const author = { id: user.id, username: user.username, displayName: user.display_name };
  socket.join(roomsOf.all(user.id).map((r) => r.room_id));
  socket.on("message.send", (cmd, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    if (!cmd || typeof cmd.roomId !== "string" || typeof cmd.body !== "string") return reply({ error: "validation_failed" });
    if (!socket.rooms.has(cmd.roomId)) return reply({ error: "forbidden" });
    const createdAt = new Date().toISOString();
    const clientId = typeof cmd.clientId === "string" ? cmd.clientId : null;
    const { lastInsertRowid } = insert.run(cmd.roomId, user.id, cmd.body, clientId, createdAt);
    const message = { id: String(lastInsertRowid), roomId: cmd.roomId, author, body: cmd.body, clientId, createdAt };
    io.to(cmd.roomId).emit("message.created", { roomId: cmd.roomId, message });
    reply({ message });
  });
});

server.listen(port, host);

const stop = () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  db.close();
  setTimeout(() => process.exit(0), 500).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
