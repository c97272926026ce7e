import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DiskStorage } from "@server/files/disk.js";
import { S3Storage } from "@server/files/s3.js";
import type { FileStorage } from "@server/files/storage.js";
import { StartupError } from "@server/app.js";
import { startTestS3, type TestS3 } from "../support/s3.js";
import { startTestServer } from "../support/server.js";

/**
 * The file storage contract (files/storage.ts), one suite run against both
 * backends: the local disk, and S3 through a real S3 server (s3rver) over
 * HTTP. Then what only the disk promises, and the start-up check of an S3
 * store.
 */

const MiB = 1024 * 1024;
const root = path.resolve(import.meta.dirname, "../..");

/** A stream's bytes, whole (small objects only). */
async function bytesOf(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** SHA-256 of a stream, read through without holding it. */
async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * `size` random bytes made as they are read, 64 KiB at a time (never whole
 * in memory), hashed as they go. `failAt`: the stream errors once it has
 * given that many bytes. `onChunk` runs before each chunk (to sample memory).
 */
function generated(size: number, opts: { failAt?: number; onChunk?: () => void } = {}): { stream: Readable; sha256: () => string } {
  const hash = createHash("sha256");
  let given = 0;
  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      opts.onChunk?.();
      if (opts.failAt !== undefined && given >= opts.failAt) {
        this.destroy(new Error("the source broke off"));
        return;
      }
      if (given >= size) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(64 * 1024, size - given));
      given += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest("hex") };
}

/** Every key under `prefix`, sorted. */
async function keysOf(storage: FileStorage, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of storage.list(prefix)) keys.push(key);
  return keys.sort();
}

/**
 * V8's garbage collector, callable: what a stream has read and let go of
 * is garbage until a collection, and would count as held without one.
 */
v8.setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** The heap and Buffer memory this process holds now, after a full collection (bytes). */
const memoryHeld = (): number => {
  collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

interface Backend {
  name: string;
  open(): Promise<FileStorage>;
  cleanup(): Promise<void>;
  /** The first byte's range: s3rver answers `bytes=0-0` with the whole object (its store reads `end || Infinity`); S3 does not. */
  firstBytes: { start: number; end: number };
}

let s3: TestS3;

const backends: Backend[] = [
  (() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-storage-"));
    return {
      name: "local disk",
      open: () => DiskStorage.open(dir),
      cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
      firstBytes: { start: 0, end: 0 },
    };
  })(),
  {
    name: "S3 (s3rver)",
    // Under a key prefix, as an installation sharing a bucket would be.
    open: () => S3Storage.open({ storageUrl: `${s3.storageUrl}/team`, s3Endpoint: s3.endpoint, s3Region: "us-east-1", s3ForcePathStyle: true }),
    cleanup: async () => undefined,
    firstBytes: { start: 0, end: 1 },
  },
];

beforeAll(async () => {
  s3 = await startTestS3();
  // The SDK's default chain reads these; stubbed for this file only.
  for (const [name, value] of Object.entries(s3.env)) vi.stubEnv(name, value);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await s3?.stop();
});

