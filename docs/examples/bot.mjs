// echo-bot: answers "!echo <text>" with "<text>" in every room its user is a member of.
//
//   npm install ws
//   PARLEY_URL=http://localhost:3000 PARLEY_TOKEN=prl_… node bot.mjs
//
// It follows the reconnect procedure of docs/protocol.md §5.7: after each
// `ready` it lists its rooms over HTTP (so rooms joined while it was away are
// resumed too), resumes every room, holds room events until the resume acks
// and applies them in seq order. Replies carry a clientId derived from the
// message answered, so a reply sent again after a reconnect is stored once.
// Parley's test suite runs this file against a real server.
import WebSocket from "ws";

const base = (process.env.PARLEY_URL ?? "http://localhost:3000").replace(/\/$/, "");
const auth = { Authorization: `Bearer ${process.env.PARLEY_TOKEN}` };
const reconnectMs = Number(process.env.PARLEY_RECONNECT_MS ?? 2000);

const cursor = new Map(); // roomId → last seq applied (persist it to survive restarts)
const answering = new Set(); // rooms whose new messages the bot answers
let firstRun = true; // on the very first connect, history from before the bot ran is not answered
let me = null;
let nextId = 0;

async function api(method, path) {
  const res = await fetch(`${base}/api/v1${path}`, { method, headers: auth });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

function connect() {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws`, { headers: auth });
  const command = (frame) => {
    const id = `c${++nextId}`;
    ws.send(JSON.stringify({ ...frame, id }));
    return id;
  };
  let held = []; // room events received before every resume ack; null once they are applied
  const resumes = new Set(); // ids of resume commands not acked yet
  const acked = {}; // roomId → seq the resume acks report

  function apply(event) {
    if (event.seq <= (cursor.get(event.roomId) ?? 0)) return; // applied already
    cursor.set(event.roomId, event.seq); // any type counts, even one this bot does not know
    if (event.type === "member.joined" && event.member.user.id === me) answering.add(event.roomId);
    if (event.type === "member.left" && event.userId === me) {
      answering.delete(event.roomId);
      cursor.delete(event.roomId);
    }
    if (event.type === "message.created" && answering.has(event.roomId)) answer(event.message);
  }

  function answer(message) {
    if (message.author.id === me || !message.body.startsWith("!echo ")) return;
    command({ type: "message.send", roomId: message.roomId, body: message.body.slice(6), clientId: `echo-${message.id}` });
  }

  function release() {
    // One room's held events can be two ascending runs (live ones, then replayed ones): sort, then apply.
    held.sort((a, b) => a.seq - b.seq).forEach(apply);
    held = null;
    for (const [roomId, seq] of Object.entries(acked)) if (cursor.has(roomId) && seq > cursor.get(roomId)) cursor.set(roomId, seq);
    console.log(`resumed ${cursor.size} rooms`);
  }

  async function onReady(user) {
    me = user.id;
    console.log(`connected as ${user.username}`);
    // Every room I am in, with its lastSeq: rooms joined while away have no cursor yet.
    const { rooms } = await api("GET", "/rooms");
    for (const room of rooms) {
      if (cursor.has(room.id)) continue;
      if (firstRun) {
        cursor.set(room.id, room.lastSeq); // start from now
        answering.add(room.id);
      } else {
        cursor.set(room.id, 0); // replay it whole; answer from my own member.joined on
      }
    }
    firstRun = false;
    const entries = [...cursor];
    for (let i = 0; i < entries.length; i += 1000) resumes.add(command({ type: "resume", rooms: Object.fromEntries(entries.slice(i, i + 1000)) }));
    if (resumes.size === 0) release();
  }

  ws.on("message", (data) => {
    const frame = JSON.parse(data);
    if (frame.type === "ready") {
      onReady(frame.user).catch((err) => {
        console.error(err.message);
        ws.terminate(); // reconnect and try again
      });
    } else if (frame.type === "ack" && resumes.has(frame.id)) {
      resumes.delete(frame.id);
      Object.assign(acked, frame.rooms);
      for (const roomId of frame.gone ?? []) {
        cursor.delete(roomId);
        answering.delete(roomId);
      }
      if (resumes.size === 0) release();
    } else if (frame.type === "error") {
      console.error(`error ${frame.id}: ${frame.code} ${frame.message}`);
    } else if (typeof frame.seq === "number") {
      if (held) held.push(frame);
      else apply(frame);
    }
  });
  ws.on("error", (err) => console.error(err.message));
  ws.on("close", (code) => {
    console.log(`closed ${code}`);
    if (code === 4401) process.exit(1); // the token was revoked: reconnecting would not help
    setTimeout(connect, code === 4429 ? 10 * reconnectMs : reconnectMs);
  });
}

connect();
