import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import net, { type Socket } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { createTestPostgresDatabase, startTestServer, testPostgresUrl } from "../support/server.js";
import { SocketClient, createRoom, signup, signupBot } from "../support/client.js";
import type { AckFrame } from "@shared/protocol/frames.js";

const root = path.resolve(import.meta.dirname, "../..");

/** Runs the CLI from source; resolves with its exit code and output once it exits or prints `until`. */
function runCli(
  args: string[],
  env: Record<string, string>,
  until?: RegExp,
): Promise<{ code: number | null; out: string; stop: () => Promise<number | null> }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts", ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let out = "";
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const stop = () => {
      child.kill("SIGTERM");
      return exited;
    };
    const onData = (d: Buffer) => {
      out += d.toString();
      if (until?.test(out)) resolve({ code: null, out, stop });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => resolve({ code, out, stop }));
  });
}

/** Runs the CLI from source to its exit; resolves with its code and its stdout and stderr apart. */
function runCliToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts", ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("start-up errors", () => {
  it("end with one clear line each on stderr, exit 1, and no stack trace (the stack at debug)", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const takenPort = (taken.address() as net.AddressInfo).port;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-start-"));
    // Each node its own data directory: two migrating one database at once would fail otherwise.
    const local = (name: string) => ["--host", "127.0.0.1", "--data-dir", path.join(dataDir, name)];
    try {
      // In parallel: each start costs seconds on a busy machine. Bad settings (PORT=abc, a negative number) are config.test.ts's.
      // The port case runs at --log-level debug: one line on stderr still, and the stack in the log.
      const [inUse, noDatabase, noParent] = await Promise.all([
        runCliToExit(["--port", String(takenPort), ...local("in-use"), "--log-level", "debug"]),
        runCliToExit(["--port", "0", ...local("no-db"), "--database-url", "postgres://parley@127.0.0.1:1/parley"]),
        runCliToExit(["--port", "0", "--host", "127.0.0.1", "--data-dir", path.join(dataDir, "no-such-parent", "data")]),
      ]);
      const cases: [typeof inUse, RegExp][] = [
        [inUse, new RegExp(`^parley: cannot listen on 127\\.0\\.0\\.1:${takenPort}: the port is in use by another process; choose another with --port$`)],
        [noDatabase, /^parley: cannot open the database postgres:\/\/\*\*\*@127\.0\.0\.1:1\/parley \(--database-url\): .*ECONNREFUSED/],
        [noParent, /^parley: Invalid --data-dir \/ PARLEY_DATA_DIR = ".*\/no-such-parent\/data": its parent directory .*\/no-such-parent does not exist$/],
      ];
      for (const [result, line] of cases) {
        expect(result.code, result.stderr).toBe(1);
        const lines = result.stderr.trimEnd().split("\n");
        expect(lines, result.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(line);
        expect(result.stderr).not.toMatch(/^\s+at /m);
      }
      expect(noDatabase.stdout + noParent.stdout).not.toMatch(/^\s+at |\\n\s+at /m);
      // Refused, not made: neither the missing parent nor the data directory in it.
      expect(fs.existsSync(path.join(dataDir, "no-such-parent"))).toBe(false);
      // At --log-level debug the cause's stack is in the log (stdout).
      expect(inUse.stdout).toMatch(/"msg":"start-up failed"/);
      expect(inUse.stdout).toMatch(/EADDRINUSE/);
      expect(inUse.stdout).toMatch(/"stack":"/);
    } finally {
      taken.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);

  it("--help shows each setting's default, the file settings included", async () => {
    const { code, stdout } = await runCliToExit(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--port <value>  (PARLEY_PORT, default 3000)");
    expect(stdout).toContain("--shutdown-grace-ms <value>  (PARLEY_SHUTDOWN_GRACE_MS, default 5000)");
    expect(stdout).toContain("--upload-max-bytes <value>  (PARLEY_UPLOAD_MAX_BYTES, default 26214400)");
  }, 30_000);

  it.skipIf(!testPostgresUrl)("a node on PostgreSQL names its database and where its files go (the data directory, by default)", async () => {
    const database = await createTestPostgresDatabase();
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "parley-pg-"));
    const dataDir = path.join(parent, "unused");
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const started = await runCli(["--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--database-url", database.url], {}, /Parley is up/);
    try {
      const up = started.out.split("\n").find((l) => l.includes("Parley is up"))!;
      expect(JSON.parse(up)).toMatchObject({ database: expect.stringMatching(/^postgres/), files: `file:${path.join(dataDir, "files")}`, dataDir });
      expect(fs.existsSync(path.join(dataDir, "files"))).toBe(true);
    } finally {
      expect(await started.stop()).toBe(0);
      await database.drop();
      fs.rmSync(parent, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("operations", () => {
  it("refuses to start on a bad setting, naming it", async () => {
    const { code, out } = await runCli([], { PARLEY_PORT: "not-a-port" });
    expect(code).toBe(1);
    expect(out).toContain("PARLEY_PORT");
    expect(out).toContain("--port");
  }, 30_000);

  it("starts from the command line, serves /healthz, and exits cleanly on SIGTERM", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-cli-"));
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const started = await runCli(["--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir], {}, /Parley is up/);
    let exitCode: number | null = -1;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
      expect(fs.existsSync(path.join(dataDir, "parley.db"))).toBe(true);
    } finally {
      exitCode = await started.stop();
    }
    expect(exitCode).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it("answers /healthz and /readyz (the database answers), and names each request with its X-Request-Id", async () => {
    const t = await startTestServer();
    try {
      expect(await (await fetch(`${t.baseUrl}/healthz`)).json()).toEqual({ ok: true });
      const ready = await fetch(`${t.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true });
      // A balancer's id is kept (and echoed); a missing or odd one is replaced by a fresh one.
      const given = await fetch(`${t.baseUrl}/healthz`, { headers: { "x-request-id": "nginx-4f2a9c01" } });
      expect(given.headers.get("x-request-id")).toBe("nginx-4f2a9c01");
      const odd = await fetch(`${t.baseUrl}/healthz`, { headers: { "x-request-id": "<script>" } });
      expect(odd.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      const none = await fetch(`${t.baseUrl}/api/v1/me`);
      expect(none.status).toBe(401);
      expect(none.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await t.destroy();
    }
  });

  it("serves an OpenAPI description of the HTTP API", async () => {
    const t = await startTestServer();
    const res = await fetch(`${t.baseUrl}/api/v1/openapi.json`);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ["/api/v1/auth/signup", "/api/v1/rooms/{roomId}/messages", "/api/v1/direct"]) expect(doc.paths).toHaveProperty([p]);
    await t.destroy();
  });

  it("disconnects a client that stops reading (4408), and it resumes by seq afterwards", async () => {
    const t = await startTestServer({ wsSendBufferBytes: 64 * 1024, wsCommandsPerSecond: 100_000, wsBytesPerSecond: 64 * 1024 * 1024 });
    const alice = await signupBot(t.baseUrl, "alice");
    const bob = await signup(t.baseUrl, "bob");
    const room = await createRoom(alice, "public");
    await bob.post(`/rooms/${room}/join`);
    const slow = await SocketClient.connect(t.wsUrl, bob);
    const joinedSeq = (await bob.get<{ room: { lastSeq: number } }>(`/rooms/${room}`)).body.room.lastSeq;
    // Stop reading: the kernel buffers fill, then the server's send buffer.
    (slow.ws as unknown as { _socket: Socket })._socket.pause();
    const sender = await SocketClient.connect(t.wsUrl, alice);
    const body = "z".repeat(3_900);
    let sent = 0;
    for (let batch = 0; batch < 60 && t.server.gateway.size === 2; batch++) {
      await Promise.all(Array.from({ length: 50 }, () => sender.command({ type: "message.send", roomId: room, body, clientId: `s${sent++}` })));
    }
    expect(t.server.gateway.size).toBe(1); // the slow socket is gone, the sender is not
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    expect((await slow.whenClosed()).code).toBe(4408);

    const again = await SocketClient.connect(t.wsUrl, bob);
    const ack = (await again.command({ type: "resume", rooms: { [room]: joinedSeq } })) as AckFrame;
    expect(again.messages(room)).toHaveLength(sent);
    expect(ack.rooms?.[room]).toBe(joinedSeq + sent);
    await Promise.all([again.close(), sender.close()]);
    await t.destroy();
  }, 60_000);

  it("pings sockets a group at a time, spread over the heartbeat interval", async () => {
    // 30 groups over 300 s: one group every 10 s. What arrives within 2 s of the first ping is one
    // group (2 of 60 sockets), however slow the machine; pinging all in one turn would show 60.
    const t = await startTestServer({ wsHeartbeatMs: 300_000 });
    try {
      const bot = await signupBot(t.baseUrl, "pinged");
      const sockets = await Promise.all(Array.from({ length: 60 }, () => SocketClient.connect(t.wsUrl, bot)));
      const pinged = new Set<number>();
      let first!: () => void;
      const firstPing = new Promise<void>((r) => (first = r));
      sockets.forEach((s, i) =>
        s.ws.on("ping", () => {
          pinged.add(i);
          first();
        }),
      );
      await firstPing;
      await new Promise((r) => setTimeout(r, 2_000));
      expect(pinged.size).toBeGreaterThanOrEqual(1);
      expect(pinged.size).toBeLessThanOrEqual(4);
      await Promise.all(sockets.map((s) => s.close()));
    } finally {
      await t.destroy();
    }
  }, 60_000);
});

/** A pino logger whose lines a test reads back, parsed (pino's destination stream). */
function capturedLog(level: pino.Level = "info"): { logger: pino.Logger; lines: () => LogLine[]; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: pino({ level }, stream),
    lines: () =>
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LogLine),
    text: () => text,
  };
}

interface LogLine {
  level: number;
  msg: string;
  node?: string;
  reqId?: string;
  [key: string]: unknown;
}

const INFO = 30;
const WARN = 40;
const DEBUG = 20;

describe("logs an operator can use", () => {
  it("logs each request once at info with method, route, path, status, time and its X-Request-Id; probes at debug", async () => {
    const log = capturedLog("debug");
    const t = await startTestServer({}, { logger: log.logger });
    try {
      const alice = await signup(t.baseUrl, "alice");
      const roomId = await createRoom(alice, "public");
      const res = await fetch(`${t.baseUrl}/api/v1/rooms/${roomId}?x=1`, { headers: { cookie: alice.cookie!, "x-request-id": "test-req-0001" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBe("test-req-0001");
      await fetch(`${t.baseUrl}/readyz`, { headers: { "x-request-id": "test-probe-0001" } });

      const lines = log.lines().filter((l) => l.reqId === "test-req-0001");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: INFO, msg: "request", method: "GET", route: "/api/v1/rooms/:roomId", path: `/api/v1/rooms/${roomId}`, status: 200 });
      expect(lines[0]!.ms).toEqual(expect.any(Number));
      // One node key per line (the child logger's), so a JSON parser keeps which node wrote it.
      expect(log.text().split("\n").find((l) => l.includes("test-req-0001"))!.match(/"node":/g)).toHaveLength(1);
      const probe = log.lines().filter((l) => l.reqId === "test-probe-0001");
      expect(probe).toMatchObject([{ level: DEBUG, route: "/readyz", status: 200 }]);
      // Never a credential: not the session cookie, not the CSRF token, not the query string.
      expect(log.text()).not.toContain(alice.cookie!.split("=")[1]!);
      expect(log.text()).not.toContain(alice.csrfToken!);
      expect(log.text()).not.toContain("x=1");
    } finally {
      await t.destroy();
    }
  });

  it("logs a failed sign-in, a rate-limit refusal and a body over the size limit at warn, never the password", async () => {
    const log = capturedLog();
    const t = await startTestServer({ loginAttemptsPerMinute: 2 }, { logger: log.logger });
    try {
      const alice = await signup(t.baseUrl, "alice");
      const login = (password: string) =>
        fetch(`${t.baseUrl}/api/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: alice.user.username, password }) });
      expect((await login("wrong-Secret-77")).status).toBe(401);
      expect((await login("wrong-Secret-77")).status).toBe(401);
      expect((await login("wrong-Secret-77")).status).toBe(429);
      const big = await alice.post(`/rooms`, undefined, { raw: JSON.stringify({ name: "x".repeat(70 * 1024), kind: "public" }) });
      expect(big.status).toBe(413);

      const warned = log.lines().filter((l) => l.level === WARN);
      expect(warned.filter((l) => l.msg === "sign-in failed")).toMatchObject([
        { route: "/api/v1/auth/login", status: 401, login: alice.user.username },
        { route: "/api/v1/auth/login", status: 401, login: alice.user.username },
      ]);
      expect(warned.filter((l) => l.msg === "refused: rate limit")).toMatchObject([{ route: "/api/v1/auth/login", status: 429 }]);
      expect(warned.filter((l) => l.msg === "refused: body too large")).toMatchObject([{ method: "POST", path: "/api/v1/rooms", status: 413 }]);
      for (const l of warned.filter((w) => w.status !== undefined)) expect(l.reqId).toEqual(expect.any(String));
      expect(log.text()).not.toContain("wrong-Secret-77");
    } finally {
      await t.destroy();
    }
  });

  it("logs refusals over the WebSocket at warn: a socket over a cap, and a socket's frames over its rate (once per socket)", async () => {
    const log = capturedLog();
    const t = await startTestServer({ wsSocketsPerUser: 1, wsCommandsPerSecond: 1 }, { logger: log.logger });
    try {
      const alice = await signupBot(t.baseUrl, "alice");
      const roomId = await createRoom(alice, "public");
      const socket = await SocketClient.connect(t.wsUrl, alice);
      await expect(SocketClient.connect(t.wsUrl, alice)).rejects.toThrow(/429/);
      // A burst of 4 is allowed at 1 per second; most of the rest are refused, well short of a flood (40 refused).
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => socket.command({ type: "message.send", roomId, body: `n${i}`, clientId: `burst-${i}-${Date.now()}` })),
      );
      expect(answers.filter((a) => a.type === "error" && a.code === "rate_limited").length).toBeGreaterThanOrEqual(2);
      const warned = log.lines().filter((l) => l.level === WARN);
      expect(warned.filter((l) => l.msg === "socket refused: rate limit")).toMatchObject([{ userId: alice.user.id, limit: "--ws-sockets-per-user" }]);
      expect(warned.filter((l) => l.msg === "socket frames refused: rate limit")).toHaveLength(1);
      expect(log.text()).not.toContain(alice.bearer!);
      await socket.close();
    } finally {
      await t.destroy();
    }
  });

  it('logs "stopped after N ms" at the end of a shutdown', async () => {
    const log = capturedLog();
    const t = await startTestServer({}, { logger: log.logger });
    await t.destroy();
    const last = log.lines().at(-1);
    expect(last).toMatchObject({ level: INFO, msg: expect.stringMatching(/^stopped after \d+ ms$/) });
    expect(last!.ms).toEqual(expect.any(Number));
  });

  it("logs where the metrics listener serves when it picked its own port", async () => {
    const log = capturedLog();
    const t = await startTestServer({ metricsPort: 0 }, { logger: log.logger });
    try {
      const url = t.server.metricsUrl;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(url).not.toContain(":0/");
      expect(log.lines().find((l) => l.msg === `metrics at ${url}`)).toMatchObject({ level: INFO, metricsUrl: url });
    } finally {
      await t.destroy();
    }
  });
});

/** True when a new TCP connection to the server is refused (it stopped listening). */
function refusesConnections(baseUrl: string): Promise<boolean> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });
}