describe.each(backends)("file storage contract: $name", (backend) => {
  let storage: FileStorage;

  beforeAll(async () => {
    storage = await backend.open();
  });

  afterAll(async () => {
    await storage?.close();
    await backend.cleanup();
  });

  it("stores an object and gives it back, whole, with its size and time in the listing", async () => {
    const put = await storage.put("a1/hello", Readable.from([Buffer.from("hello, "), Buffer.from("world")]), { contentType: "text/plain" });
    expect(put).toEqual({ size: 12 });
    const got = await storage.get("a1/hello");
    expect(got?.size).toBe(12);
    expect((await bytesOf(got!.body)).toString()).toBe("hello, world");
    const listed = [];
    for await (const entry of storage.list("a1/")) listed.push(entry);
    expect(listed).toEqual([{ key: "a1/hello", modifiedAt: expect.any(Date), size: 12 }]);
    // Stored again under the same key: replaced, not appended.
    await storage.put("a1/hello", Readable.from([Buffer.from("bye")]), { contentType: "text/plain" });
    expect((await bytesOf((await storage.get("a1/hello"))!.body)).toString()).toBe("bye");
  });

  it("streams a 30 MiB object in and out with the same SHA-256, without holding it", async () => {
    const size = 30 * MiB;
    const baseline = memoryHeld();
    let peak = baseline;
    let chunks = 0;
    // Sampled every 32 chunks (2 MiB): a full collection each time.
    const source = generated(size, { onChunk: () => chunks++ % 32 === 0 && (peak = Math.max(peak, memoryHeld())) });
    expect(await storage.put("b2/large", source.stream, { contentType: "application/octet-stream" })).toEqual({ size });
    const got = await storage.get("b2/large");
    expect(got?.size).toBe(size);
    expect(await sha256Of(got!.body)).toBe(source.sha256());
    // Measured: about 1 MiB on the disk, 16 MiB to S3 (three 5 MiB parts). With a generous margin:
    // a put that buffered the file would hold all 30 MiB at once.
    expect(peak - baseline, `${Math.round((peak - baseline) / MiB)} MiB more heap and buffers at the peak`).toBeLessThan(size);
  }, 120_000);

  it("gives byte ranges: the first byte(s), the middle, the last byte, each with the whole size", async () => {
    const content = randomBytes(1000);
    await storage.put("c3/ranged", Readable.from([content]), { contentType: "application/octet-stream" });
    for (const { start, end } of [backend.firstBytes, { start: 400, end: 599 }, { start: 999, end: 999 }]) {
      const got = await storage.get("c3/ranged", { start, end });
      expect(got?.size, `${start}-${end}`).toBe(1000);
      expect(await bytesOf(got!.body), `${start}-${end}`).toEqual(content.subarray(start, end + 1));
    }
  });

  it("answers null for a key it does not hold", async () => {
    expect(await storage.get("d4/nothing")).toBeNull();
    expect(await storage.get("d4/nothing", { start: 0, end: 9 })).toBeNull();
  });

  it("deletes the keys given, and a missing key is no error", async () => {
    for (const key of ["e5/one", "e5/two", "e5/three"]) await storage.put(key, Readable.from([Buffer.from(key)]), { contentType: "text/plain" });
    await storage.delete(["e5/one", "e5/three", "e5/never-stored"]);
    await storage.delete([]);
    expect(await storage.get("e5/one")).toBeNull();
    expect(await storage.get("e5/three")).toBeNull();
    expect((await bytesOf((await storage.get("e5/two"))!.body)).toString()).toBe("e5/two");
    expect(await keysOf(storage, "e5/")).toEqual(["e5/two"]);
  });

  it("lists the keys under a prefix, and every key without one", async () => {
    for (const key of ["f6/1", "f6/2", "f7/3"]) await storage.put(key, Readable.from([Buffer.from("x")]), { contentType: "text/plain" });
    expect(await keysOf(storage, "f6/")).toEqual(["f6/1", "f6/2"]);
    expect(await keysOf(storage, "f7/")).toEqual(["f7/3"]);
    expect(await keysOf(storage, "f8/")).toEqual([]);
    expect(await keysOf(storage)).toEqual(expect.arrayContaining(["a1/hello", "f6/1", "f6/2", "f7/3"]));
  });

  // 100 KiB: before S3's first part is full (a single PUT never sent); 12 MiB: after two 5 MiB parts went up.
  it.each([100 * 1024, 12 * MiB])("stores nothing from a body that fails after %i bytes", async (failAt) => {
    const key = `g9/broken-${failAt}`;
    const source = generated(20 * MiB, { failAt });
    await expect(storage.put(key, source.stream, { contentType: "application/octet-stream" })).rejects.toThrow("the source broke off");
    expect(await storage.get(key)).toBeNull();
    expect(await keysOf(storage, "g9/")).toEqual([]);
  }, 60_000);
});

