import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { summarizeSamples, type LatencySummary } from "../lib/hist.js";
import { cpuTimeUs, memoryOf, sleep } from "../lib/proc.js";
import { startParley } from "../targets/parley.js";
import { pool, type BenchContext } from "../targets/types.js";

/**
 * uploads: many clients uploading large files to one Parley node at once
 * (issue 17): throughput in MiB/s, each upload's time, and the server's
 * memory while they run. Uploads are streamed to storage, so the server's
 * resident memory must not grow with the file size: each size runs with
 * the same number of clients, and the growth of the peak RSS over its
 * baseline is compared between the smallest and the largest files.
 */
export interface UploadsOptions {
  /** Clients uploading at once, each with its own account. */
  clients: number;
  /** File sizes to run, MiB each (every client uploads one file of that size per round). */
  sizesMiB: number[];
  rounds: number;
}

export interface UploadsStep {
  sizeMiB: number;
  clients: number;
  rounds: number;
  /** Bytes uploaded per second over each round's wall time, MiB/s, per round. */
  roundMiBps: number[];
  medianMiBps: number;
  /** POST /uploads from the first byte sent to the answer, ms. */
  latency: LatencySummary;
  /** Server RSS before the step's first round and its peak during the rounds, MiB. */
  rssBaselineMiB: number;
  rssPeakMiB: number;
  /** Server CPU over the rounds' wall time, % of one core. */
  serverCpuPct: number;
  /** Answers other than 201. */
  errors: number;
}

export interface UploadsResult {
  steps: UploadsStep[];
  /** Peak RSS at the largest size minus the peak at the smallest, MiB. */
  rssGrowthWithSizeMiB: number | null;
}

const PASSWORD = "bench-uploads-password-1";
const CHUNK = randomBytes(1024 * 1024);

interface Uploader {
  token: string;
}

/** One multipart upload of `bytes` random bytes, streamed with back-pressure; resolves with its status, id and time. */
function upload(base: URL, token: string, bytes: number, name: string): Promise<{ status: number; id: string | null; ms: number }> {
  const boundary = `----parley-bench-${randomBytes(8).toString("hex")}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: "POST",
        path: "/api/v1/uploads",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": String(head.length + bytes + tail.length),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => {
          const text = Buffer.concat(parts).toString();
          let id: string | null = null;
          try {
            id = (JSON.parse(text) as { upload?: { id?: string } }).upload?.id ?? null;
          } catch {
            // not JSON: counted as an error by its status
          }
          resolve({ status: res.statusCode ?? 0, id, ms: performance.now() - t0 });
        });
      },
    );
    req.on("error", reject);
    req.write(head);
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          req.once("drain", pump);
          return;
        }
      }
      req.end(tail);
    };
    pump();
  });
}

async function json<T>(base: URL, method: string, urlPath: string, opts: { bearer?: string; cookie?: string; csrf?: string; body?: unknown } = {}): Promise<{ body: T; cookie: string | null }> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers["x-csrf-token"] = opts.csrf;
  const res = await fetch(new URL(`/api/v1${urlPath}`, base), { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${text.slice(0, 200)}`);
  const setCookie = res.headers.get("set-cookie");
  return { body: (text ? JSON.parse(text) : null) as T, cookie: setCookie ? setCookie.split(";")[0]! : null };
}

