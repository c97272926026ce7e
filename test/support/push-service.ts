import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import type { Socket } from "node:net";
import ece from "http_ece";

/**
 * A Web Push service played by the test (RFC 8030), for integration,
 * cluster and e2e tests: a real HTTPS server on 127.0.0.1 that checks each
 * push request as a real push service would and decrypts its payload with
 * the subscription's private key. Never a mock of web-push: Parley's sender
 * runs for real against it.
 *
 * TLS: a fresh self-signed certificate (P-256, 1 day, SAN IP:127.0.0.1 and
 * DNS:localhost) is made with the `openssl` CLI at each `startPushService`;
 * `service.ca` is its PEM, for the node's push agent to trust
 * (`startTestServer(..., { pushTls: { ca: service.ca } })`); a node run as
 * a child process (`node dist/server/main.js`) trusts it with the
 * environment variable `NODE_EXTRA_CA_CERTS=<service.caFile>`. Nothing
 * about the certificate is committed.
 *
 * What each request must carry (else it is answered 400/401, recorded in
 * `refused` with the reason, and NOT in `received`):
 * - `POST /push/<subscription id>` of a subscription made by
 *   `subscriptionFor` (else 404, as a real service answers an unknown one);
 * - `Authorization: vapid t=<JWT>, k=<public key>` (RFC 8292): the JWT's
 *   header says ES256, its signature verifies (node:crypto) against `k`,
 *   `aud` is this service's origin, `exp` is in the future and at most
 *   24 h ahead, `sub` is a mailto: or https: URL;
 * - `Content-Encoding: aes128gcm`, a `TTL` header (a number), an `Urgency`
 *   of very-low/low/normal/high when present;
 * - a body that decrypts (RFC 8291 with RFC 8188, by `http_ece`) with the
 *   subscription's private key and auth secret.
 *
 * Then it answers what `respondWith` said (201 by default; 404/410 tell
 * the sender the subscription is gone; "hang" never answers, until
 * `close`), and records the request in `received`, payload decrypted and
 * JSON-parsed, whatever it answered.
 *
 * Usage:
 * ```ts
 * const push = await startPushService();
 * const t = await startTestServer({ pushAllowPrivateEndpoints: true }, { pushTls: { ca: push.ca } });
 * const sub = push.subscriptionFor();          // keys made here (or pass makeKeys()' result)
 * await bob.post("/push/subscriptions", sub.json);
 * // … a DM to bob with no socket open …
 * const [push1] = await push.waitForPushes(1);
 * expect(PushPayloadSchema.parse(push1.payload)).toMatchObject({ kind: "message" });
 * await push.close();
 * ```
 * From a browser test (e2e): post `sub.json` as the subscription of the
 * browser's user (its endpoint points here), then hand `received[i].body`
 * (the decrypted text) to the service worker (CDP
 * ServiceWorker.deliverPushMessage).
 */

/** A subscription's key material as a browser holds it (base64url, no padding). */
export interface SubscriptionKeys {
  /** The uncompressed P-256 public key (65 bytes): PushSubscription's `p256dh`. */
  p256dh: string;
  /** The 16-byte authentication secret: PushSubscription's `auth`. */
  auth: string;
  /** The P-256 private key (32 bytes): what only the browser knows. */
  privateKey: string;
}

/** A subscription on this service: its endpoint and keys, and the JSON a browser would POST. */
export interface TestSubscription {
  /** The id in the endpoint's path. */
  id: string;
  endpoint: string;
  keys: SubscriptionKeys;
  /** PushSubscription.toJSON()'s shape: the body of POST /api/v1/push/subscriptions (a `label` may be added). */
  json: { endpoint: string; keys: { p256dh: string; auth: string } };
}

/** The VAPID claims of a request (RFC 8292), verified. */
export interface VapidClaims {
  aud: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  sub: string;
  /** The `k` parameter: the application server's public key (base64url). */
  publicKey: string;
}

/** A push request that passed every check. */
export interface ReceivedPush {
  subscriptionId: string;
  endpoint: string;
  /** The TTL header, seconds. */
  ttl: number;
  /** The Urgency header; "normal" when absent (RFC 8030 §5.3). */
  urgency: string;
  /** The Topic header, if any. */
  topic: string | null;
  vapid: VapidClaims;
  /** The decrypted payload as text (empty for a push without payload). */
  body: string;
  /** `body` parsed as JSON; null when it is not JSON. */
  payload: unknown;
  /** What this service answered (a status, or a hostile behaviour). */
  answered: PushAnswer;
}

/** A request the service refused before decrypting: why. */
export interface RefusedPush {
  path: string;
  status: number;
  reason: string;
}

/**
 * What the service answers: a status code; or a hostile service: "hang"
 * (never answers: the socket stays open until `close`), "flood" (201, then
 * an endless body as fast as the client reads), "trickle" (201, then one
 * byte every 50 ms, forever: never idle long enough for an idle timeout).
 */
