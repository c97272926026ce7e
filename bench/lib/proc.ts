import { spawn, spawnSync, execFileSync, type ChildProcess, type StdioOptions } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Processes: pinned spawning, CPU time and memory of any process read from
 * /proc, free ports, machine and git facts for the result files.
 */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BENCH_DIR = path.join(REPO_ROOT, "bench");
export const CACHE_DIR = path.join(BENCH_DIR, ".cache");
export const RESULTS_DIR = path.join(BENCH_DIR, "results");

/** True when `taskset` (util-linux) can pin processes here. */
export const hasTaskset: boolean = (() => {
  try {
    return spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" }).status === 0;
  } catch {
    return false;
  }
})();

export interface PinnedSpawnOptions {
  /** CPU core to pin to, or null for no pinning. */
  core: number | null;
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  cwd?: string;
}

/**
 * Spawns `cmd args` pinned to one core with `taskset -c` (which execs the
 * command, so the child's pid is the command's own pid). Without taskset, or
 * with `core: null`, it spawns unpinned.
 */
export function spawnPinned(cmd: string, args: string[], opts: PinnedSpawnOptions): ChildProcess {
  const common = { env: opts.env ?? process.env, stdio: opts.stdio ?? "inherit", cwd: opts.cwd ?? REPO_ROOT };
  if (opts.core !== null && hasTaskset) return spawn("taskset", ["-c", String(opts.core), cmd, ...args], common);
  return spawn(cmd, args, common);
}

/** Pins every thread of this process to `core` (the coordinator runs beside the load generator). */
export function pinSelf(core: number): boolean {
  if (!hasTaskset) return false;
  return spawnSync("taskset", ["-a", "-cp", String(core), String(process.pid)], { stdio: "ignore" }).status === 0;
}

/**
 * Sets the scheduling priority (nice, -20..19) of every thread of `pid`:
 * setpriority(2) on Linux applies to one thread, and a Node server's
 * heartbeats run on its main thread, its GC and fsyncs on others. False
 * when the process is gone or the priority cannot be set.
 */
export function setProcessNice(pid: number, nice: number): boolean {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  let ok = true;
  for (const tid of tids) {
    try {
      os.setPriority(Number(tid), nice);
    } catch {
      ok = false;
    }
  }
  return ok;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system, all threads, including exited ones) of a process
 * in microseconds, from /proc/<pid>/stat; resolution is one clock tick (10 ms).
 * Null when the process is gone.
 */
export function cpuTimeUs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at state (field 3).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system) of a process split into its main thread (tid =
 * pid: the event loop of a Node server) and all its other threads (libuv's
 * thread pool, where Parley's fsyncs run; worker threads such as the WAL
 * checkpointer; V8's GC and compiler helpers), in microseconds, from
 * /proc/<pid>/task/<pid>/stat and /proc/<pid>/stat. `otherUs` is the
 * process total minus the main thread, so threads that exited are
 * included. Tick resolution (see `cpuTimeUs`). Null when the process is gone.
 */
export function threadCpuUs(pid: number): { mainUs: number; otherUs: number; totalUs: number } | null {
  const total = cpuTimeUs(pid);
  if (total === null) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const main = ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
    return { mainUs: main, otherUs: Math.max(0, total - main), totalUs: total };
  } catch {
    return null;
  }
}

/**
 * CPU time all processes of the machine spent busy (user, nice, system,
 * irq, softirq, steal; summed over cores), in microseconds, from /proc/stat.
 * Minus the harness's own processes it gives the background load: other
 * people's work on a shared machine that competes for the cores.
 */
export function machineBusyUs(): number | null {
  try {
    const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
    return (busy * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * Milliseconds the busiest disk spent doing I/O (io_ticks, /proc/diskstats)
 * since boot: its growth over a step ÷ the step's length is how busy the
 * disk was (fsync latency grows with it). Whole-disk devices only.
 */
export function diskBusyMs(): number | null {
  try {
    let max = 0;
    for (const line of fs.readFileSync("/proc/diskstats", "utf8").split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length < 14 || !/^(vd[a-z]|sd[a-z]|nvme\d+n\d+|xvd[a-z])$/.test(f[2]!)) continue;
      max = Math.max(max, Number(f[12]));
    }
    return max;
  } catch {
    return null;
  }
}

/** Resident set size and its peak, in bytes, from /proc/<pid>/status. */
export function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** Number of open file descriptors of a process (null when unreadable). */
export function openFds(pid: number): number | null {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** The soft limit on open files of this process (children inherit it). */
export function openFileLimit(): number {
  try {
    const limits = fs.readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\d+)/m.exec(limits);
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return 1024;
}

/** Kernel TCP memory in use (pages, all sockets of the machine), from /proc/net/sockstat. */
export function tcpKernelMemory(): { inuse: number; memPages: number } | null {
  try {
    const s = fs.readFileSync("/proc/net/sockstat", "utf8");
    const m = /^TCP: inuse (\d+) orphan \d+ tw \d+ alloc \d+ mem (\d+)/m.exec(s);
    return m ? { inuse: Number(m[1]), memPages: Number(m[2]) } : null;
  } catch {
    return null;
  }
}

/**
 * Kernel slab memory of TCP sockets (the `TCP`, `request_sock_TCP` and
 * `sock_inode_cache` caches), bytes, for the whole machine; null when
 * /proc/slabinfo is not readable.
 */
export function tcpSlabBytes(): number | null {
  try {
    const lines = fs.readFileSync("/proc/slabinfo", "utf8").split("\n");
    let total = 0;
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f[0] === "TCP" || f[0] === "sock_inode_cache") total += Number(f[1]) * Number(f[3]);
    }
    return total;
  } catch {
    return null;
  }
}

/** Pids of processes whose command name is `comm` (e.g. redis-server), to read their CPU time. */
export function pidsByName(comm: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when the child exits (immediately if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await done;
  clearTimeout(timer);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Monotonic time in microseconds (CLOCK_MONOTONIC: the same clock in every process of the machine). */
export function nowUs(): number {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}

/** Polls `url` until it answers 2xx or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before answering ${url}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
      last = res.status;
    } catch (err) {
      last = err;
    }
    await sleep(25);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms (last: ${String(last)})`);
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  kernel: string;
  openFileLimit: number;
  taskset: boolean;
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    kernel: os.release(),
    openFileLimit: openFileLimit(),
    taskset: hasTaskset,
  };
}

export function gitInfo(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: REPO_ROOT, encoding: "utf8" });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}