/** Runs every size; each size: `rounds` rounds of `clients` uploads at once, the server's RSS sampled every 20 ms. */
export async function runUploads(ctx: BenchContext, opts: UploadsOptions): Promise<UploadsResult> {
  const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, "parley-uploads-"));
  const largest = Math.max(...opts.sizesMiB);
  const server = await startParley(
    {
      ...ctx,
      parleyEnv: {
        PARLEY_UPLOAD_MAX_BYTES: String(largest * 1024 * 1024),
        PARLEY_UPLOADS_PER_MINUTE: "1000000",
        PARLEY_UPLOAD_QUOTA_BYTES: String(64 * 1024 * 1024 * 1024),
        ...ctx.parleyEnv,
      },
    },
    dataDir,
  );
  try {
    const base = new URL(server.httpUrl);
    const uploaders = await pool(
      Array.from({ length: opts.clients }, (_, i) => i),
      4,
      async (i): Promise<Uploader> => {
        const username = `upl${i}`;
        const signup = await json<{ csrfToken: string }>(base, "POST", "/auth/signup", { body: { email: `${username}@bench.test`, username, password: PASSWORD, passwordConfirm: PASSWORD } });
        const token = await json<{ token: string }>(base, "POST", "/tokens", { cookie: signup.cookie ?? "", csrf: signup.body.csrfToken, body: { name: "bench" } });
        return { token: token.body.token };
      },
    );
    const steps: UploadsStep[] = [];
    for (const sizeMiB of opts.sizesMiB) {
      const bytes = sizeMiB * 1024 * 1024;
      await sleep(500);
      const rssBaseline = memoryOf(server.pid)?.rss ?? 0;
      let rssPeak = rssBaseline;
      const sampler = setInterval(() => {
        const m = memoryOf(server.pid);
        if (m && m.rss > rssPeak) rssPeak = m.rss;
      }, 20);
      const roundMiBps: number[] = [];
      const latenciesUs: number[] = [];
      let errors = 0;
      let wallMs = 0;
      const cpu0 = cpuTimeUs(server.pid) ?? 0;
      try {
        for (let round = 0; round < opts.rounds; round++) {
          const t0 = performance.now();
          const answers = await Promise.all(uploaders.map((u, i) => upload(base, u.token, bytes, `bench-${sizeMiB}-${round}-${i}.bin`)));
          const ms = performance.now() - t0;
          wallMs += ms;
          roundMiBps.push(Math.round(((opts.clients * sizeMiB) / (ms / 1000)) * 10) / 10);
          for (const a of answers) {
            if (a.status === 201) latenciesUs.push(a.ms * 1000);
            else errors++;
          }
          // Pending uploads removed between rounds, so the quota and the disk stay flat.
          await Promise.all(answers.map((a, i) => (a.id ? fetch(new URL(`/api/v1/uploads/${a.id}`, base), { method: "DELETE", headers: { authorization: `Bearer ${uploaders[i]!.token}` } }).then((r) => r.arrayBuffer()) : null)));
        }
      } finally {
        clearInterval(sampler);
      }
      const cpuUs = (cpuTimeUs(server.pid) ?? 0) - cpu0;
      const sorted = [...roundMiBps].sort((a, b) => a - b);
      steps.push({
        sizeMiB,
        clients: opts.clients,
        rounds: opts.rounds,
        roundMiBps,
        medianMiBps: sorted[Math.floor(sorted.length / 2)] ?? 0,
        latency: summarizeSamples(latenciesUs),
        rssBaselineMiB: Math.round((rssBaseline / 1024 / 1024) * 10) / 10,
        rssPeakMiB: Math.round((rssPeak / 1024 / 1024) * 10) / 10,
        serverCpuPct: wallMs > 0 ? Math.round((cpuUs / 1000 / wallMs) * 100) : 0,
        errors,
      });
      ctx.log(`uploads: ${opts.clients} × ${sizeMiB} MiB: ${roundMiBps.join(", ")} MiB/s; RSS ${steps.at(-1)!.rssBaselineMiB} → ${steps.at(-1)!.rssPeakMiB} MiB; ${errors} errors`);
    }
    // Peak against peak: each step's baseline already holds what the step before grew to (the allocator keeps it).
    const first = steps[0];
    const last = steps.at(-1);
    return { steps, rssGrowthWithSizeMiB: first && last && first !== last ? Math.round((last.rssPeakMiB - first.rssPeakMiB) * 10) / 10 : null };
  } finally {
    await server.stop();
  }
}
