import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Socket } from "node:net";
import { startTestServer } from "../support/server.js";
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
