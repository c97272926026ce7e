import { describe, expect, it } from "vitest";
import { DiskStorage } from "@server/files/disk.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { hashPassword, isCommonPassword, PasswordHasher, verifyPassword, type PasswordOps } from "@server/auth/passwords.js";
import { hashSecret, secretsEqual } from "@server/auth/credentials.js";
import { AuthService } from "@server/auth/service.js";
import { loadConfig } from "@server/config.js";
import { openStore } from "@server/store/store.js";
import { noMetrics } from "@server/metrics/registry.js";
import { MemoryBus } from "@server/bus/memory.js";
import { AppError } from "@server/errors.js";

describe("passwords", () => {
  it("hashes with argon2id and verifies only the right password", async () => {
    const hash = await hashPassword("tangerine-violet-42");
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, "tangerine-violet-42")).toBe(true);
    expect(await verifyPassword(hash, "tangerine-violet-43")).toBe(false);
    expect(await verifyPassword("not a hash", "x")).toBe(false);
  });

  it("knows common passwords regardless of case", async () => {
    expect(await isCommonPassword("password1")).toBe(true);
    expect(await isCommonPassword("QWERTY123")).toBe(true);
    expect(await isCommonPassword("tangerine-violet-42")).toBe(false);
  });

  it("stores secrets as SHA-256 and compares them in constant time", () => {
    expect(hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(secretsEqual("abc", "abc")).toBe(true);
    expect(secretsEqual("abc", "abd")).toBe(false);
    expect(secretsEqual("abc", "abcd")).toBe(false);
  });
});

/** Password ops whose every call waits until the test releases it, counting how many run at once. */
function gatedOps() {
  const gates: (() => void)[] = [];
  const stats = { calls: 0, running: 0, maxRunning: 0 };
  const gated = async <T>(value: T): Promise<T> => {
    stats.calls++;
    stats.running++;
    stats.maxRunning = Math.max(stats.maxRunning, stats.running);
    await new Promise<void>((resolve) => gates.push(resolve));
    stats.running--;
    return value;
  };
  const ops: PasswordOps = { hash: () => gated("$fake$"), verify: () => gated(false), burn: () => gated(undefined) };
  /** Lets the oldest running call finish, then lets p-limit start the next. */
  const releaseOne = async () => {
    gates.shift()?.();
    await flush();
  };
  return { ops, stats, releaseOne, gates };
}

/** Lets every pending promise callback run (p-limit starts queued work a few microtasks later). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("PasswordHasher", () => {
  it("never runs more than `concurrency` hashes, verifications and burns at once", async () => {
    const { ops, stats, releaseOne } = gatedOps();
    const hasher = new PasswordHasher({ concurrency: 2, queue: 10 }, ops);
    const work = [hasher.hash("a"), hasher.verify("h", "b"), hasher.burn("c"), hasher.hash("d"), hasher.verify("h", "e")];
    await flush();
    expect([stats.running, hasher.active, hasher.waiting]).toEqual([2, 2, 3]);
    for (let i = 0; i < 5; i++) {
      expect(stats.running).toBeLessThanOrEqual(2);
      await releaseOne();
    }
    expect(await Promise.all(work)).toEqual(["$fake$", false, undefined, "$fake$", false]);
    expect([stats.calls, stats.maxRunning, hasher.active, hasher.waiting]).toEqual([5, 2, 0, 0]);
  });

  it("refuses with rate_limited (Retry-After) past `concurrency + queue`, without running the work, and admits again once a place frees", async () => {
    const { ops, stats, releaseOne } = gatedOps();
    const hasher = new PasswordHasher({ concurrency: 1, queue: 2 }, ops);
    const admitted = [hasher.verify("h", "a"), hasher.burn("b"), hasher.hash("c")];
    const refused = await hasher.verify("h", "d").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: "rate_limited", status: 429 });
    expect((refused as AppError).retryAfter).toBeGreaterThan(0);
    await expect(hasher.burn("e")).rejects.toMatchObject({ code: "rate_limited" });
    await flush();
    expect(stats.calls).toBe(1); // the refused ones never reached argon2

    await releaseOne();
    const late = hasher.hash("f"); // one place freed
    for (let i = 0; i < 3; i++) await releaseOne();
    expect(await Promise.all([...admitted, late])).toEqual([false, undefined, "$fake$", "$fake$"]);
    expect(stats.calls).toBe(4);
  });

  it("a queue of 0 still runs `concurrency` at once and refuses the next", async () => {
    const { ops, releaseOne } = gatedOps();
    const hasher = new PasswordHasher({ concurrency: 2, queue: 0 }, ops);
    const two = [hasher.hash("a"), hasher.hash("b")];
    await expect(hasher.hash("c")).rejects.toMatchObject({ code: "rate_limited" });
    await releaseOne();
    await releaseOne();
    expect(await Promise.all(two)).toEqual(["$fake$", "$fake$"]);
  });
});

describe("signup does the same password work whatever the outcome", () => {
  it("a taken email or username is hashed like a new account before it is refused", async () => {
    const store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
    const calls: string[] = [];
    const ops: PasswordOps = {
      hash: async (password) => (calls.push(`hash:${password}`), `$fake$${password}`),
      verify: async () => false,
      burn: async () => undefined,
    };
    const config = loadConfig({ values: { databaseUrl: "sqlite::memory:" } });
    const filesDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-unit-files-"));
    const auth = new AuthService({ config, store, bus: new MemoryBus(), log: pino({ level: "silent" }), metrics: noMetrics, cluster: null, files: await DiskStorage.open(filesDir) }, new PasswordHasher({ concurrency: 1, queue: 10 }, ops));
    const body = (username: string, email: string, password: string) => ({ username, email, password, passwordConfirm: password });
    try {
      await auth.signup(body("first", "first@example.test", "tangerine-violet-1"));
      expect(calls).toEqual(["hash:tangerine-violet-1"]);

      await expect(auth.signup(body("second", "FIRST@example.test", "tangerine-violet-2"))).rejects.toMatchObject({ code: "email_taken" });
      await expect(auth.signup(body("FIRST", "third@example.test", "tangerine-violet-3"))).rejects.toMatchObject({ code: "username_taken" });
      expect(calls).toEqual(["hash:tangerine-violet-1", "hash:tangerine-violet-2", "hash:tangerine-violet-3"]);
      // And the refusals wrote nothing.
      expect(await store.db.selectFrom("users").select("username").execute()).toEqual([{ username: "first" }]);
    } finally {
      await store.close();
      fs.rmSync(filesDir, { recursive: true, force: true });
    }
  });
});
