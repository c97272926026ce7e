import { createHash } from "node:crypto";
import { pipeline, Readable, Transform } from "node:stream";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
  type DeleteObjectsCommandOutput,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Config } from "../config.js";
import type { FileStorage } from "./storage.js";

/** What an S3 store is opened from: the settings of config.ts (`--storage-url s3://…`, `--s3-*`). */
export type S3Settings = Pick<Config, "storageUrl" | "s3Endpoint" | "s3Region" | "s3ForcePathStyle">;

/**
 * A multipart upload's part (bytes): S3's smallest but for the last. An
 * upload holds at most PART_BYTES × (PARTS_IN_FLIGHT + 1) of a file in
 * memory, whatever the file's size.
 */
const PART_BYTES = 5 * 1024 * 1024;
/** Parts sent at once by one upload: two keep the link busy while one is being filled; lib-storage's default of 4 would hold 25 MiB per upload. */
const PARTS_IN_FLIGHT = 2;
/** DeleteObjects takes at most this many keys a request (S3 API reference). */
const DELETE_BATCH = 1000;
/** How long the start-up check waits for the store (ms): an endpoint that drops packets must not hang the start. */
const CHECK_TIMEOUT_MS = 10_000;
/** A TCP connection to the store that takes longer than this (ms) is an error, retried by the SDK. */
const CONNECT_TIMEOUT_MS = 5_000;

/** A bucket name as S3 allows it (3 to 63 of a-z 0-9 . -), as config.ts checks --storage-url. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `s3://bucket[/prefix]` → the bucket and the key prefix every key is
 * stored under (`prefix/`, or empty): several installations may share a
 * bucket under different prefixes.
 * @throws Error for a URL that is not `s3://<bucket>[/<prefix>]`
 */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!match || !BUCKET.test(match[1]!)) throw new Error(`${JSON.stringify(url)} is not s3://<bucket>[/<prefix>] with a bucket name of 3 to 63 of a-z 0-9 . -`);
  const prefix = (match[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: match[1]!, prefix: prefix === "" ? "" : `${prefix}/` };
}

/**
 * The file storage in an S3-compatible object store (`--storage-url
 * s3://bucket[/prefix]`): AWS S3, MinIO, Garage, Ceph, through
 * @aws-sdk/client-s3. Credentials come from the SDK's default chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, then the shared files and
 * instance roles), never from a flag, so they are in no command line or
 * log. Every node of an installation can use the same store: an object is
 * written whole (the PUT or the multipart upload completes) or not at all.
 */
