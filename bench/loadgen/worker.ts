/**
 * A load-generator worker process: holds a share of the clients, opens
 * their sockets, sends on an open-loop schedule and counts what arrives.
 * Driven by the coordinator over the IPC channel (see ../lib/types.ts).
 *
 * Open loop: the send times are fixed in advance (start + k / rate), never
 * delayed by answers, and every latency is measured from the scheduled send
 * time carried in the body, so a stall anywhere (server, network, this
 * process) shows up in the latency instead of silently lowering the offered
 * rate (no coordinated omission). How late this process wrote each send is
 * recorded on its own (`lagHist`) to tell its own stalls apart.
 */
import { encodeHistogram, newHistogram, type Histogram } from "../lib/hist.js";
import { nowUs } from "../lib/proc.js";
import type { ClientSpec, FromWorker, Protocol, StepReport, ToWorker } from "../lib/types.js";
import { Kind, classify, makeBody, readAckId, readBody, sendFrame, type BodyFields } from "./wire.js";
import { openSocket, type BenchSocket } from "./socket.js";

const RING = 4096;

interface Client {
  spec: ClientSpec;
  ws: BenchSocket | null;
  ready: boolean;
  /** Next message counter of this client (monotonic over the whole run). */
  n: number;
  /** Highest counter seen per sender slot of the room, to spot duplicates and reordering. */
  lastSeen: Int32Array;
  /** Scheduled send time (µs) and step of recent sends, by counter mod RING, for ack latency. */
  sched: Float64Array;
  schedStep: Int32Array;
}

let protocol: Protocol = "parley";
let clients: Client[] = [];
let order: Client[] = [];
let opened = 0;
let connectConcurrency = 64;

// ---- per-step counters ----
let step = -1;
let latency: Histogram = newHistogram();
let ackHist: Histogram = newHistogram();
let lagHist: Histogram = newHistogram();
let sends = 0;
let skipped = 0;
let expected = 0;
let delivered = 0;
let echoes = 0;
let duplicates = 0;
let late = 0;
let acks = 0;
let errors = 0;
let errorCodes: Record<string, number> = {};
let closes: Record<string, number> = {};
let cpuStart = process.cpuUsage();
let wallStart = nowUs();
let rr = 0;

const body: BodyFields = { ok: false, step: 0, tsUs: 0, slot: 0, n: 0 };

function send(msg: FromWorker): void {
  process.send?.(msg);
}

function countError(code: string): void {
  errors++;
  errorCodes[code] = (errorCodes[code] ?? 0) + 1;
}

function onFrame(c: Client, data: Buffer): void {
  const kind = classify(protocol, data);
  switch (kind) {
    case Kind.Delivery: {
      const now = nowUs();
      readBody(data, body);
      if (!body.ok) return;
      if (body.step !== step) {
        late++;
        return;
      }
      if (body.slot === c.spec.slot) {
        echoes++;
        return;
      }
      if (body.slot < c.lastSeen.length) {
        if (body.n <= c.lastSeen[body.slot]!) duplicates++;
        else c.lastSeen[body.slot] = body.n;
      }
      delivered++;
      latency.recordValue(Math.max(1, Math.round(now - body.tsUs)));
      return;
    }
    case Kind.Ack: {
      const now = nowUs();
      const { n, isError } = readAckId(protocol, data);
      if (n < 0) return;
      const i = n % RING;
      if (c.schedStep[i] !== step) return;
      if (isError) {
        countError("error");
        return;
      }
      acks++;
      ackHist.recordValue(Math.max(1, Math.round(now - c.sched[i]!)));
      return;
    }
    case Kind.Error: {
      const frame = JSON.parse(data.toString()) as { code?: string; id?: string | null };
      const n = frame.id ? Number(frame.id) : NaN;
      if (Number.isInteger(n) && c.schedStep[n % RING] !== step) return;
      countError(frame.code ?? "unknown");
      return;
    }
    case Kind.Ping:
      c.ws?.send("3");
      return;
    default:
      return;
  }
}

/** Opens one client and resolves once the server said it is ready (Parley: `ready`; socket.io: CONNECT ack). */
function connect(c: Client): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(err);
    };
    const ws = openSocket(c.spec.url, { headers: c.spec.headers, timeoutMs: 30_000 }, {
      onText: (data) => {
        if (c.ready) {
          onFrame(c, data);
          return;
        }
        const kind = classify(protocol, data);
        if (kind === Kind.Open) {
          ws.send(`40${JSON.stringify(c.spec.auth ?? {})}`);
        } else if (kind === Kind.Ready) {
          c.ready = true;
          settled = true;
          resolve();
        } else if (kind === Kind.ConnectError || kind === Kind.Error) {
          fail(new Error(`refused: ${data.toString().slice(0, 200)}`));
        } else if (kind === Kind.Ping) {
          ws.send("3");
        }
      },
      onError: (err) => fail(err),
      onClose: (code) => {
        if (!settled) fail(new Error(`closed before ready: ${code}`));
        if (c.ready) {
          c.ready = false;
          closes[String(code)] = (closes[String(code)] ?? 0) + 1;
        }
      },
    });
    c.ws = ws;
  });
}