export type PushAnswer = number | "hang" | "flood" | "trickle";

export interface PushService {
  /** `https://127.0.0.1:<port>`: the VAPID `aud` every request must name. */
  origin: string;
  /** The PEM certificate the service presents: give it to the node's push agent as its CA. */
  ca: string;
  /** The same certificate in a file (removed by `close`), for a child process's NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** Makes a subscription on this service (with fresh keys unless given). */
  subscriptionFor(keys?: SubscriptionKeys): TestSubscription;
  /** Every request that passed the checks, in arrival order. */
  readonly received: ReceivedPush[];
  /** Every request refused by a check, in arrival order (a test asserts it stays empty). */
  readonly refused: RefusedPush[];
  /** What to answer from now on: for every subscription, or only for `subscriptionId`. */
  respondWith(answer: PushAnswer, subscriptionId?: string): void;
  /** Resolves with the first `n` received pushes (of `subscriptionId` if given) once there are that many; rejects after `ms` (default 10 s). */
  waitForPushes(n: number, opts?: { subscriptionId?: string; ms?: number }): Promise<ReceivedPush[]>;
  /** Requests still held open (answered "hang", "flood" or "trickle", socket open). */
  readonly hanging: number;
  /** Stops the server, cutting hanging requests. */
  close(): Promise<void>;
}

/** A fresh P-256 key pair and auth secret, as a browser makes for PushManager.subscribe. */
export function makeKeys(): SubscriptionKeys {
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.generateKeys();
  return {
    p256dh: ecdh.getPublicKey().toString("base64url"),
    auth: crypto.randomBytes(16).toString("base64url"),
    privateKey: ecdh.getPrivateKey().toString("base64url"),
  };
}

/**
 * Decrypts a Web Push body (RFC 8291: aes128gcm, the sender's ephemeral key
 * in the header) with a subscription's keys.
 * @throws when the body is not aes128gcm for these keys (a wrong key, a forged or truncated body)
 */
