import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DiskStorage } from "@server/files/disk.js";
import { S3Storage } from "@server/files/s3.js";
import type { FileStorage } from "@server/files/storage.js";
import { copyFiles, FileCopyCheckError, type FileCopyProgress } from "@server/files/copy.js";
import { startTestS3, type TestS3 } from "../support/s3.js";

/**
 * copy-database's copy of files (docs/moving-data.md): the local disk into
 * a real S3 server (s3rver), resumed after an interruption, a rerun that
 * copies nothing, a check that catches an object missing on the target,
 * and the command line.
 */

const root = path.resolve(import.meta.dirname, "../..");

/** What a small installation's storage holds: files and thumbnails, one larger than an S3 part. */
const OBJECTS: Record<string, Buffer> = {
  "0a/0a11": randomBytes(10),
  "0a/0a11.thumb": randomBytes(300),
  "3f/3f22": randomBytes(6 * 1024 * 1024),
  "c4/c433": Buffer.from("plain text"),
  "c4/c433.thumb": randomBytes(1000),
};

const digest = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** key → SHA-256 of every object of a storage. */
async function contentsOf(storage: FileStorage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const { key } of storage.list()) {
    const hash = createHash("sha256");
    for await (const chunk of (await storage.get(key))!.body) hash.update(chunk as Buffer);
    out[key] = hash.digest("hex");
  }
  return out;
}

const expected = Object.fromEntries(Object.entries(OBJECTS).map(([key, bytes]) => [key, digest(bytes)]));

describe("copying files between storages", () => {
  let s3: TestS3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-copy-files-"));
  const sourceDir = path.join(dir, "files");
  let source: DiskStorage;
  const opened: FileStorage[] = [];

  /** An S3 storage under a prefix of its own in the test bucket: an empty target. */
  async function s3Target(prefix: string): Promise<S3Storage> {
    const storage = await S3Storage.open({ storageUrl: `${s3.storageUrl}/${prefix}`, s3Endpoint: s3.endpoint, s3Region: "us-east-1", s3ForcePathStyle: true });
    opened.push(storage);
    return storage;
  }

  beforeAll(async () => {
    s3 = await startTestS3();
    for (const [name, value] of Object.entries(s3.env)) vi.stubEnv(name, value);
    source = await DiskStorage.open(sourceDir);
    opened.push(source);
    for (const [key, bytes] of Object.entries(OBJECTS)) await source.put(key, Readable.from([bytes]), { contentType: "application/octet-stream" });
  });

  afterAll(async () => {
    await Promise.allSettled(opened.map((s) => s.close()));
    vi.unstubAllEnvs();
    await s3?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("copies every object from the disk to S3, then a rerun copies nothing", async () => {
    const target = await s3Target("first");
    const seen: FileCopyProgress[] = [];
    const report = await copyFiles({ from: source, to: target, onProgress: (p) => seen.push(p) });
    expect(report).toEqual({ source: 5, target: 5, copied: 5, bytes: Object.values(OBJECTS).reduce((n, b) => n + b.length, 0), missing: [], ok: true });
    expect(await contentsOf(target)).toEqual(expected);
    expect(seen[0]).toMatchObject({ done: 0, total: 5, finished: false });
    expect(seen.at(-1)).toMatchObject({ done: 5, total: 5, copied: 5, finished: true });

    const again = await copyFiles({ from: source, to: target });
    expect(again).toMatchObject({ source: 5, target: 5, copied: 0, bytes: 0, ok: true });
  }, 60_000);

  it("resumes an interrupted copy, and copies again an object of another size or gone on the target", async () => {
    const target = await s3Target("resumed");
    const stopAfterTwo = (p: FileCopyProgress) => {
      if (p.done === 2) throw new Error("interrupted by the test");
    };
    await expect(copyFiles({ from: source, to: target, concurrency: 1, onProgress: stopAfterTwo })).rejects.toThrow("interrupted by the test");
    expect(Object.keys(await contentsOf(target))).toHaveLength(2);

    const resumed = await copyFiles({ from: source, to: target, concurrency: 1 });
    expect(resumed).toMatchObject({ source: 5, target: 5, copied: 3, ok: true });
    expect(await contentsOf(target)).toEqual(expected);

    // One object lost on the target, one cut short (as another tool could leave them): both copied again, nothing else.
    await target.delete(["0a/0a11"]);
    await target.put("c4/c433.thumb", Readable.from([Buffer.from("short")]), { contentType: "application/octet-stream" });
    const repaired = await copyFiles({ from: source, to: target });
    expect(repaired).toMatchObject({ copied: 2, ok: true });
    expect(await contentsOf(target)).toEqual(expected);
  }, 60_000);

  it("fails its check when an object did not arrive, naming it", async () => {
    const real = await DiskStorage.open(path.join(dir, "lossy"));
    // A target that answers a put for one key without storing it: what the final listing must catch.
    const lossy: FileStorage = {
      kind: real.kind,
      put: async (key, body, opts) => (key === "c4/c433" ? { size: (await body.toArray()).reduce((n: number, c: Buffer) => n + c.length, 0) } : real.put(key, body, opts)),
      get: (key, range) => real.get(key, range),
      delete: (keys) => real.delete(keys),
      list: (prefix) => real.list(prefix),
      close: () => real.close(),
    };
    const failure = await copyFiles({ from: source, to: lossy }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(FileCopyCheckError);
    expect((failure as FileCopyCheckError).report).toMatchObject({ source: 5, target: 4, missing: ["c4/c433"], ok: false });
    expect((failure as FileCopyCheckError).message).toContain("1 of 5 files are not on the target");
  });

  it("runs as part of copy-database: --from-storage and --to-storage alone copy the files, a rerun copies none", () => {
    const cli = (args: string[], env: Record<string, string> = s3.env) =>
      spawnSync(process.execPath, ["--import", "tsx", path.join(root, "src/server/copy-database.ts"), ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, ...env },
      });
    const args = ["--from-storage", `file:${sourceDir}`, "--to-storage", `${s3.storageUrl}/cli`];
    const first = cli(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^files: 5\/5 files, done$/m);
    expect(first.stdout).toContain("files: 5 on the source, 5 of them on the target with their size; 5 copied by this run");
    expect(first.stdout).toContain("Copy complete");

    const second = cli(args);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain("5 of them on the target with their size; 0 copied by this run (0 bytes)");

    // The S3 settings by flag instead of PARLEY_S3_*: the same store.
    const byFlag = cli([...args, "--s3-endpoint", s3.endpoint], { AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY!, PARLEY_S3_ENDPOINT: "" });
    expect(byFlag.status, byFlag.stderr).toBe(0);
    expect(byFlag.stdout).toContain("0 copied by this run");

    const missing = cli(["--from-storage", `file:${path.join(dir, "no-such-dir")}`, "--to-storage", `${s3.storageUrl}/cli`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^copy-database: cannot open --from-storage file:.*no-such-dir: the directory .*no-such-dir does not exist$/m);
    expect(fs.existsSync(path.join(dir, "no-such-dir"))).toBe(false);

    const badRegion = cli([...args, "--s3-region", ""]);
    expect(badRegion.status).toBe(1);
    expect(badRegion.stderr).toMatch(/^copy-database: Invalid --s3-region = "":/m);
  }, 120_000);
});