describe("local disk only", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-disk-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("refuses a key that is not of the server's making, and writes nothing", async () => {
    const storage = await DiskStorage.open(path.join(dir, "files"));
    for (const key of ["../outside", "a/../../outside", "/etc/passwd", "ab/cd/ef", "AB/upper", ".hidden/x", "a/.dot"]) {
      await expect(storage.put(key, Readable.from([Buffer.from("x")]), { contentType: "text/plain" }), key).rejects.toThrow(/bad storage key/);
      await expect(storage.get(key), key).rejects.toThrow(/bad storage key/);
    }
    expect(fs.readdirSync(dir)).toEqual(["files"]);
    expect(await keysOf(storage)).toEqual([]);
  });

  it("leaves no temporary file behind a body that fails", async () => {
    const storage = await DiskStorage.open(path.join(dir, "broken"));
    await expect(storage.put("ab/x", generated(MiB, { failAt: 256 * 1024 }).stream, { contentType: "text/plain" })).rejects.toThrow("the source broke off");
    expect(fs.readdirSync(path.join(dir, "broken", ".incoming"))).toEqual([]);
  });

  it("removes temporaries older than an hour when it opens, and keeps newer ones (another node may be writing them)", async () => {
    const files = path.join(dir, "stale");
    await DiskStorage.open(files);
    const incoming = path.join(files, ".incoming");
    fs.writeFileSync(path.join(incoming, "old.part"), "left by a crash");
    fs.writeFileSync(path.join(incoming, "new.part"), "being written");
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(path.join(incoming, "old.part"), twoHoursAgo, twoHoursAgo);
    await DiskStorage.open(files);
    expect(fs.readdirSync(incoming)).toEqual(["new.part"]);
  });
});

/** One request as it crossed the wire: its method, path and query, and headers. */
interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * An HTTP relay in front of the S3 server that records every request's
 * headers: what the SDK actually sends, seen from outside it.
 */
