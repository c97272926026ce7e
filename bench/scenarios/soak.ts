import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { summarizeSamples, type LatencySummary } from "../lib/hist.js";
import { cpuTimeUs, memoryOf, setProcessNice, sleep, threadCpuUs } from "../lib/proc.js";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { quantileBetween, scrapeMetrics, type Scrape } from "../lib/prom-text.js";
import { startParley, parleyWsUrl } from "../targets/parley.js";
import { pool, type BenchContext, type ServerHandle } from "../targets/types.js";
import { seededRandom } from "../lib/random.js";

/**
 * soak: a long mixed run of one Parley node, at a configurable scale, to
 * find what holds its event loop (issue 16 item 15b). People signed up over
 * HTTP share public rooms and direct conversations; for `durationMs` an open
 * loop sends, edits, deletes and reacts at `writesPerSec`, with typing
 * before sends and read/delivered receipts on what arrives, while churn
 * runs beside it: sockets closed and reopened with a multi-room `resume`
 * (some from cursors taken at the start: a reload of an old tab, whose
 * catch-up grows with the run), each reconnect also fetching GET /rooms and
 * a history page; password logins opening cookie sockets that later log
 * out; leaves and rejoins of public rooms. Every `windowMs` the harness
 * scrapes the node's metrics and reports the window: event-loop max delay,
 * stalls the node logged ("event loop blocked N ms"), group commits and
 * fsyncs over 100 ms, and the send-ack p99 seen by the clients.
 */

export interface SoakOptions {
  people: number;
  conversations: number;
  /** Share of the conversations that are public rooms (the rest are direct ones). */
  publicShare: number;
  /** Members of a public room: uniform between these. */
  roomSize: [number, number];
  durationMs: number;
  windowMs: number;
  /** Writes per second (sends, edits, deletions, reactions), offered on a fixed schedule. */
  writesPerSec: number;
  /** Sockets closed and reopened with a resume, per second. */
  reconnectsPerSec: number;
  /** Share of reconnects that resume from the cursors taken at the start (an old tab reloaded). */
  oldCursorShare: number;
  /** Password logins (argon2 verify) per second, each opening a cookie socket that logs out `sessionMs` later. */
  loginsPerSec: number;
  sessionMs: number;
  /** Leaves of a public room per second, each rejoined `rejoinMs` later. */
  leavesPerSec: number;
  rejoinMs: number;
  /**
   * Scheduling priority (nice) for every thread of the server and of the harness, or null to
   * leave it. On a machine shared with other work, the server's thread
   * otherwise waits for a CPU for seconds at a time, and those waits, not
   * the code, are most of its stalls (the split in the stall lines shows
   * it); a negative nice (root) takes them out, so what is left is the
   * code's.
   */
  serverNice: number | null;
}

/** One ten-second (windowMs) window of the run. */
export interface SoakWindow {
  /** Seconds since the load started, at the window's end. */
  atS: number;
  writesSent: number;
  writesAcked: number;
  writeErrors: number;
  /** Writes whose socket closed (a reconnect, a logout) before their ack: never answered on it, by design. */
  writesCut: number;
  /** Command → ack of every write acked in the window, ms (the client's clock: includes the client's own delays, see `clientLoopMaxMs`). */
  ack: LatencySummary;
  /**
   * The server's side of a write's wait, from its histograms (approximate
   * p99, ms): a group commit's queue wait and its fsync. Acks slower than
   * these by far were late in the client or on the wire.
   */
  serverQueueP99Ms: number | null;
  serverFsyncP99Ms: number | null;
  /** The harness's own event-loop max delay in the window (ms): a starved client reads acks late. */
  clientLoopMaxMs: number;
  socketsOpened: number;
  resumes: number;
  logins: number;
  logouts: number;
  leaves: number;
  joins: number;
  httpReads: number;
  /** Slowest HTTP request of the window (login, GET /rooms, history page, join, leave), ms. */
  httpMaxMs: number | null;
  /** nodejs_eventloop_lag_max_seconds of the scrape (prom-client resets it at each scrape), ms. */
  loopMaxMs: number | null;
  /** "event loop blocked N ms" lines the node logged in the window. */
  stallsMs: number[];
  /**
   * The same stalls split by the main thread's scheduler counters: on a CPU
   * (our own synchronous work), waiting for one (other processes had it),
   * asleep in a call; a stall is the code's when `cpuMs` is most of it.
   */
  stalls: LoggedStall[];
  /** Stalls whose on-CPU time alone was ≥ 100 ms: synchronous work of the node, whatever the machine did. */
  workStalls: number;
  /** "slow query" lines (≥ 100 ms) logged in the window. */
  slowQueries: { ms: number; sql: string }[];
  /** Group commits in the window, those that ran ≥ 100 ms, and the upper bound of the slowest one's bucket (ms). */
  batches: number | null;
  batchesOver100ms: number | null;
  batchRunMaxMs: number | null;
  fsyncsOver100ms: number | null;
  fsyncMaxMs: number | null;
  /** Upper bound of the slowest database query's bucket (Kysely queries; the writer's synchronous steps are not queries), ms. */
  queryMaxMs: number | null;
  serverCpuPct: number | null;
  /** Main-thread (event loop) CPU, % of a core. */
  mainThreadCpuPct: number | null;
  dbBytes: number | null;
  walBytes: number | null;
  rssBytes: number | null;
}