/** Polls `check` every 20 ms until it holds or `ms` pass; fails the test on timeout. */
async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("graceful shutdown (drain)", () => {
  it("turns /readyz 503 first and keeps serving for the grace, then stops listening, finishes what is in flight and closes sockets with 1012", async () => {
    const t = await startTestServer();
    const alice = await signup(t.baseUrl, "alice");
    const roomId = await createRoom(alice, "public");
    const socket = await SocketClient.connect(t.wsUrl, alice);

    // A request in flight across the whole drain: its headers and half its body now, the rest once the node stopped listening.
    const { hostname, port } = new URL(t.baseUrl);
    const body = JSON.stringify({ body: "sent while the node drains", clientId: `drain-${Date.now()}` });
    const inFlight = http.request({
      host: hostname,
      port: Number(port),
      method: "POST",
      path: `/api/v1/rooms/${roomId}/messages`,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), cookie: alice.cookie!, "x-csrf-token": alice.csrfToken! },
      agent: false,
    });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      inFlight.on("response", (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      inFlight.on("error", reject);
    });
    inFlight.write(body.slice(0, 10));
    inFlight.flushHeaders();

    const graceMs = 3_000;
    const closed = t.server.close({ graceMs });
    try {
      // Draining: readiness is off at once, with Retry-After; everything else is still served, each answer ending its connection.
      const ready = await fetch(`${t.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get("retry-after")).toBe("5");
      expect(await ready.json()).toMatchObject({ error: { code: "unavailable" } });
      const me = await fetch(`${t.baseUrl}/api/v1/me`, { headers: { cookie: alice.cookie! } });
      expect(me.status).toBe(200);
      expect(me.headers.get("connection")).toBe("close");
      // A new socket is refused (503: nginx tries another node); the open one is still served.
      await expect(SocketClient.connect(t.wsUrl, alice)).rejects.toThrow(/503/);
      expect(socket.closeInfo).toBeNull();
      const ack = await socket.command({ type: "message.send", roomId, body: "still served", clientId: `grace-${Date.now()}` });
      expect(ack.type).toBe("ack");

      // Then the listener closes; the open socket gets 1012; the request in flight still completes.
      await until(() => refusesConnections(t.baseUrl), graceMs + 10_000, "the listener to close");
      expect(await socket.whenClosed()).toMatchObject({ code: 1012 });
      inFlight.end(body.slice(10));
      const result = await answered;
      expect(result.status).toBe(201);
      expect(JSON.parse(result.text)).toMatchObject({ message: { body: "sent while the node drains" } });
      await closed;
    } finally {
      await closed.catch(() => undefined);
      await t.destroy();
    }
  }, 30_000);
});
