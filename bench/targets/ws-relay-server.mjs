// The bare `ws` relay: the ceiling for a Node chat server. No auth, no
// persistence: a socket names its room in the URL (?room=…&user=…); a
// `message.send` is parsed, turned into a `message.created` frame of the
// same shape as Parley's (serialized and encoded once), written to every
// socket of the room (the sender's too, as Parley does) and acked.
// Started by bench/targets/ws-relay.ts; port as the first argument, HOST from the environment.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const host = process.env.HOST ?? "127.0.0.1";

/** @type {Map<string, Set<import("ws").WebSocket>>} */
const rooms = new Map();
/** @type {Map<string, number>} */
const seqs = new Map();

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    return;
  }
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 1 << 20 });

wss.on("connection", (ws, req) => {
  const url = new URL(req.url ?? "/", "http://x");
  const roomId = url.searchParams.get("room") ?? "lobby";
  const user = url.searchParams.get("user") ?? "anon";
  const author = { id: `u${user}`, username: `user${user}`, displayName: `user${user}` };
  let set = rooms.get(roomId);
  if (!set) rooms.set(roomId, (set = new Set()));
  set.add(ws);
  ws.on("close", () => {
    set.delete(ws);
    if (set.size === 0) rooms.delete(roomId);
  });
  ws.on("message", (data) => {
    let cmd;
    try {
      cmd = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (cmd.type !== "message.send" || typeof cmd.roomId !== "string") return;
    const members = rooms.get(cmd.roomId);
    if (!members || !members.has(ws)) {
      ws.send(JSON.stringify({ type: "error", id: cmd.id ?? null, code: "forbidden", message: "Not in that room." }));
      return;
    }
    const seq = (seqs.get(cmd.roomId) ?? 0) + 1;
    seqs.set(cmd.roomId, seq);
    const message = { id: randomUUID(), roomId: cmd.roomId, seq, author, body: cmd.body, clientId: cmd.clientId ?? null, createdAt: new Date().toISOString() };
    const frame = Buffer.from(JSON.stringify({ type: "message.created", roomId: cmd.roomId, seq, message }));
    for (const peer of members) peer.send(frame, { binary: false });
    ws.send(JSON.stringify({ type: "ack", id: cmd.id, message }));
  });
  ws.send('{"type":"ready"}');
});

server.listen(port, host);

const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Never outlive the harness that started it.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