export interface SoakResult {
  target: "parley";
  setup: Record<string, number | string | boolean>;
  options: SoakOptions;
  windows: SoakWindow[];
  totals: {
    writesSent: number;
    writesAcked: number;
    writeErrors: number;
    writesCut: number;
    /** Writes still unanswered at the end, on sockets still open. */
    writesUnanswered: number;
    ack: LatencySummary;
    socketsOpened: number;
    resumes: number;
    logins: number;
    leaves: number;
    stalls: number;
    /** Stalls with ≥ 100 ms on the CPU (see SoakWindow.workStalls). */
    workStalls: number;
    /** Of all stalls' time, the share spent waiting for a CPU (other processes), %; null off Linux. */
    stallWaitPct: number | null;
    windowsWithStall: number;
    maxStallMs: number | null;
    batchesOver100ms: number;
    fsyncsOver100ms: number;
  };
  /** The CPU profile of the server (BENCH_PARLEY_NODE_ARGS=--cpu-prof), summarised by bench/lib/cpu-profile.ts when one was written. */
  logFile: string;
  error?: string;
}

const PASSWORD = "soak-Wombat-harness-31";

interface Person {
  index: number;
  username: string;
  id: string;
  token: string;
  rooms: string[];
  /** Public rooms this person may leave and rejoin. */
  publicRooms: string[];
  /** Highest seq seen per room. */
  cursor: Map<string, number>;
  /** The cursors at the start of the load: an old tab's. */
  oldCursor: Map<string, number>;
  socket: WebSocket | null;
  /** Own messages (id, room), newest last, for edits, deletions and reactions. */
  own: { id: string; roomId: string }[];
  /** Rooms left and not yet rejoined: no writes there. */
  away: Set<string>;
}

interface Call<T> {
  status: number;
  body: T;
  cookie: string | null;
  ms: number;
}

async function call<T>(base: string, method: string, urlPath: string, opts: { bearer?: string; cookie?: string; csrf?: string; body?: unknown } = {}): Promise<Call<T>> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers["x-csrf-token"] = opts.csrf;
  const t0 = performance.now();
  const res = await fetch(`${base}/api/v1${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${text.slice(0, 300)}`);
  const setCookie = res.headers.get("set-cookie");
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, cookie: setCookie ? setCookie.split(";")[0]! : null, ms };
}