async function connectUpTo(upTo: number): Promise<void> {
  const t0 = nowUs();
  const hist = newHistogram();
  const target = Math.min(upTo, clients.length);
  let next = opened;
  let failed = 0;
  let firstError: string | null = null;
  const lane = async () => {
    while (next < target) {
      const c = clients[next++]!;
      const start = nowUs();
      try {
        await connect(c);
        hist.recordValue(Math.max(1, Math.round(nowUs() - start)));
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(connectConcurrency, Math.max(1, target - next)) }, lane));
  opened = target;
  send({ type: "connected", opened: clients.filter((c) => c.ready).length, failed, firstError, connectHist: encodeHistogram(hist), ms: (nowUs() - t0) / 1000 });
  hist.destroy();
}

function resetStep(s: number): void {
  step = s;
  latency.destroy();
  ackHist.destroy();
  lagHist.destroy();
  latency = newHistogram();
  ackHist = newHistogram();
  lagHist = newHistogram();
  sends = skipped = expected = delivered = echoes = duplicates = late = acks = errors = 0;
  errorCodes = {};
  closes = {};
  cpuStart = process.cpuUsage();
  wallStart = nowUs();
}

/** Runs the open-loop send schedule of one step, then reports what it sent. */
function runStep(s: number, startAtUs: number, durationMs: number, sendsPerSecond: number): void {
  resetStep(s);
  const total = order.length === 0 ? 0 : Math.floor((durationMs / 1000) * sendsPerSecond);
  const intervalUs = sendsPerSecond > 0 ? 1e6 / sendsPerSecond : 0;
  let k = 0;
  let windowCpu: NodeJS.CpuUsage | null = null;
  let windowWall = 0;
  const finish = () => {
    const cpu = process.cpuUsage(windowCpu ?? undefined);
    send({ type: "sent", step: s, sends, skipped, expected, cpuUs: cpu.user + cpu.system, wallUs: nowUs() - windowWall });
  };
  const pump = () => {
    const now = nowUs();
    if (windowCpu === null) {
      windowCpu = process.cpuUsage();
      windowWall = now;
    }
    while (k < total) {
      const scheduled = startAtUs + k * intervalUs;
      if (scheduled > now) break;
      const c = order[rr++ % order.length]!;
      k++;
      if (!c.ready || !c.ws) {
        skipped++;
        continue;
      }
      const n = c.n++;
      const i = n % RING;
      c.sched[i] = scheduled;
      c.schedStep[i] = s;
      const bodyText = makeBody(s, scheduled, c.spec.slot, n);
      c.ws.send(sendFrame(protocol, c.spec.roomId, bodyText, `${c.spec.index}.${n}`, n));
      lagHist.recordValue(Math.max(1, Math.round(nowUs() - scheduled)));
      sends++;
      expected += c.spec.roomSize - 1;
    }
    if (k >= total) {
      // Report once the window is over, not earlier: the coordinator reads server CPU at that time.
      const endUs = startAtUs + durationMs * 1000;
      const wait = Math.max(0, (endUs - nowUs()) / 1000);
      setTimeout(finish, wait);
      return;
    }
    const waitMs = (startAtUs + k * intervalUs - nowUs()) / 1000;
    setTimeout(pump, Math.max(0, waitMs));
  };
  setTimeout(pump, Math.max(0, (startAtUs - nowUs()) / 1000));
}

function report(): StepReport {
  const cpu = process.cpuUsage(cpuStart);
  return {
    type: "stats",
    step,
    sends,
    skipped,
    expected,
    delivered,
    echoes,
    duplicates,
    late,
    acks,
    errors,
    errorCodes,
    closes,
    latencyHist: encodeHistogram(latency),
    ackHist: encodeHistogram(ackHist),
    lagHist: encodeHistogram(lagHist),
    cpuUs: cpu.user + cpu.system,
    wallUs: nowUs() - wallStart,
  };
}

function init(p: Protocol, specs: ClientSpec[], concurrency: number): void {
  protocol = p;
  connectConcurrency = concurrency;
  clients = specs.map((spec) => ({
    spec,
    ws: null,
    ready: false,
    n: 0,
    lastSeen: new Int32Array(spec.roomSize).fill(-1),
    sched: new Float64Array(RING),
    schedStep: new Int32Array(RING).fill(-1),
  }));
  // Interleave rooms: consecutive sends go to different rooms.
  order = [...clients].sort((a, b) => a.spec.slot - b.spec.slot || (a.spec.roomId < b.spec.roomId ? -1 : a.spec.roomId > b.spec.roomId ? 1 : 0));
}

process.on("message", (raw) => {
  const msg = raw as ToWorker;
  switch (msg.type) {
    case "init":
      init(msg.protocol, msg.clients, msg.connectConcurrency);
      send({ type: "ready" });
      return;
    case "connect":
      void connectUpTo(msg.upTo);
      return;
    case "step":
      runStep(msg.step, msg.startAtUs, msg.durationMs, msg.sendsPerSecond);
      return;
    case "poll":
      send({ type: "poll", delivered, acks, errors });
      return;
    case "collect":
      send(report());
      return;
    case "close":
      for (const c of clients) {
        c.ready = false;
        c.ws?.terminate();
      }
      setTimeout(() => process.exit(0), 50);
      return;
  }
});

// The coordinator is gone: stop at once rather than hold sockets.
process.on("disconnect", () => process.exit(0));
process.on("uncaughtException", (err) => {
  send({ type: "fatal", message: err.stack ?? err.message });
  setTimeout(() => process.exit(1), 50);
});
