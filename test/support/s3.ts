import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";

/**
 * A real S3 protocol server for tests: s3rver (an S3 implementation in
 * Node, on the file system: a devDependency) in a process of its own, on
 * 127.0.0.1 with an ephemeral port, in a temp directory of its own, with
 * one bucket of a unique name. Not a mock of the SDK: requests go over
 * HTTP, signed, as to any self-hosted store.
 *
 * Its own process, for two reasons: s3rver signs ListObjectsV2's
 * continuation tokens with DES, which Node 20's OpenSSL 3 serves only with
 * --openssl-legacy-provider (without it every listing past one page answers
 * 500); and a test measuring this process's memory while it streams to the
 * store must not count the store's.
 */
export interface TestS3 {
  /** `http://127.0.0.1:<port>`, for --s3-endpoint. */
  endpoint: string;
  bucket: string;
  /** `s3://<bucket>`, for --storage-url. */
  storageUrl: string;
  /** s3rver's own account (S3RVER / S3RVER): it refuses other access key ids (it does not check v4 signatures). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * What a node or copy-database needs in its environment to use this
   * store: the credentials, the endpoint and path-style addressing. For a
   * child process's `env`, or `vi.stubEnv` in this one (undone by
   * `vi.unstubAllEnvs`), never set for good.
   */
  env: Record<string, string>;
  /** Stops the server and removes its directory and everything stored. */
  stop(): Promise<void>;
}

/** The account s3rver knows by default (its README). */
const ACCOUNT = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** Run by the child: starts s3rver, says its port, and ends when its parent does (stdin closes). */
const SERVER = `
const S3rver = require("s3rver");
const [directory, bucket] = process.argv.slice(1);
process.stdin.on("end", () => process.exit(0)).resume();
new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] })
  .run()
  .then(({ port }) => process.stdout.write("listening " + port + "\\n"), (err) => { console.error(err); process.exit(1); });
`;

/** Starts s3rver with one fresh bucket. */
export async function startTestS3(): Promise<TestS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "parley-s3-"));
  const bucket = `parley-${randomBytes(6).toString("hex")}`;
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", SERVER, directory, bucket], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = once(child, "exit");
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const match = /listening (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      void exited.then(([code]) => reject(new Error(`s3rver exited with code ${String(code)} before listening: ${err}`)));
    });
  } catch (err) {
    fs.rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    storageUrl: `s3://${bucket}`,
    credentials: ACCOUNT,
    env: {
      AWS_ACCESS_KEY_ID: ACCOUNT.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ACCOUNT.secretAccessKey,
      PARLEY_S3_ENDPOINT: endpoint,
      PARLEY_S3_FORCE_PATH_STYLE: "true",
    },
    async stop() {
      try {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          await exited;
        }
      } finally {
        fs.rmSync(directory, { recursive: true, force: true });
      }
    },
  };
}