async function makePeople(ctx: BenchContext, base: string, opts: SoakOptions, rnd: () => number): Promise<Person[]> {
  const t0 = Date.now();
  const made = await pool(
    Array.from({ length: opts.people }, (_, i) => i),
    4,
    async (i): Promise<Person> => {
      const username = `soak${i}`;
      const signup = await call<{ user: { id: string }; csrfToken: string }>(base, "POST", "/auth/signup", {
        body: { email: `${username}@soak.test`, username, password: PASSWORD, passwordConfirm: PASSWORD },
      });
      const token = await call<{ token: string }>(base, "POST", "/tokens", { cookie: signup.cookie ?? "", csrf: signup.body.csrfToken, body: { name: "soak" } });
      return { index: i, username, id: signup.body.user.id, token: token.body.token, rooms: [], publicRooms: [], cursor: new Map(), oldCursor: new Map(), socket: null, own: [], away: new Set() };
    },
  );
  ctx.log(`soak: signed up ${opts.people} people in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const publics = Math.max(1, Math.round(opts.conversations * opts.publicShare));
  const pick = (n: number): number[] => {
    const set = new Set<number>();
    while (set.size < Math.min(n, made.length)) set.add(Math.floor(rnd() * made.length));
    return [...set];
  };
  for (let r = 0; r < publics; r++) {
    const size = opts.roomSize[0] + Math.floor(rnd() * (opts.roomSize[1] - opts.roomSize[0] + 1));
    const members = pick(size);
    const owner = made[members[0]!]!;
    const room = await call<{ room: { id: string } }>(base, "POST", "/rooms", { bearer: owner.token, body: { name: `soak room ${r}`, kind: "public" } });
    const id = room.body.room.id;
    await pool(members.slice(1), 4, (m) => call(base, "POST", `/rooms/${id}/join`, { bearer: made[m]!.token }));
    for (const m of members) {
      made[m]!.rooms.push(id);
      if (m !== members[0]) made[m]!.publicRooms.push(id);
    }
  }
  const pairs = new Set<string>();
  while (pairs.size < opts.conversations - publics) {
    const [a, b] = pick(2);
    if (a === undefined || b === undefined) break;
    pairs.add(a < b ? `${a},${b}` : `${b},${a}`);
  }
  await pool([...pairs], 4, async (pair) => {
    const [a, b] = pair.split(",").map(Number) as [number, number];
    const room = await call<{ room: { id: string } }>(base, "POST", "/direct", { bearer: made[a]!.token, body: { userId: made[b]!.id } });
    made[a]!.rooms.push(room.body.room.id);
    made[b]!.rooms.push(room.body.room.id);
  });
  ctx.log(`soak: ${publics} public rooms, ${pairs.size} direct conversations ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return made;
}

/** Window counters, reset at each window's end. */
class Counters {
  writesSent = 0;
  writesAcked = 0;
  writeErrors = 0;
  writesCut = 0;
  acks: number[] = [];
  socketsOpened = 0;
  resumes = 0;
  logins = 0;
  logouts = 0;
  leaves = 0;
  joins = 0;
  httpReads = 0;
  httpMaxMs: number | null = null;
  http(ms: number): void {
    this.httpMaxMs = Math.max(this.httpMaxMs ?? 0, ms);
  }
}

const SEQ_EVENTS = new Set(["message.created", "message.edited", "message.deleted", "reaction.added", "reaction.removed", "member.joined", "member.left"]);

/** The upper bound (ms) of the highest bucket that grew between two scrapes; null when nothing was observed. */
function maxBucketMs(a: Scrape, b: Scrape, name: string): number | null {
  const before = new Map(a.buckets(name).map((x) => [x.le, x.count]));
  const after = b.buckets(name);
  let prev = 0;
  let top: number | null = null;
  for (const x of after) {
    const grown = x.count - (before.get(x.le) ?? 0);
    if (grown > prev) top = x.le;
    prev = grown;
  }
  if (top === Infinity) {
    const finite = after.filter((x) => x.le !== Infinity).at(-1);
    return finite ? finite.le * 1000 : null;
  }
  return top === null ? null : top * 1000;
}

const msOf = (seconds: number | null): number | null => (seconds === null ? null : Math.round(seconds * 10_000) / 10);

/** Observations between two scrapes above `leSeconds` (a bucket bound). */
function countOver(a: Scrape, b: Scrape, name: string, leSeconds: number): number {
  const grown = (s: Scrape, le: number) => s.buckets(name).find((x) => x.le === le)?.count ?? 0;
  const total = (b.value(`${name}_count`) ?? 0) - (a.value(`${name}_count`) ?? 0);
  return total - (grown(b, leSeconds) - grown(a, leSeconds));
}

/** One "event loop blocked" line of the node's log (src/server/metrics/event-loop.ts), ms; the split is null off Linux. */
export interface LoggedStall {
  ms: number;
  cpuMs: number | null;
  waitMs: number | null;
  offCpuMs: number | null;
}

/**
 * The stalls ("event loop blocked N ms") and slow queries ("slow query N
 * ms") logged in the server's log since `offset`; returns them and the new
 * offset.
 */
export function readServerLog(logFile: string, offset: number): { stalls: LoggedStall[]; slowQueries: { ms: number; sql: string }[]; offset: number } {
  const size = fs.statSync(logFile).size;
  if (size <= offset) return { stalls: [], slowQueries: [], offset };
  const fd = fs.openSync(logFile, "r");
  const buf = Buffer.alloc(size - offset);
  fs.readSync(fd, buf, 0, buf.length, offset);
  fs.closeSync(fd);
  const text = buf.toString("utf8");
  const end = text.lastIndexOf("\n") + 1;
  const stalls: LoggedStall[] = [];
  const slowQueries: { ms: number; sql: string }[] = [];
  for (const line of text.slice(0, end).split("\n")) {
    if (!line.includes('"blockedMs"') && !line.includes('"queryMs"')) continue;
    let entry: { blockedMs?: number; cpuMs?: number; waitMs?: number; offCpuMs?: number; queryMs?: number; sql?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.blockedMs !== undefined) stalls.push({ ms: entry.blockedMs, cpuMs: entry.cpuMs ?? null, waitMs: entry.waitMs ?? null, offCpuMs: entry.offCpuMs ?? null });
    if (entry.queryMs !== undefined) slowQueries.push({ ms: entry.queryMs, sql: entry.sql ?? "" });
  }
  return { stalls, slowQueries, offset: offset + Buffer.byteLength(text.slice(0, end)) };
}

export async function runSoak(ctx: BenchContext, opts: SoakOptions): Promise<SoakResult> {
  const rnd = seededRandom(16_15);
  const dataDir = path.join(ctx.tmpDir, "soak-data");
  fs.mkdirSync(dataDir, { recursive: true });
  const t0 = Date.now();
  const server = await startParley(ctx, dataDir, { metrics: true, timeoutMs: 60_000 });
  const base = server.httpUrl;
  // Threads start later too (libuv's pool at its first job): set again at each window.
  // The harness too: a client starved of its CPU reads acks late, and its ack latencies then describe the machine.
  const renice = (): void => {
    if (opts.serverNice === null) return;
    if (!setProcessNice(server.pid, opts.serverNice) || !setProcessNice(process.pid, opts.serverNice)) ctx.log(`soak: could not set nice ${opts.serverNice}`);
  };
  renice();
  const result: SoakResult = {
    target: "parley",
    setup: { startMs: Date.now() - t0 },
    options: opts,
    windows: [],
    totals: { writesSent: 0, writesAcked: 0, writeErrors: 0, writesCut: 0, writesUnanswered: 0, ack: summarizeSamples([]), socketsOpened: 0, resumes: 0, logins: 0, leaves: 0, stalls: 0, workStalls: 0, stallWaitPct: null, windowsWithStall: 0, maxStallMs: null, batchesOver100ms: 0, fsyncsOver100ms: 0 },
    logFile: server.logFile,
  };
  const open = new Set<WebSocket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  try {
    const people = await makePeople(ctx, base, opts, rnd);
    result.setup.setupMs = Date.now() - t0;
    const c = new Counters();
    const allAcks: number[] = [];
    let cmd = 0;
    /** Commands in flight by id: sent at (performance.now()), and what to do with the ack. */
    const inflight = new Map<string, { at: number; write: boolean; ws: WebSocket; onAck?: (frame: Record<string, unknown>) => void }>();
    /** A closed socket gets no more acks: its writes in flight are counted as cut, not lost. */
    const cut = (ws: WebSocket): void => {
      for (const [id, f] of inflight) {
        if (f.ws !== ws) continue;
        inflight.delete(id);
        if (f.write) c.writesCut++;
      }
    };

    const onFrame = (p: Person | null, ws: WebSocket, data: Buffer): void => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown> & { type: string };
      if (frame.type === "ack" || frame.type === "error") {
        const id = frame.id as string;
        const f = inflight.get(id);
        if (!f) return;
        inflight.delete(id);
        if (frame.type === "error") {
          if (f.write) c.writeErrors++;
          return;
        }
        if (f.write) {
          // µs, as summarizeSamples takes them.
          const us = (performance.now() - f.at) * 1000;
          c.writesAcked++;
          c.acks.push(us);
          allAcks.push(us);
        }
        f.onAck?.(frame);
        return;
      }
      if (!p || !SEQ_EVENTS.has(frame.type)) return;
      // (the final wait may still see acks after the last window)
      const roomId = frame.roomId as string;
      const seq = frame.seq as number;
      if (seq > (p.cursor.get(roomId) ?? 0)) p.cursor.set(roomId, seq);
      // Receipts, as a client does: delivered for most arrivals, read for some.
      if (frame.type === "message.created" && ws.readyState === WebSocket.OPEN) {
        const r = rnd();
        if (r < 0.3) ws.send(JSON.stringify({ type: "room.delivered", roomId, seq }));
        else if (r < 0.4) ws.send(JSON.stringify({ type: "room.read", id: `r${++cmd}`, roomId, seq }));
      }
    };

    const command = (ws: WebSocket, frame: Record<string, unknown>, write: boolean, onAck?: (f: Record<string, unknown>) => void): void => {
      const id = `c${++cmd}`;
      inflight.set(id, { at: performance.now(), write, ws, onAck });
      ws.send(JSON.stringify({ ...frame, id }));
    };

    /** Opens a socket (Bearer, or a session cookie) and resumes every room of the person from `from`. */
    const connect = (p: Person | null, auth: { bearer: string } | { cookie: string }, from: Map<string, number> | null, rooms: string[]): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = "bearer" in auth ? { authorization: `Bearer ${auth.bearer}` } : { cookie: auth.cookie, origin: base };
        const ws = new WebSocket(parleyWsUrl(server), { headers, perMessageDeflate: false });
        open.add(ws);
        c.socketsOpened++;
        ws.on("message", (data: Buffer) => {
          const text = data.toString();
          if (text.startsWith('{"type":"ready"')) {
            if (from) {
              c.resumes++;
              command(ws, { type: "resume", rooms: Object.fromEntries(rooms.map((r) => [r, from.get(r) ?? 0])) }, false);
            }
            resolve(ws);
            return;
          }
          onFrame(p, ws, data);
        });
        ws.on("close", () => {
          open.delete(ws);
          cut(ws);
        });
        ws.on("error", (err) => {
          open.delete(ws);
          reject(err);
        });
      });

    ctx.log(`soak: opening ${people.length} sockets`);
    await pool(people, 20, async (p) => {
      p.socket = await connect(p, { bearer: p.token }, new Map(), p.rooms);
    });
    await sleep(1_000);
    for (const p of people) p.oldCursor = new Map(p.cursor);

    const writers = people.filter((p) => p.rooms.length > 0);
    const write = (): void => {
      const p = writers[Math.floor(rnd() * writers.length)]!;
      const ws = p.socket;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const rooms = p.rooms.filter((r) => !p.away.has(r));
      if (rooms.length === 0) return;
      const r = rnd();
      const mine = p.own.filter((m) => !p.away.has(m.roomId));
      c.writesSent++;
      if (r < 0.12 && mine.length > 0) {
        const m = mine[Math.floor(rnd() * mine.length)]!;
        command(ws, { type: "message.edit", roomId: m.roomId, messageId: m.id, body: `edited ${cmd} ${"e".repeat(Math.floor(rnd() * 120))}` }, true);
      } else if (r < 0.17 && mine.length > 0) {
        const m = mine.splice(Math.floor(rnd() * mine.length), 1)[0]!;
        p.own = p.own.filter((x) => x.id !== m.id);
        command(ws, { type: "message.delete", roomId: m.roomId, messageId: m.id }, true);
      } else if (r < 0.3 && mine.length > 0) {
        const m = mine[Math.floor(rnd() * mine.length)]!;
        command(ws, { type: rnd() < 0.7 ? "reaction.add" : "reaction.remove", roomId: m.roomId, messageId: m.id, emoji: ["👍", "🎉", "😂", "❤️"][Math.floor(rnd() * 4)] }, true);
      } else {
        const roomId = rooms[Math.floor(rnd() * rooms.length)]!;
        ws.send(JSON.stringify({ type: "typing", roomId, state: "start" }));
        command(ws, { type: "message.send", roomId, clientId: `s${cmd}`, body: `soak ${cmd} ${"x".repeat(20 + Math.floor(rnd() * 300))}` }, true, (ack) => {
          const message = ack.message as { id: string } | undefined;
          if (!message) return;
          p.own.push({ id: message.id, roomId });
          if (p.own.length > 20) p.own.shift();
        });
      }
    };

    const reconnect = async (): Promise<void> => {
      const p = people[Math.floor(rnd() * people.length)]!;
      const old = p.socket;
      p.socket = null;
      old?.close();
      const from = rnd() < opts.oldCursorShare ? p.oldCursor : p.cursor;
      // A reload: the room list, then the newest page of one room, then the socket.
      const rooms = await call<{ rooms: unknown[] }>(base, "GET", "/rooms", { bearer: p.token });
      c.http(rooms.ms);
      c.httpReads++;
      const active = p.rooms.filter((r) => !p.away.has(r));
      if (active.length > 0) {
        const page = await call(base, "GET", `/rooms/${active[Math.floor(rnd() * active.length)]!}/messages?limit=50`, { bearer: p.token });
        c.http(page.ms);
        c.httpReads++;
      }
      if (stopping) return;
      p.socket = await connect(p, { bearer: p.token }, from, active);
    };

    const login = async (): Promise<void> => {
      const p = people[Math.floor(rnd() * people.length)]!;
      const res = await call<{ csrfToken: string }>(base, "POST", "/auth/login", { body: { username: p.username, password: PASSWORD } });
      c.http(res.ms);
      c.logins++;
      const cookie = res.cookie ?? "";
      const active = p.rooms.filter((r) => !p.away.has(r));
      // A browser tab: its own cursors are unknown, it resumes from the old ones.
      const ws = await connect(null, { cookie }, p.oldCursor, active);
      const t = setTimeout(() => {
        timers.delete(t);
        if (stopping) return;
        void call(base, "POST", "/auth/logout", { cookie, csrf: res.body.csrfToken })
          .then((r) => {
            c.http(r.ms);
            c.logouts++;
          })
          .catch(() => (c.writeErrors += 0))
          .finally(() => ws.close());
      }, opts.sessionMs * (0.5 + rnd()));
      timers.add(t);
    };

    const leave = async (): Promise<void> => {
      const candidates = people.filter((p) => p.publicRooms.some((r) => !p.away.has(r)));
      const p = candidates[Math.floor(rnd() * candidates.length)];
      if (!p) return;
      const free = p.publicRooms.filter((r) => !p.away.has(r));
      const roomId = free[Math.floor(rnd() * free.length)]!;
      p.away.add(roomId);
      const res = await call(base, "POST", `/rooms/${roomId}/leave`, { bearer: p.token });
      c.http(res.ms);
      c.leaves++;
      const t = setTimeout(() => {
        timers.delete(t);
        if (stopping) return;
        void call(base, "POST", `/rooms/${roomId}/join`, { bearer: p.token }).then((r) => {
          c.http(r.ms);
          c.joins++;
          p.away.delete(roomId);
        });
      }, opts.rejoinMs * (0.5 + rnd()));
      timers.add(t);
    };

    const errors: string[] = [];
    const background = (f: () => Promise<void>): void => {
      f().catch((err: unknown) => {
        if (!stopping && errors.length < 20) errors.push((err as Error).message);
      });
    };

    // The schedule: each kind of action owes floor(rate × elapsed) − done.
    const kinds = [
      { rate: opts.writesPerSec, run: () => write(), done: 0 },
      { rate: opts.reconnectsPerSec, run: () => background(reconnect), done: 0 },
      { rate: opts.loginsPerSec, run: () => background(login), done: 0 },
      { rate: opts.leavesPerSec, run: () => background(leave), done: 0 },
    ];
    let logOffset = fs.statSync(server.logFile).size;
    let last = await scrapeMetrics(server.metricsUrl!);
    let lastCpu = threadCpuUs(server.pid);
    let lastWall = Date.now();
    const start = performance.now();
    ctx.log(`soak: load for ${opts.durationMs / 1000} s at ${opts.writesPerSec} writes/s, ${opts.reconnectsPerSec} reconnects/s, ${opts.loginsPerSec} logins/s, ${opts.leavesPerSec} leaves/s`);
    const tick = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      for (const k of kinds) {
        const owed = Math.floor(k.rate * elapsed) - k.done;
        for (let i = 0; i < owed; i++) k.run();
        k.done += Math.max(0, owed);
      }
    }, 5);
    timers.add(tick);

    const clientLoop = monitorEventLoopDelay({ resolution: 10 });
    clientLoop.enable();
    let nextWindow = start + opts.windowMs;
    while (performance.now() - start < opts.durationMs) {
      await sleep(Math.max(0, nextWindow - performance.now()));
      nextWindow += opts.windowMs;
      const scrape = await scrapeMetrics(server.metricsUrl!);
      renice();
      const cpu = threadCpuUs(server.pid);
      const wall = Date.now();
      const logged = readServerLog(server.logFile, logOffset);
      logOffset = logged.offset;
      const dbFile = path.join(dataDir, "parley.db");
      const size = (f: string): number | null => (fs.existsSync(f) ? fs.statSync(f).size : null);
      const haveBoth = last !== null && scrape !== null;
      const w: SoakWindow = {
        atS: Math.round((performance.now() - start) / 1000),
        writesSent: c.writesSent,
        writesAcked: c.writesAcked,
        writeErrors: c.writeErrors,
        writesCut: c.writesCut,
        ack: summarizeSamples(c.acks),
        serverQueueP99Ms: haveBoth ? msOf(quantileBetween(last!.buckets("parley_group_commit_queue_seconds"), scrape.buckets("parley_group_commit_queue_seconds"), 0.99)) : null,
        serverFsyncP99Ms: haveBoth ? msOf(quantileBetween(last!.buckets("parley_fsync_seconds"), scrape.buckets("parley_fsync_seconds"), 0.99)) : null,
        clientLoopMaxMs: Math.round(clientLoop.max / 1e6),
        socketsOpened: c.socketsOpened,
        resumes: c.resumes,
        logins: c.logins,
        logouts: c.logouts,
        leaves: c.leaves,
        joins: c.joins,
        httpReads: c.httpReads,
        httpMaxMs: c.httpMaxMs === null ? null : Math.round(c.httpMaxMs),
        loopMaxMs: scrape?.value("nodejs_eventloop_lag_max_seconds") != null ? Math.round(scrape.value("nodejs_eventloop_lag_max_seconds")! * 1000) : null,
        stallsMs: logged.stalls.map((x) => x.ms),
        stalls: logged.stalls,
        workStalls: logged.stalls.filter((x) => (x.cpuMs ?? x.ms) >= 100).length,
        slowQueries: logged.slowQueries,
        batches: haveBoth ? (scrape.value("parley_group_commit_run_seconds_count") ?? 0) - (last!.value("parley_group_commit_run_seconds_count") ?? 0) : null,
        batchesOver100ms: haveBoth ? countOver(last!, scrape, "parley_group_commit_run_seconds", 0.1) : null,
        batchRunMaxMs: haveBoth ? maxBucketMs(last!, scrape, "parley_group_commit_run_seconds") : null,
        fsyncsOver100ms: haveBoth ? countOver(last!, scrape, "parley_fsync_seconds", 0.1) : null,
        fsyncMaxMs: haveBoth ? maxBucketMs(last!, scrape, "parley_fsync_seconds") : null,
        queryMaxMs: haveBoth ? maxBucketMs(last!, scrape, "parley_db_query_seconds") : null,
        serverCpuPct: cpu && lastCpu ? Math.round((cpu.totalUs - lastCpu.totalUs) / (wall - lastWall) / 10) : null,
        mainThreadCpuPct: cpu && lastCpu ? Math.round((cpu.mainUs - lastCpu.mainUs) / (wall - lastWall) / 10) : null,
        dbBytes: size(dbFile),
        walBytes: size(`${dbFile}-wal`),
        rssBytes: memoryOf(server.pid)?.rss ?? null,
      };
      result.windows.push(w);
      ctx.log(
        `soak ${String(w.atS).padStart(4)} s: writes ${w.writesAcked}/${w.writesSent} ack p99 ${w.ack.p99} max ${w.ack.max} ms (server queue p99 ${w.serverQueueP99Ms}, fsync p99 ${w.serverFsyncP99Ms}; client loop max ${w.clientLoopMaxMs}) | loop max ${w.loopMaxMs} ms, stalls [${w.stalls.map((x) => (x.cpuMs === null ? `${x.ms}` : `${x.ms}/cpu ${x.cpuMs}`)).join(", ")}]${w.slowQueries.length ? ` slow queries [${w.slowQueries.map((q) => `${q.ms} ${q.sql.slice(0, 60)}`).join("; ")}]` : ""} | batches ${w.batches} (≥100 ms ${w.batchesOver100ms}, max ≤${w.batchRunMaxMs}) fsync ≥100 ms ${w.fsyncsOver100ms} (max ≤${w.fsyncMaxMs}) | sockets +${w.socketsOpened} logins ${w.logins} leaves ${w.leaves} http max ${w.httpMaxMs} ms | cpu ${w.serverCpuPct}% (main ${w.mainThreadCpuPct}%) db ${((w.dbBytes ?? 0) / 1e6).toFixed(0)} MB`,
      );
      Object.assign(c, new Counters());
      clientLoop.reset();
      last = scrape;
      lastCpu = cpu;
      lastWall = wall;
    }
    stopping = true;
    for (const t of timers) clearTimeout(t);
    // Let the last writes be answered (a stalled server may need a while).
    for (let waited = 0; waited < 30_000 && [...inflight.values()].some((f) => f.write); waited += 250) await sleep(250);
    const t = result.totals;
    t.writesUnanswered = [...inflight.values()].filter((f) => f.write).length;
    t.writesCut = c.writesCut;
    t.writesAcked += c.writesAcked;
    t.writeErrors += c.writeErrors;
    for (const w of result.windows) {
      t.writesSent += w.writesSent;
      t.writesAcked += w.writesAcked;
      t.writeErrors += w.writeErrors;
      t.writesCut += w.writesCut;
      t.socketsOpened += w.socketsOpened;
      t.resumes += w.resumes;
      t.logins += w.logins;
      t.leaves += w.leaves;
      t.stalls += w.stallsMs.length;
      t.workStalls += w.workStalls;
      if (w.stallsMs.length > 0) t.windowsWithStall++;
      for (const s of w.stallsMs) t.maxStallMs = Math.max(t.maxStallMs ?? 0, s);
      t.batchesOver100ms += w.batchesOver100ms ?? 0;
      t.fsyncsOver100ms += w.fsyncsOver100ms ?? 0;
    }
    t.ack = summarizeSamples(allAcks);
    const split = result.windows.flatMap((w) => w.stalls).filter((x) => x.waitMs !== null);
    const total = split.reduce((a, x) => a + x.ms, 0);
    t.stallWaitPct = total > 0 ? Math.round((100 * split.reduce((a, x) => a + Math.min(x.ms, x.waitMs!), 0)) / total) : null;
    if (errors.length > 0) result.error = `client errors (first ${errors.length}): ${errors.join("; ")}`;
    result.setup.serverCpuS = Math.round((cpuTimeUs(server.pid) ?? 0) / 1e6);
  } finally {
    stopping = true;
    for (const t of timers) clearTimeout(t);
    for (const ws of open) ws.terminate();
    await stopServer(server);
  }
  return result;
}

/** Graceful stop, so that a `--cpu-prof` server writes its profile. */
async function stopServer(server: ServerHandle): Promise<void> {
  await server.stop();
}
