import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { freePort, machineBusyUs, nowUs, sleep, spawnPinned, stopChild } from "../lib/proc.js";
import { track } from "../lib/cleanup.js";
import { waitForQuiet } from "../lib/noise.js";
import { PARLEY_BENCH_ENV, parleyNodeArgs, seededFixture } from "../targets/parley.js";
import { serverCoreOf, type BenchContext } from "../targets/types.js";
import type { StartupResult } from "./common.js";

/**
 * startup: time from spawning `node dist/server/main.js` (pinned to the
 * server core) to the first socket that gets its `ready` frame, on a
 * database of `messages` messages. A client retries the connection every
 * 5 ms from the moment of the spawn. The database file was just copied
 * (and flushed) and one unrecorded start ran on it, so it is in the page
 * cache: a warm restart.
 */

export interface StartupOptions {
  messages: number;
  members: number;
  runs: number;
}

function tryConnect(url: string, token: string): Promise<{ openUs: number; readyUs: number } | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    let openUs = 0;
    ws.on("open", () => (openUs = nowUs()));
    ws.on("message", (data: Buffer) => {
      if (data.toString().startsWith('{"type":"ready"')) {
        const readyUs = nowUs();
        ws.close();
        resolve({ openUs, readyUs });
      }
    });
    ws.on("error", () => resolve(null));
    ws.on("close", () => resolve(null));
  });
}

async function timeToFirstSocket(ctx: BenchContext, dataDir: string, token: string): Promise<{ readyMs: number; openMs: number }> {
  const port = await freePort();
  const logFile = path.join(ctx.tmpDir, "logs", `parley-startup-${port}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, "a");
  const t0 = nowUs();
  const child = spawnPinned(process.execPath, [...parleyNodeArgs(), ctx.parleyMain, "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir], {
    core: serverCoreOf(ctx),
    env: { ...process.env, ...PARLEY_BENCH_ENV, ...ctx.parleyEnv },
    stdio: ["ignore", fd, fd],
  });
  fs.closeSync(fd);
  track(child);
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`parley exited with ${child.exitCode}; see ${logFile}`);
      const r = await tryConnect(`ws://127.0.0.1:${port}/ws`, token);
      if (r) return { readyMs: (r.readyUs - t0) / 1000, openMs: (r.openUs - t0) / 1000 };
      await sleep(5);
    }
    throw new Error(`no socket accepted within 60 s; see ${logFile}`);
  } finally {
    await stopChild(child);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

export async function runStartup(ctx: BenchContext, opts: StartupOptions): Promise<StartupResult> {
  const big = await seededFixture(ctx, { users: opts.members, roomSize: opts.members, messages: opts.messages });
  const small = await seededFixture(ctx, { users: opts.members, roomSize: opts.members, messages: 0 });
  const bigToken = big.meta.users[0]!.token;
  const smallToken = small.meta.users[0]!.token;
  const dbFile = path.join(big.dataDir, "parley.db");
  const runs: number[] = [];
  const opens: number[] = [];
  const empty: number[] = [];
  // The copy left ~1 GB of dirty pages: flush them now so that no measured start competes with their writeback.
  const fd = fs.openSync(dbFile, "r+");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  // Unrecorded starts first: they warm the OS caches of node, its modules and the database file.
  await timeToFirstSocket(ctx, small.dataDir, smallToken);
  await timeToFirstSocket(ctx, big.dataDir, bigToken);
  let backgroundUs = 0;
  let wallUs = 0;
  for (let i = 0; i < opts.runs; i++) {
    await waitForQuiet([], ctx.quiet, ctx.log);
    const busy0 = machineBusyUs();
    const t0 = nowUs();
    const r = await timeToFirstSocket(ctx, big.dataDir, bigToken);
    const busy1 = machineBusyUs();
    if (busy0 !== null && busy1 !== null) {
      // A start keeps about one core busy for its whole duration; what exceeds that ran beside it.
      backgroundUs += Math.max(0, busy1 - busy0 - (nowUs() - t0));
      wallUs += nowUs() - t0;
    }
    runs.push(r1(r.readyMs));
    opens.push(r1(r.openMs));
    empty.push(r1((await timeToFirstSocket(ctx, small.dataDir, smallToken)).readyMs));
  }
  ctx.log(`parley startup on ${opts.messages.toLocaleString("en")} messages: ${runs.join(", ")} ms (empty database: ${empty.join(", ")} ms)${wallUs > 0 ? `, background ≈ ${Math.round((100 * backgroundUs) / wallUs)}% of a core` : ""}`);
  return {
    target: "parley",
    setup: { ...big.setup },
    databaseMessages: opts.messages,
    databaseBytes: fs.statSync(dbFile).size,
    runsMs: runs,
    openMs: opens,
    medianMs: r1(median(runs)),
    maxMs: Math.max(...runs),
    emptyDbRunsMs: empty,
    backgroundCpuPct: wallUs > 0 ? Math.round((100 * backgroundUs) / wallUs) : null,
  };
}