export class S3Storage implements FileStorage {
  readonly kind = "s3" as const;

  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  /**
   * Opens the store and checks that the bucket answers (HeadBucket), so
   * that a wrong bucket, endpoint, region or credentials stop the start
   * rather than the first upload.
   * @throws Error with one sentence naming what to fix (the bucket, the
   *   endpoint, the credentials)
   */
  static async open(settings: S3Settings): Promise<S3Storage> {
    const { bucket, prefix } = parseS3Url(settings.storageUrl);
    // The SDK warns on Node 20 that its versions of 2027 will need Node 22: nine lines on stderr at
    // every start, before a start-up error's one line. Which Node Parley runs on is package.json's
    // "engines" to say, for the SDK version it locks; an operator may still set this to "false".
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const client = new S3Client({
      region: settings.s3Region,
      ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint } : {}),
      forcePathStyle: settings.s3ForcePathStyle,
      // Since 3.729 the SDK sends CRC32 checksums, with aws-chunked trailers on
      // streamed bodies, on every operation that accepts one, and validates
      // those of answers; many self-hosted stores refuse or lack them. Only
      // where the operation requires one (DeleteObjects, then sent as
      // Content-MD5: withContentMd5): the AWS SDKs' documented opt-out
      // ("Data Integrity Protections for Amazon S3").
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
    });
    const storage = new S3Storage(client, bucket, prefix);
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    } catch (err) {
      client.destroy();
      throw new Error(whyUnreachable(err, bucket, settings), { cause: err });
    }
    return storage;
  }

  /**
   * Streams `body` into the store with lib-storage's Upload: a single PUT
   * for a body under one part, else a multipart upload of PART_BYTES
   * parts, PARTS_IN_FLIGHT at once (the body's length need not be known).
   * A body that errors stores nothing: before the first part is full no
   * request was made; after, Upload aborts the multipart upload
   * (`leavePartsOnError: false`), which discards its parts.
   * @throws the body's error, or the store's
   */
  async put(key: string, body: Readable, opts: { contentType: string }): Promise<{ size: number }> {
    let size = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    // pipeline, not pipe: a failing body destroys `counted` with its error, which fails the Upload's read.
    let bodyError: unknown = null;
    pipeline(body, counted, (err) => {
      if (err) bodyError ??= err;
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.prefix + key, Body: counted, ContentType: opts.contentType },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      body.destroy();
      // The body's own error first (an upload route's "too large" must reach its caller as such), even
      // when aborting the multipart upload failed too (s3rver cannot abort): its parts, never visible
      // as an object, then wait for the bucket's AbortIncompleteMultipartUpload lifecycle rule.
      throw bodyError ?? err;
    }
    return { size };
  }

  async get(key: string, range?: { start: number; end: number }): Promise<{ body: Readable; size: number } | null> {
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
    } catch (err) {
      if (err instanceof S3ServiceException && err.name === "NoSuchKey") return null;
      throw err;
    }
    // In Node the SDK's body is the HTTP response (an IncomingMessage): a Readable.
    if (!(out.Body instanceof Readable)) throw new Error(`S3 answered GetObject ${key} without a readable body`);
    // A range's answer says the object's whole size after the slash: "bytes 0-9/1234".
    const total = range ? Number(/\/(\d+)$/.exec(out.ContentRange ?? "")?.[1]) : out.ContentLength;
    if (total === undefined || !Number.isFinite(total)) {
      out.Body.destroy();
      throw new Error(`S3 answered GetObject ${key} without its size (Content-Range ${JSON.stringify(out.ContentRange)})`);
    }
    return { body: out.Body, size: total };
  }

  /**
   * Removes the keys with DeleteObjects, DELETE_BATCH a request; S3 counts
   * a key that is not there as deleted.
   * @throws Error naming the first key the store refused to delete
   */
  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const out: DeleteObjectsCommandOutput = await this.client.send(
        withContentMd5(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((key) => ({ Key: this.prefix + key })), Quiet: true } })),
      );
      const failed = (out.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new Error(`S3 did not delete ${failed.length} of ${batch.length} objects, the first ${first.Key}: ${first.Code} ${first.Message ?? ""}`.trim());
      }
    }
  }

  /** Every object under the key prefix and `prefix`, by ListObjectsV2 pages (1,000 keys each), keys relative to the key prefix. */
  async *list(prefix = ""): AsyncIterable<{ key: string; modifiedAt: Date; size: number }> {
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: this.prefix + prefix })) {
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key.slice(this.prefix.length), modifiedAt: object.LastModified ?? new Date(0), size: object.Size ?? 0 };
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/**
 * A DeleteObjects request with Content-MD5 instead of the CRC32 the SDK now
 * sends on it (even with WHEN_REQUIRED: S3 requires a checksum there):
 * stores that predate the new checksums (older MinIO, Ceph RGW) answer
 * MissingContentMD5, and some refuse the x-amz-sdk-checksum-algorithm
 * header outright. The middleware is the one the SDK's maintainers give for
 * this (aws-sdk-js-v3 supplemental-docs/MD5_FALLBACK.md), placed after the
 * SDK's checksum middleware (which would otherwise add its headers back)
 * and, being in the build step, before signing: the header is signed.
 */
function withContentMd5(command: DeleteObjectsCommand): DeleteObjectsCommand {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (request.headers && typeof request.body === "string") {
        for (const name of Object.keys(request.headers)) {
          const lower = name.toLowerCase();
          if (lower.startsWith("x-amz-checksum-") || lower.startsWith("x-amz-sdk-checksum-")) delete request.headers[name];
        }
        request.headers["content-md5"] = createHash("md5").update(request.body).digest("base64");
      }
      return next(args);
    },
    // "low": after the build step's other middleware, the SDK's flexibleChecksumsMiddleware among them.
    { step: "build", priority: "low", name: "parleyDeleteObjectsContentMd5" },
  );
  return command;
}

/** Why the store did not answer the start-up check, as one sentence naming the setting to fix. */
function whyUnreachable(err: unknown, bucket: string, settings: S3Settings): string {
  const where = settings.s3Endpoint ? `the S3 endpoint ${new URL(settings.s3Endpoint).origin} (--s3-endpoint)` : `AWS S3 in ${settings.s3Region} (--s3-region)`;
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  const name = err instanceof Error ? err.name : "";
  if (status === 404 || name === "NotFound" || name === "NoSuchBucket") return `the bucket ${bucket} does not exist at ${where}`;
  if (status === 403) return `${where} refused access to the bucket ${bucket}: check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and their rights`;
  if (status === 301 || name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed") return `the bucket ${bucket} is in another region than ${settings.s3Region} (--s3-region)`;
  if (name === "CredentialsProviderError") return `no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or another source of the AWS SDK's)`;
  if (name === "TimeoutError" || name === "AbortError") return `${where} did not answer within ${CHECK_TIMEOUT_MS / 1000} s`;
  const code = (err as NodeJS.ErrnoException).code;
  const reason = err instanceof Error ? err.message : String(err);
  if (code && /^E[A-Z]+$/.test(code)) return `cannot reach ${where}: ${reason}`;
  return `${where} answered the check of the bucket ${bucket} with ${status ?? "an error"}: ${reason}`;
}