export function decryptPush(body: Buffer, keys: SubscriptionKeys): Buffer {
  const ecdh = crypto.createECDH("prime256v1");
  ecdh.setPrivateKey(Buffer.from(keys.privateKey, "base64url"));
  return ece.decrypt(body, { version: "aes128gcm", privateKey: ecdh, authSecret: keys.auth });
}

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, made by openssl in a temp dir (removed at once). */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-push-tls-"));
  try {
    const keyFile = path.join(dir, "key.pem");
    const certFile = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      { stdio: "ignore" },
    );
    return { key: fs.readFileSync(keyFile, "utf8"), cert: fs.readFileSync(certFile, "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A P-256 public key (65-byte uncompressed point) as a KeyObject. @throws when it is not one */
function p256PublicKey(raw: Buffer): crypto.KeyObject {
  if (raw.length !== 65 || raw[0] !== 4) throw new Error("k is not an uncompressed P-256 point");
  return crypto.createPublicKey({
    key: { kty: "EC", crv: "P-256", x: raw.subarray(1, 33).toString("base64url"), y: raw.subarray(33).toString("base64url") },
    format: "jwk",
  });
}

/**
 * Checks an `Authorization: vapid t=…, k=…` header against RFC 8292.
 * @returns the claims, or the reason it fails
 */
export function verifyVapid(header: string | undefined, origin: string, nowMs = Date.now()): VapidClaims | string {
  if (!header) return "no Authorization header";
  const match = /^vapid\s+(.+)$/i.exec(header.trim());
  if (!match) return "Authorization is not the vapid scheme";
  const params = new Map<string, string>();
  for (const part of match[1]!.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const token = params.get("t");
  const k = params.get("k");
  if (!token || !k) return "vapid needs t= and k=";
  const [h, p, s] = token.split(".");
  if (!h || !p || !s) return "t is not a JWT";
  let jwtHeader: { alg?: unknown; typ?: unknown };
  let claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  try {
    jwtHeader = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as typeof jwtHeader;
    claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as typeof claims;
  } catch {
    return "JWT parts are not JSON";
  }
  if (jwtHeader.alg !== "ES256") return `JWT alg ${String(jwtHeader.alg)}, not ES256`;
  let key: crypto.KeyObject;
  try {
    key = p256PublicKey(Buffer.from(k, "base64url"));
  } catch (err) {
    return (err as Error).message;
  }
  // JWS ES256 signatures are r||s (64 bytes), not DER.
  const signed = crypto.verify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
  if (!signed) return "JWT signature does not verify against k";
  if (claims.aud !== origin) return `aud ${String(claims.aud)} is not ${origin}`;
  const nowS = nowMs / 1000;
  if (typeof claims.exp !== "number" || claims.exp <= nowS) return "exp missing or past";
  if (claims.exp > nowS + 24 * 3600 + 60) return "exp more than 24 h ahead";
  if (typeof claims.sub !== "string" || !/^(mailto:|https:)/.test(claims.sub)) return "sub is not a mailto: or https: URL";
  return { aud: claims.aud, exp: claims.exp, sub: claims.sub, publicKey: k };
}

const URGENCIES = new Set(["very-low", "low", "normal", "high"]);

/** Starts a push service on 127.0.0.1 (an ephemeral port). */
export async function startPushService(): Promise<PushService> {
  const tls = selfSignedCertificate();
  const subscriptions = new Map<string, TestSubscription>();
  const answers = new Map<string, PushAnswer>();
  let defaultAnswer: PushAnswer = 201;
  const received: ReceivedPush[] = [];
  const refused: RefusedPush[] = [];
  const hangingSockets = new Set<Socket>();
  let origin = "";

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const refuse = (status: number, reason: string) => {
        refused.push({ path: req.url ?? "", status, reason });
        res.writeHead(status, { "content-type": "text/plain" }).end(reason);
      };
      const id = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? "")?.[1];
      const subscription = id === undefined ? undefined : subscriptions.get(id);
      if (req.method !== "POST" || !subscription || id === undefined) return refuse(404, "no such subscription");
      const vapid = verifyVapid(req.headers.authorization, origin);
      if (typeof vapid === "string") return refuse(401, vapid);
      if (req.headers["content-encoding"] !== "aes128gcm") return refuse(400, `Content-Encoding ${String(req.headers["content-encoding"])}, not aes128gcm`);
      const ttl = Number(req.headers.ttl);
      if (req.headers.ttl === undefined || !Number.isInteger(ttl) || ttl < 0) return refuse(400, "TTL missing or not a number");
      const urgency = typeof req.headers.urgency === "string" ? req.headers.urgency : "normal";
      if (!URGENCIES.has(urgency)) return refuse(400, `Urgency ${urgency}`);
      let body: string;
      try {
        body = decryptPush(Buffer.concat(chunks), subscription.keys).toString("utf8");
      } catch (err) {
        return refuse(400, `does not decrypt: ${(err as Error).message}`);
      }
      let payload: unknown = null;
      try {
        payload = JSON.parse(body);
      } catch {
        // Not JSON: the test sees `body`.
      }
      const answer = answers.get(id) ?? defaultAnswer;
      received.push({
        subscriptionId: id,
        endpoint: subscription.endpoint,
        ttl,
        urgency,
        topic: typeof req.headers.topic === "string" ? req.headers.topic : null,
        vapid,
        body,
        payload,
        answered: answer,
      });
      if (typeof answer === "string") {
        hangingSockets.add(req.socket);
        req.socket.once("close", () => hangingSockets.delete(req.socket));
        if (answer === "flood") {
          res.writeHead(201, { "content-type": "application/octet-stream" });
          const chunk = Buffer.alloc(16 * 1024, 0x61);
          const pour = (): void => {
            while (!res.destroyed && res.write(chunk));
            if (!res.destroyed) res.once("drain", pour);
          };
          pour();
        } else if (answer === "trickle") {
          res.writeHead(201, { "content-type": "text/plain" });
          const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write("a")), 50);
          req.socket.once("close", () => clearInterval(timer));
        }
        return;
      }
      // RFC 8030 §5: 201 Created with the message's location.
      res.writeHead(answer, answer === 201 ? { location: `${origin}/message/${crypto.randomUUID()}` } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const caDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-push-ca-"));
  const caFile = path.join(caDir, "push-service-ca.pem");
  fs.writeFileSync(caFile, tls.cert);
  const { port } = server.address() as { port: number };
  origin = `https://127.0.0.1:${port}`;

  return {
    origin,
    ca: tls.cert,
    caFile,
    subscriptionFor(keys = makeKeys()) {
      const id = crypto.randomBytes(12).toString("base64url");
      const endpoint = `${origin}/push/${id}`;
      const subscription: TestSubscription = { id, endpoint, keys, json: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } } };
      subscriptions.set(id, subscription);
      return subscription;
    },
    received,
    refused,
    respondWith(answer, subscriptionId) {
      if (subscriptionId === undefined) {
        defaultAnswer = answer;
        answers.clear();
      } else answers.set(subscriptionId, answer);
    },
    async waitForPushes(n, opts = {}) {
      const ms = opts.ms ?? 10_000;
      const deadline = Date.now() + ms;
      const mine = () => received.filter((r) => opts.subscriptionId === undefined || r.subscriptionId === opts.subscriptionId);
      while (mine().length < n) {
        if (refused.length > 0) throw new Error(`the push service refused a request: ${JSON.stringify(refused)}`);
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${n} pushes (got ${mine().length})`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return mine().slice(0, n);
    },
    get hanging() {
      return hangingSockets.size;
    },
    async close() {
      for (const socket of hangingSockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(caDir, { recursive: true, force: true });
    },
  };
}