async function startRelay(target: string): Promise<{ endpoint: string; seen: Seen[]; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const upstream = http.request({ host: hostname, port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("S3 only", () => {
  const settings = () => ({ s3Endpoint: s3.endpoint, s3Region: "us-east-1", s3ForcePathStyle: true });

  it("sends checksums only where S3 requires one, and then Content-MD5, which every store understands", async () => {
    const relay = await startRelay(s3.endpoint);
    const storage = await S3Storage.open({ storageUrl: `${s3.storageUrl}/wire`, s3Endpoint: relay.endpoint, s3Region: "us-east-1", s3ForcePathStyle: true });
    try {
      await storage.put("ab/small", Readable.from([Buffer.from("small")]), { contentType: "text/plain" });
      await storage.put("ab/large", generated(11 * MiB).stream, { contentType: "application/octet-stream" });
      await bytesOf((await storage.get("ab/large"))!.body);
      await storage.delete(["ab/small", "ab/large"]);
      const checksumHeaders = (s: Seen) => Object.keys(s.headers).filter((h) => /^x-amz-(sdk-)?checksum-/.test(h));
      const deletes = relay.seen.filter((s) => s.method === "POST" && /[?&]delete(=|&|$)/.test(s.url));
      const others = relay.seen.filter((s) => !deletes.includes(s));
      // A PUT, a multipart upload (create, three parts, complete), a GET, a HeadBucket.
      expect(others.length).toBeGreaterThanOrEqual(7);
      for (const s of others) {
        expect(checksumHeaders(s), `${s.method} ${s.url}`).toEqual([]);
        expect(s.headers["content-encoding"] ?? "", `${s.method} ${s.url}`).not.toContain("aws-chunked");
      }
      // One DeleteObjects, or more when the SDK retried it (a kept-alive connection the relay lost).
      expect(deletes.length).toBeGreaterThanOrEqual(1);
      for (const s of deletes) {
        expect(checksumHeaders(s)).toEqual([]);
        expect(s.headers["content-md5"]).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      }
      expect(await keysOf(storage)).toEqual([]);
    } finally {
      await storage.close();
      await relay.close();
    }
  });

  it("keeps an installation's objects under its key prefix, apart from another's in the same bucket", async () => {
    const team = await S3Storage.open({ storageUrl: `${s3.storageUrl}/prefixed/one/`, ...settings() });
    const other = await S3Storage.open({ storageUrl: `${s3.storageUrl}/prefixed/two`, ...settings() });
    const bucket = await S3Storage.open({ storageUrl: s3.storageUrl, ...settings() });
    try {
      await team.put("ab/mine", Readable.from([Buffer.from("one's")]), { contentType: "text/plain" });
      await other.put("ab/theirs", Readable.from([Buffer.from("two's")]), { contentType: "text/plain" });
      expect(await keysOf(team)).toEqual(["ab/mine"]);
      expect(await keysOf(other)).toEqual(["ab/theirs"]);
      expect(await team.get("ab/theirs")).toBeNull();
      expect(await keysOf(bucket, "prefixed/")).toEqual(["prefixed/one/ab/mine", "prefixed/two/ab/theirs"]);
      await team.delete(["ab/theirs"]);
      expect(await keysOf(other)).toEqual(["ab/theirs"]);
    } finally {
      await Promise.all([team.close(), other.close(), bucket.close()]);
    }
  });

  it("lists past one page of 1,000 keys, and deletes more keys than one DeleteObjects request takes", async () => {
    const storage = await S3Storage.open({ storageUrl: `${s3.storageUrl}/many`, ...settings() });
    try {
      const keys = Array.from({ length: 1005 }, (_, i) => `mm/${i}`);
      // Stored a few at a time: s3rver writes each object as files of its own.
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => storage.put(key, Readable.from([Buffer.from("x")]), { contentType: "text/plain" })));
      }
      expect((await keysOf(storage)).length).toBe(1005);
      await storage.delete(keys);
      expect(await keysOf(storage)).toEqual([]);
    } finally {
      await storage.close();
    }
  }, 120_000);

  it("a node refuses to start on a bucket that does not exist, credentials the store refuses, or none at all", async () => {
    const missing = startTestServer({ databaseUrl: "sqlite::memory:", storageUrl: "s3://parley-no-such-bucket", s3Endpoint: s3.endpoint });
    await expect(missing).rejects.toThrow(StartupError);
    await expect(missing).rejects.toThrow(
      `cannot open the file storage s3://parley-no-such-bucket (--storage-url): the bucket parley-no-such-bucket does not exist at the S3 endpoint ${s3.endpoint} (--s3-endpoint)`,
    );
    // s3rver knows one access key id (it does not check v4 signatures): another one is refused, 403.
    vi.stubEnv("AWS_ACCESS_KEY_ID", "SOMEONE-ELSE");
    try {
      await expect(startTestServer({ databaseUrl: "sqlite::memory:", storageUrl: s3.storageUrl, s3Endpoint: s3.endpoint })).rejects.toThrow(
        `(--storage-url): the S3 endpoint ${s3.endpoint} (--s3-endpoint) refused access to the bucket ${s3.bucket}: check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and their rights`,
      );
    } finally {
      vi.stubEnv("AWS_ACCESS_KEY_ID", s3.env.AWS_ACCESS_KEY_ID!);
    }
    // No credentials anywhere the SDK looks: not in the environment, no shared files, no instance role.
    const nowhere = path.join(os.tmpdir(), "parley-no-such-aws-dir");
    const noCredentials = {
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_PROFILE: "",
      AWS_SHARED_CREDENTIALS_FILE: path.join(nowhere, "credentials"),
      AWS_CONFIG_FILE: path.join(nowhere, "config"),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "",
      AWS_WEB_IDENTITY_TOKEN_FILE: "",
    };
    for (const [name, value] of Object.entries(noCredentials)) vi.stubEnv(name, value);
    try {
      await expect(startTestServer({ databaseUrl: "sqlite::memory:", storageUrl: s3.storageUrl, s3Endpoint: s3.endpoint })).rejects.toThrow(
        "(--storage-url): no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      );
    } finally {
      for (const [name, value] of Object.entries(s3.env)) vi.stubEnv(name, value);
    }
  });

  it("a node on an S3 store keeps its files there", async () => {
    const node = await startTestServer({ storageUrl: `${s3.storageUrl}/node`, s3Endpoint: s3.endpoint });
    const reader = await S3Storage.open({ storageUrl: `${s3.storageUrl}/node`, ...settings() });
    try {
      expect(node.server.files.kind).toBe("s3");
      await node.server.files.put("no/de", Readable.from([Buffer.from("from the node")]), { contentType: "text/plain" });
      expect((await bytesOf((await reader.get("no/de"))!.body)).toString()).toBe("from the node");
      expect(fs.existsSync(path.join(node.dataDir, "files"))).toBe(false);
    } finally {
      await reader.close();
      await node.destroy();
    }
  });

  it("a node whose S3 endpoint does not answer refuses to start, with one line naming --storage-url", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-s3-start-"));
    try {
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", "src/server/main.ts", "--port", "0", "--host", "127.0.0.1", "--data-dir", dataDir, "--storage-url", "s3://parley-files/team", "--s3-endpoint", "http://127.0.0.1:1"],
          { cwd: root, env: { ...process.env, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" } },
        );
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("exit", (code) => resolve({ code, stderr }));
      });
      expect(result.code, result.stderr).toBe(1);
      const lines = result.stderr.trimEnd().split("\n");
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^parley: cannot open the file storage s3:\/\/parley-files\/team \(--storage-url\): cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:1 \(--s3-endpoint\): .*ECONNREFUSED/,
      );
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
