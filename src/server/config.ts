import { parseArgs } from "node:util";
import fs from "node:fs";
import path from "node:path";
import { isIP } from "node:net";
import { z } from "zod";
import { MAX_SEARCH_QUERY_CHARS } from "@shared/protocol/search.js";

/**
 * Parley's configuration: each setting from a `--flag`, else an environment
 * variable, else its default; validated once at start-up. A bad value stops
 * the process with a message that names the setting (README lists them all).
 */

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
/** A yes/no setting, written true/false (or 1/0, yes/no). */
const Flag = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");
const MiB = 1024 * 1024;

/** Every setting: flag name, environment variable, schema, and what it is for. */
export const settings = {
  port: { env: "PARLEY_PORT", schema: z.coerce.number().int().min(0).max(65535).default(3000), doc: "TCP port for HTTP and WebSocket (0 = any free port). The conventional PORT variable is read too when PARLEY_PORT is unset." },
  host: { env: "PARLEY_HOST", schema: z.string().min(1).default("0.0.0.0"), doc: "Address to listen on; the default 0.0.0.0 is every IPv4 interface (127.0.0.1 = this machine only)." },
  dataDir: { env: "PARLEY_DATA_DIR", schema: z.string().min(1).default("./data"), doc: "Where the SQLite database, uploads in progress and (with the default --storage-url) uploaded files live; created if missing (its parent must exist)." },
  databaseUrl: { env: "PARLEY_DATABASE_URL", schema: z.string().optional(), doc: "Database: `sqlite:<file>` (its directory must exist), `sqlite::memory:` for a throwaway one, or `postgres://…`. Default: SQLite file `<data-dir>/parley.db`." },
  databasePoolSize: { env: "PARLEY_DATABASE_POOL_SIZE", schema: z.coerce.number().int().min(1).max(1000).default(10), doc: "PostgreSQL only: connections this node keeps to the database at most (node-postgres' pool). Nodes × this must stay under the server's max_connections." },
  redisUrl: { env: "PARLEY_REDIS_URL", schema: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional(), doc: "Redis (redis://[user:password@]host:port[/db]): set on every node of a many-node installation, with the same PostgreSQL --database-url; live events, presence and typing then reach the sockets on every node. Unset: one node, in-process fan-out." },
  redisKeyPrefix: { env: "PARLEY_REDIS_KEY_PREFIX", schema: z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/, "1 to 64 of A-Z a-z 0-9 _ : . -").default("parley:"), doc: "Prefix of the Redis channel Parley uses: installations sharing one Redis need different ones." },
  nodeTimeoutMs: { env: "PARLEY_NODE_TIMEOUT_MS", schema: z.coerce.number().int().min(300).max(300_000).default(15_000), doc: "Many nodes: a node not heard from for this long (ms) is taken for dead; whoever it showed online or typing is taken back by the others (offline after --presence-offline-grace-ms more). Each node beats every third of it." },
  storageUrl: { env: "PARLEY_STORAGE_URL", schema: z.string().regex(/^(file:|s3:\/\/)/, "must start with file: or s3://").optional(), doc: "Where uploaded files live: `file:<directory>` on this machine, or `s3://<bucket>[/<prefix>]` in any S3-compatible store (AWS S3, MinIO, Garage, Ceph; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the SDK's other sources). Default: `file:<data-dir>/files`. Every node of a many-node installation needs the same S3 store (or a directory they all share: --storage-shared)." },
  s3Endpoint: { env: "PARLEY_S3_ENDPOINT", schema: z.url().optional(), doc: "S3 storage: the endpoint URL of a store that is not AWS (MinIO, Garage, Ceph), e.g. http://127.0.0.1:9000. Unset: AWS for --s3-region." },
  s3Region: { env: "PARLEY_S3_REGION", schema: z.string().min(1).default("us-east-1"), doc: "S3 storage: the bucket's region." },
  s3ForcePathStyle: { env: "PARLEY_S3_FORCE_PATH_STYLE", schema: Flag.default(true), doc: "S3 storage: address the bucket in the path (http://host/bucket/key), as most self-hosted stores need; false: as a host name (bucket.host)." },
  storageShared: { env: "PARLEY_STORAGE_SHARED", schema: Flag.default(false), doc: "Many nodes with `file:` storage: say that the directory is the same one on every node (a network file system). Without it, --redis-url with file storage is refused: each node would hold files the others cannot serve." },
  uploadMaxBytes: { env: "PARLEY_UPLOAD_MAX_BYTES", schema: z.coerce.number().int().min(1024).max(4096 * MiB).default(25 * MiB), doc: "Largest file one upload may carry (bytes); a larger one is refused with 413 payload_too_large before the rest is read." },
  attachmentsPerMessage: { env: "PARLEY_ATTACHMENTS_PER_MESSAGE", schema: z.coerce.number().int().min(1).max(100).default(10), doc: "Files one message may carry." },
  uploadsPerMinute: { env: "PARLEY_UPLOADS_PER_MINUTE", schema: z.coerce.number().int().positive().default(30), doc: "Uploads one user may start per minute; past it 429 rate_limited." },
  uploadsInProgressPerUser: { env: "PARLEY_UPLOADS_IN_PROGRESS_PER_USER", schema: z.coerce.number().int().min(1).max(100).default(4), doc: "Uploads one user may have on their way to this node at once (each holds a temporary file until it is stored); another is refused with 429 rate_limited." },
  uploadQuotaBytes: { env: "PARLEY_UPLOAD_QUOTA_BYTES", schema: z.coerce.number().int().min(1024).default(2048 * MiB), doc: "Bytes of files (pending and sent, not deleted) one user may hold; an upload past it is refused with 409 limit_reached." },
  imageMaxPixels: { env: "PARLEY_IMAGE_MAX_PIXELS", schema: z.coerce.number().int().min(1).default(100_000_000), doc: "Largest image (width × height, every frame of an animation counted) the server decodes; a larger one is refused with 413 payload_too_large from its header, before decoding (decompression bombs)." },
  pendingUploadTtlMs: { env: "PARLEY_PENDING_UPLOAD_TTL_MS", schema: z.coerce.number().int().min(1000).default(24 * 60 * 60 * 1000), doc: "An upload not sent in a message within this long (ms) is deleted." },
  fileSweepIntervalMs: { env: "PARLEY_FILE_SWEEP_INTERVAL_MS", schema: z.coerce.number().int().min(100).default(10 * 60 * 1000), doc: "How often (ms) expired pending uploads, deleted messages' files and stored files no upload refers to are removed (with many nodes, by the leader)." },
  searchesPerMinute: { env: "PARLEY_SEARCHES_PER_MINUTE", schema: z.coerce.number().int().positive().default(60), doc: "Searches one user may run per minute (results as one types count each); past it 429 rate_limited." },
  searchQueryMaxChars: { env: "PARLEY_SEARCH_QUERY_MAX_CHARS", schema: z.coerce.number().int().min(10).max(MAX_SEARCH_QUERY_CHARS).default(MAX_SEARCH_QUERY_CHARS), doc: "Longest search query (characters); a longer one is refused with 400 validation_failed." },
  searchCountCap: { env: "PARLEY_SEARCH_COUNT_CAP", schema: z.coerce.number().int().min(10).max(100_000).default(1000), doc: "A search counts matches up to this many (and says \"1,000+\" past it); relevance ranks the newest this many matches." },
  searchBackfillBatch: { env: "PARLEY_SEARCH_BACKFILL_BATCH", schema: z.coerce.number().int().min(1).max(100_000).default(500), doc: "Messages stored before search existed are indexed in the background in transactions of this many, newest first, with a pause between (--search-backfill-pause-ms)." },
  searchBackfillPauseMs: { env: "PARLEY_SEARCH_BACKFILL_PAUSE_MS", schema: z.coerce.number().int().min(0).max(60_000).default(20), doc: "Pause between two backfill batches (ms), so that indexing old messages leaves the node free to serve." },
  notificationChangesPerMinute: { env: "PARLEY_NOTIFICATION_CHANGES_PER_MINUTE", schema: z.coerce.number().int().positive().default(120), doc: "Notification setting changes (account, rooms) and push subscription changes one user may make over HTTP per minute; past it 429 rate_limited (the socket has its own per-socket limit)." },
  notificationQueueMax: { env: "PARLEY_NOTIFICATION_QUEUE_MAX", schema: z.coerce.number().int().min(1).max(1_000_000).default(10_000), doc: "Messages a node holds waiting for the notification decider (after their commit, off the send path); past it the newest notify nobody (and are logged), so a burst cannot grow memory." },
  pushPreviews: { env: "PARLEY_PUSH_PREVIEWS", schema: Flag.default(true), doc: "Web Push notifications carry the message's first words; false: only \"New message from <name>\" (push services and lock screens then see no text)." },
  pushCollapseMs: { env: "PARLEY_PUSH_COLLAPSE_MS", schema: z.coerce.number().int().min(0).max(3_600_000).default(30_000), doc: "At most one Web Push per user and conversation per this many ms: later messages of a burst are collapsed into one push (\"3 new messages\") at its end." },
  pushSubscriptionsPerUser: { env: "PARLEY_PUSH_SUBSCRIPTIONS_PER_USER", schema: z.coerce.number().int().min(1).max(1000).default(20), doc: "Devices one user may subscribe to Web Push; another is refused with 409 limit_reached." },
  pushTestsPerMinute: { env: "PARLEY_PUSH_TESTS_PER_MINUTE", schema: z.coerce.number().int().positive().default(6), doc: "Test notifications (the settings screen's button) one user may ask for per minute; past it 429 rate_limited." },
  pushQueueMax: { env: "PARLEY_PUSH_QUEUE_MAX", schema: z.coerce.number().int().min(1).max(1_000_000).default(10_000), doc: "Web Push messages a node holds waiting to be sent; past it the oldest are dropped (and logged), so a slow push service cannot grow memory." },
  pushConcurrency: { env: "PARLEY_PUSH_CONCURRENCY", schema: z.coerce.number().int().min(1).max(256).default(16), doc: "Web Push requests one node has in flight at once." },
  pushTimeoutMs: { env: "PARLEY_PUSH_TIMEOUT_MS", schema: z.coerce.number().int().min(100).max(120_000).default(10_000), doc: "A push service that has not answered a request within this long (ms) is given up on for that message." },
  pushTtlSeconds: { env: "PARLEY_PUSH_TTL_SECONDS", schema: z.coerce.number().int().min(0).max(2_419_200).default(86_400), doc: "How long (s) a push service keeps a notification for a device that is offline (the TTL header of RFC 8030)." },
  pushAllowPrivateEndpoints: { env: "PARLEY_PUSH_ALLOW_PRIVATE_ENDPOINTS", schema: Flag.default(false), doc: "Allow Web Push endpoints on loopback, private and link-local addresses (a push service inside the network). Off: such endpoints are refused when subscribing and when sending, so a subscription cannot make the server call inside the network." },
  vapidPublicKey: { env: "PARLEY_VAPID_PUBLIC_KEY", schema: z.string().regex(/^[A-Za-z0-9_-]{80,100}$/, "must be a base64url P-256 public key (web-push generate-vapid-keys)").optional(), doc: "Web Push VAPID public key (RFC 8292), with --vapid-private-key. Unset: a key pair is generated at first start and kept in the database (in the data directory on SQLite; shared by every node on PostgreSQL)." },
  vapidPrivateKey: { env: "PARLEY_VAPID_PRIVATE_KEY", schema: z.string().regex(/^[A-Za-z0-9_-]{40,50}$/, "must be a base64url P-256 private key (web-push generate-vapid-keys)").optional(), doc: "Web Push VAPID private key, with --vapid-public-key." },
  vapidSubject: { env: "PARLEY_VAPID_SUBJECT", schema: z.string().regex(/^(mailto:|https:\/\/)\S+$/, "must be a mailto: or https: URL").optional(), doc: "Who runs this server, told to push services in each request's VAPID token (RFC 8292 `sub`): a mailto: or https: URL. Default: the public URL when it is https, else mailto:parley@localhost." },
  smtpUrl: { env: "PARLEY_SMTP_URL", schema: z.string().regex(/^smtps?:\/\//, "must start with smtp:// or smtps://").optional(), doc: "Email digests of missed direct messages and mentions go through this SMTP server (smtp://[user:password@]host:port, smtps:// for implicit TLS; nodemailer). Unset: no email is ever sent." },
  smtpFrom: { env: "PARLEY_SMTP_FROM", schema: z.string().min(3).max(200).optional(), doc: "The From of email digests, e.g. \"Parley <chat@example.com>\". Default: Parley <parley@<the public URL's host>>." },
  emailDigestDelayMs: { env: "PARLEY_EMAIL_DIGEST_DELAY_MS", schema: z.coerce.number().int().min(1000).max(7 * 24 * 3_600_000).default(600_000), doc: "A direct message or mention still unread this long (ms) after it was sent goes into an email digest; a user gets at most one digest per this long." },
  emailQueueMax: { env: "PARLEY_EMAIL_QUEUE_MAX", schema: z.coerce.number().int().min(1).max(1_000_000).default(10_000), doc: "Email digest items a node holds waiting to be written to the database; past it new ones are dropped (and logged), so a slow database cannot grow memory." },
  publicUrl: { env: "PARLEY_PUBLIC_URL", schema: z.url().optional(), doc: "The URL people open, e.g. https://chat.example.com. Default http://localhost:<port>. An https URL makes cookies Secure." },
  allowedOrigins: { env: "PARLEY_ALLOWED_ORIGINS", schema: z.string().optional(), doc: "Comma-separated extra origins allowed to open a cookie-authenticated WebSocket. The public URL's origin is always allowed." },
  logLevel: { env: "PARLEY_LOG_LEVEL", schema: LogLevel.default("info"), doc: "pino log level." },
  sessionTtlDays: { env: "PARLEY_SESSION_TTL_DAYS", schema: z.coerce.number().positive().max(365).default(30), doc: "Days a login session lasts." },
  sqliteSynchronous: { env: "PARLEY_SQLITE_SYNCHRONOUS", schema: z.enum(["full", "normal"]).default("full"), doc: "`full`: the WAL is fsynced (off the event loop, once per group commit) before any ack, so no acked message is lost on power loss; `normal`: no fsync before the ack, faster, may lose the last acked messages on power loss, never corrupts." },
  commitWindowMs: { env: "PARLEY_COMMIT_WINDOW_MS", schema: z.coerce.number().int().min(0).max(50).default(1), doc: "How long an idle writer may wait for a second write to commit with (ms); it commits as soon as one comes. Trades up to that much latency for fewer transactions, fsyncs and socket writes. 0 = commit at the end of the event-loop turn." },
  wsSendBufferBytes: { env: "PARLEY_WS_SEND_BUFFER_BYTES", schema: z.coerce.number().int().min(64 * 1024).default(1024 * 1024), doc: "What one socket may make the server hold for it (unsent frames, held live events, catch-up batches); past it the socket is closed (4408) and resumes by seq later. Times --ws-sockets-per-user, it bounds one account." },
  wsStallTimeoutMs: { env: "PARLEY_WS_STALL_TIMEOUT_MS", schema: z.coerce.number().int().min(1000).default(60_000), doc: "A socket with unsent data that reads none of it for this long is closed (4408); a pong is not reading." },
  wsHeartbeatMs: { env: "PARLEY_WS_HEARTBEAT_MS", schema: z.coerce.number().int().min(1000).default(30_000), doc: "How often each socket is pinged (one that answered no ping since the last is cut) and its session or token re-checked (gone or expired: 4401)." },
  wsCommandsPerSecond: { env: "PARLEY_WS_COMMANDS_PER_SECOND", schema: z.coerce.number().positive().default(50), doc: "Sustained commands per second per socket; bursts of 4× are allowed, beyond that `rate_limited`." },
  wsBytesPerSecond: { env: "PARLEY_WS_BYTES_PER_SECOND", schema: z.coerce.number().int().min(64 * 1024).default(256 * 1024), doc: "Sustained bytes per second a socket may send; bursts of 4× are allowed, beyond that `rate_limited` (counted before any parsing)." },
  wsInvalidFramesPerMinute: { env: "PARLEY_WS_INVALID_FRAMES_PER_MINUTE", schema: z.coerce.number().int().positive().default(20), doc: "Malformed frames (not JSON, unknown command, bad fields, binary) a socket may send in a minute; past it the socket is closed (1008). Rate-limited frames do not count: ignoring rate_limited ends in 4429." },
  wsTypingPerSecond: { env: "PARLEY_WS_TYPING_PER_SECOND", schema: z.coerce.number().positive().default(5), doc: "Typing signals per second per socket, apart from the command limit (bursts of 2×); beyond that they are dropped silently. Fan-out is at most one start per user per room per second whatever this is." },
  typingTtlMs: { env: "PARLEY_TYPING_TTL_MS", schema: z.coerce.number().int().min(10).max(60_000).default(6_000), doc: "A typing indicator not refreshed for this long (ms) is stopped by the server; clients refresh it every few seconds." },
  receiptsIntervalMs: { env: "PARLEY_RECEIPTS_INTERVAL_MS", schema: z.coerce.number().int().min(10).max(60_000).default(500), doc: "Read and delivery position changes are gathered per room and sent to its members as at most one `receipts.updated` frame per this many ms." },
  presenceOfflineGraceMs: { env: "PARLEY_PRESENCE_OFFLINE_GRACE_MS", schema: z.coerce.number().int().min(0).max(300_000).default(5_000), doc: "How long (ms) a user with no socket left stays announced online or away, so that a reload or reconnect does not flap offline and back." },
  wsSocketsPerUser: { env: "PARLEY_WS_SOCKETS_PER_USER", schema: z.coerce.number().int().positive().default(32), doc: "Open sockets per user (tabs, devices, bots); another upgrade is refused with 429." },
  wsSocketsPerAddress: { env: "PARLEY_WS_SOCKETS_PER_ADDRESS", schema: z.coerce.number().int().positive().default(256), doc: "Open sockets per client address; another upgrade is refused with 429." },
  loginAttemptsPerMinute: { env: "PARLEY_LOGIN_ATTEMPTS_PER_MINUTE", schema: z.coerce.number().int().positive().default(10), doc: "Login attempts per minute per account, whether named by username or email." },
  loginAttemptsPerMinutePerAddress: { env: "PARLEY_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS", schema: z.coerce.number().int().positive().default(30), doc: "Login attempts per minute per client address (an IPv6 client: per /64), whatever names they try." },
  signupsPerHourPerAddress: { env: "PARLEY_SIGNUPS_PER_HOUR_PER_ADDRESS", schema: z.coerce.number().int().positive().default(20), doc: "Sign-ups per hour per client address (an IPv6 client: per /64)." },
  passwordHashConcurrency: { env: "PARLEY_PASSWORD_HASH_CONCURRENCY", schema: z.coerce.number().int().min(1).max(16).default(2), doc: "Password hashes (argon2id) computed at once; the rest wait, so logins cannot starve the thread pool that syncs the database." },
  passwordHashQueue: { env: "PARLEY_PASSWORD_HASH_QUEUE", schema: z.coerce.number().int().min(0).default(64), doc: "Password hashes that may wait for a slot; past it login and signup answer 429." },
  roomsPerUser: { env: "PARLEY_ROOMS_PER_USER", schema: z.coerce.number().int().positive().default(2000), doc: "Rooms (direct ones included) one user may be a member of; joining, creating or being added past it is refused." },
  membersPerRoom: { env: "PARLEY_MEMBERS_PER_ROOM", schema: z.coerce.number().int().positive().default(10_000), doc: "Members one room may have." },
  reactionsPerMessage: { env: "PARLEY_REACTIONS_PER_MESSAGE", schema: z.coerce.number().int().positive().default(50), doc: "Distinct emoji one message may carry; a new emoji past it is refused (409 limit_reached), while more people may still add one already there." },
  roomsCreatedPerHour: { env: "PARLEY_ROOMS_CREATED_PER_HOUR", schema: z.coerce.number().int().positive().default(60), doc: "Rooms and new direct conversations one user may create per hour." },
  memberAddsPerMinute: { env: "PARLEY_MEMBER_ADDS_PER_MINUTE", schema: z.coerce.number().int().positive().default(60), doc: "Members one user may add to rooms per minute." },
  httpMessagesPerMinute: { env: "PARLEY_HTTP_MESSAGES_PER_MINUTE", schema: z.coerce.number().int().positive().default(600), doc: "Messages one user may send, edit or delete, and reactions one user may add or remove, over HTTP per minute, together (the socket has its own per-socket limit)." },
  trustProxy: { env: "PARLEY_TRUST_PROXY", schema: z.string().default(""), doc: "Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed; empty = none (the peer address is the client)." },
  webDir: { env: "PARLEY_WEB_DIR", schema: z.string().optional(), doc: "Directory of the built web client. Default: dist/web next to the server." },
  metricsPort: { env: "PARLEY_METRICS_PORT", schema: z.coerce.number().int().min(0).max(65535).optional(), doc: "TCP port of a separate listener serving Prometheus metrics at GET /metrics (0 = any free port). Unset = no metrics: nothing is collected, and the public port never serves them." },
  metricsHost: { env: "PARLEY_METRICS_HOST", schema: z.string().min(1).default("127.0.0.1"), doc: "Address the metrics listener binds to; loopback by default, so only the machine (or a scraper you let in) reads it." },
  shutdownGraceMs: { env: "PARLEY_SHUTDOWN_GRACE_MS", schema: z.coerce.number().int().min(0).max(120_000).default(5_000), doc: "On SIGTERM or SIGINT, how long (ms) the node keeps serving with /readyz answering 503, so that a load balancer stops sending it traffic; then it stops taking connections, finishes the requests in flight and closes its sockets with 1012." },
} as const;

type Settings = typeof settings;
export type ConfigInput = { [K in keyof Settings]?: z.input<Settings[K]["schema"]> };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `sqlite:<file>`, `sqlite::memory:`, or `postgres://…`. */
  databaseUrl: string;
  /** PostgreSQL pool size per node. */
  databasePoolSize: number;
  /** Redis URL: set = many nodes (Redis bus, shared presence); null = one node. */
  redisUrl: string | null;
  redisKeyPrefix: string;
  /** A node silent for this long (ms) is taken for dead by the others. */
  nodeTimeoutMs: number;
  /** `file:<absolute directory>` or `s3://bucket[/prefix]`. */
  storageUrl: string;
  s3Endpoint: string | null;
  s3Region: string;
  s3ForcePathStyle: boolean;
  /** `file:` storage shared by every node (a network file system). */
  storageShared: boolean;
  /** Largest upload, bytes. */
  uploadMaxBytes: number;
  attachmentsPerMessage: number;
  uploadsPerMinute: number;
  /** Uploads of one user in progress at once on a node. */
  uploadsInProgressPerUser: number;
  /** Bytes of files one user may hold. */
  uploadQuotaBytes: number;
  /** Largest image decoded, pixels (all frames). */
  imageMaxPixels: number;
  /** A pending upload is swept after this long, ms. */
  pendingUploadTtlMs: number;
  /** Period of the file sweeper, ms. */
  fileSweepIntervalMs: number;
  /** Searches per user per minute. */
  searchesPerMinute: number;
  /** Longest search query, characters. */
  searchQueryMaxChars: number;
  /** Matches counted at most, and ranked by relevance at most. */
  searchCountCap: number;
  /** Messages per backfill transaction. */
  searchBackfillBatch: number;
  /** Pause between backfill batches, ms. */
  searchBackfillPauseMs: number;
  /** Notification setting and push subscription changes per user per minute (HTTP). */
  notificationChangesPerMinute: number;
  /** Messages waiting for the notification decider, at most. */
  notificationQueueMax: number;
  /** Web Push carries message previews. */
  pushPreviews: boolean;
  /** At most one push per user and conversation per this long, ms. */
  pushCollapseMs: number;
  pushSubscriptionsPerUser: number;
  /** Test pushes per user per minute. */
  pushTestsPerMinute: number;
  /** Push messages waiting on a node, at most. */
  pushQueueMax: number;
  /** Push requests in flight per node. */
  pushConcurrency: number;
  /** ms. */
  pushTimeoutMs: number;
  /** s (RFC 8030 TTL). */
  pushTtlSeconds: number;
  pushAllowPrivateEndpoints: boolean;
  /** Both set, or both null (generated and kept in the database). */
  vapidKeys: { publicKey: string; privateKey: string } | null;
  /** RFC 8292 `sub`: mailto: or https:. */
  vapidSubject: string;
  /** null: email off. */
  smtpUrl: string | null;
  smtpFrom: string;
  /** ms. */
  emailDigestDelayMs: number;
  /** Digest items waiting in memory for their database write, at most. */
  emailQueueMax: number;
  publicUrl: string;
  /** Origins (scheme://host[:port]) allowed for cookie-authenticated WebSocket upgrades. */
  allowedOrigins: string[];
  logLevel: z.infer<typeof LogLevel>;
  sessionTtlMs: number;
  sqliteSynchronous: "full" | "normal";
  /** Group-commit window, ms. */
  commitWindowMs: number;
  wsSendBufferBytes: number;
  wsStallTimeoutMs: number;
  /** Heartbeat period, ms: pings and the re-check of open sockets' credentials. */
  wsHeartbeatMs: number;
  wsCommandsPerSecond: number;
  wsBytesPerSecond: number;
  wsInvalidFramesPerMinute: number;
  /** Typing frames per second per socket (bursts 2×), outside the command limit. */
  wsTypingPerSecond: number;
  /** A typing indicator's lifetime without a refresh, ms. */
  typingTtlMs: number;
  /** Receipts: at most one receipts.updated frame per room per this many ms. */
  receiptsIntervalMs: number;
  /** Offline is announced this long (ms) after a user's last socket closed. */
  presenceOfflineGraceMs: number;
  wsSocketsPerUser: number;
  wsSocketsPerAddress: number;
  loginAttemptsPerMinute: number;
  loginAttemptsPerMinutePerAddress: number;
  signupsPerHourPerAddress: number;
  passwordHashConcurrency: number;
  passwordHashQueue: number;
  roomsPerUser: number;
  membersPerRoom: number;
  /** Distinct emoji one message may carry (reactions). */
  reactionsPerMessage: number;
  roomsCreatedPerHour: number;
  memberAddsPerMinute: number;
  httpMessagesPerMinute: number;
  /** Addresses or CIDR ranges of trusted reverse proxies (proxy-addr syntax); empty = trust none. */
  trustProxy: string[];
  webDir: string | undefined;
  /** Port of the separate metrics listener (GET /metrics); null = metrics off; 0 = any free port. */
  metricsPort: number | null;
  /** Address the metrics listener binds to. */
  metricsHost: string;
  /** True when publicUrl is https: cookies get the Secure flag. */
  secureCookies: boolean;
  /** Drain: how long (ms) a stopping node serves with readiness off before it stops taking connections. */
  shutdownGraceMs: number;
}

/** Thrown for a bad setting; main prints its message and exits 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** How a setting is named to the operator: its flag and variable, never the internal key. */
const named = (key: keyof Settings): string => `--${kebab(key)} / ${settings[key].env}`;

/**
 * `--flag -5` → `--flag=-5`: parseArgs takes a value starting with a dash
 * for another option ("ambiguous"); a negative number is a value, and the
 * setting's range then refuses it by name.
 */
function joinNegativeValues(argv: string[], flags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (flags.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * Builds the configuration from explicit values (tests), command-line
 * flags and the environment, in that order of precedence.
 * @throws ConfigError naming the bad setting as the operator gave it: the
 *   flag, or the environment variable (PORT included) with its flag.
 */
export function loadConfig(opts: { argv?: string[]; env?: NodeJS.ProcessEnv; values?: ConfigInput } = {}): Config {
  const env = opts.env ?? {};
  const options = Object.fromEntries(Object.keys(settings).map((k) => [kebab(k), { type: "string" as const }]));
  const flagNames = new Set(Object.keys(settings).map((k) => `--${kebab(k)}`));
  let flags: Record<string, string | boolean | undefined>;
  try {
    const args = joinNegativeValues(opts.argv ?? [], flagNames);
    flags = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Run with --help to list the settings.`);
  }

  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(settings) as (keyof Settings)[]) {
    const explicit = opts.values?.[key];
    const fromFlag = flags[kebab(key)];
    const envName = settings[key].env;
    // The conventional PORT (set by platforms that run Node apps) counts when PARLEY_PORT is not set.
    const fromOwnEnv = env[envName] === "" ? undefined : env[envName];
    const fromPort = key === "port" && fromOwnEnv === undefined && env.PORT !== "" ? env.PORT : undefined;
    const value = explicit ?? fromFlag ?? fromOwnEnv ?? fromPort;
    const parsed = settings[key].schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]?.message ?? "invalid";
      // Blame what the operator wrote: the flag, the variable, or the PORT the platform set.
      const source =
        explicit !== undefined || fromFlag !== undefined
          ? `--${kebab(key)}`
          : fromOwnEnv !== undefined
            ? `${envName} (the --${kebab(key)} setting)`
            : `PORT (read for --port because PARLEY_PORT is unset)`;
      throw new ConfigError(`Invalid ${source} = ${JSON.stringify(value)}: ${issue}`);
    }
    raw[key] = parsed.data;
  }
  const v = raw as { [K in keyof Settings]: z.output<Settings[K]["schema"]> };

  const dataDir = path.resolve(v.dataDir);
  const databaseUrl = v.databaseUrl ?? `sqlite:${path.join(dataDir, "parley.db")}`;
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    throw new ConfigError(`Invalid ${named("databaseUrl")} = ${JSON.stringify(databaseUrl)}: must start with sqlite: or postgres://`);
  }
  checkSqliteDirectory(databaseUrl, dataDir);
  if (v.redisUrl !== undefined && databaseUrl.startsWith("sqlite:")) {
    // Nodes on SQLite would each have a database of their own: seqs and history would diverge.
    throw new ConfigError(`Invalid ${named("redisUrl")}: many nodes must share one PostgreSQL database; set --database-url postgres://… too`);
  }
  const storageUrl = v.storageUrl === undefined ? `file:${path.join(dataDir, "files")}` : v.storageUrl.startsWith("file:") ? `file:${path.resolve(v.storageUrl.slice("file:".length))}` : v.storageUrl;
  if (storageUrl.startsWith("s3://") && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?$/.test(storageUrl)) {
    throw new ConfigError(`Invalid ${named("storageUrl")} = ${JSON.stringify(storageUrl)}: write s3://<bucket>[/<prefix>] with a bucket name of 3 to 63 of a-z 0-9 . -`);
  }
  if (v.redisUrl !== undefined && storageUrl.startsWith("file:") && !v.storageShared) {
    // Each node would store files on its own disk, and the others could not serve them.
    throw new ConfigError(`Invalid ${named("storageUrl")} = ${JSON.stringify(storageUrl)}: many nodes (--redis-url) need one S3 store (--storage-url s3://…), or a directory every node shares (then say so with --storage-shared true)`);
  }
  if ((v.vapidPublicKey === undefined) !== (v.vapidPrivateKey === undefined)) {
    throw new ConfigError(`Invalid ${named(v.vapidPublicKey === undefined ? "vapidPublicKey" : "vapidPrivateKey")}: set --vapid-public-key and --vapid-private-key together, or neither (a pair is then generated)`);
  }
  const vapidKeys = v.vapidPublicKey !== undefined && v.vapidPrivateKey !== undefined ? { publicKey: v.vapidPublicKey, privateKey: v.vapidPrivateKey } : null;
  const publicUrl = (v.publicUrl ?? `http://localhost:${v.port}`).replace(/\/+$/, "");
  const origins = new Set<string>([new URL(publicUrl).origin]);
  if (v.publicUrl === undefined) {
    // The default public URL is a guess; accept the other loopback spellings too.
    origins.add(`http://127.0.0.1:${v.port}`);
  }
  for (const o of (v.allowedOrigins ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    let origin: string;
    try {
      origin = new URL(o).origin;
    } catch {
      throw new ConfigError(`Invalid ${named("allowedOrigins")}: ${JSON.stringify(o)} is not a URL`);
    }
    origins.add(origin);
  }

  return {
    port: v.port,
    host: v.host,
    dataDir,
    databaseUrl,
    databasePoolSize: v.databasePoolSize,
    redisUrl: v.redisUrl ?? null,
    redisKeyPrefix: v.redisKeyPrefix,
    nodeTimeoutMs: v.nodeTimeoutMs,
    storageUrl,
    s3Endpoint: v.s3Endpoint ?? null,
    s3Region: v.s3Region,
    s3ForcePathStyle: v.s3ForcePathStyle,
    storageShared: v.storageShared,
    uploadMaxBytes: v.uploadMaxBytes,
    attachmentsPerMessage: v.attachmentsPerMessage,
    uploadsPerMinute: v.uploadsPerMinute,
    uploadsInProgressPerUser: v.uploadsInProgressPerUser,
    uploadQuotaBytes: v.uploadQuotaBytes,
    imageMaxPixels: v.imageMaxPixels,
    pendingUploadTtlMs: v.pendingUploadTtlMs,
    fileSweepIntervalMs: v.fileSweepIntervalMs,
    searchesPerMinute: v.searchesPerMinute,
    searchQueryMaxChars: v.searchQueryMaxChars,
    searchCountCap: v.searchCountCap,
    searchBackfillBatch: v.searchBackfillBatch,
    searchBackfillPauseMs: v.searchBackfillPauseMs,
    notificationChangesPerMinute: v.notificationChangesPerMinute,
    notificationQueueMax: v.notificationQueueMax,
    pushPreviews: v.pushPreviews,
    pushCollapseMs: v.pushCollapseMs,
    pushSubscriptionsPerUser: v.pushSubscriptionsPerUser,
    pushTestsPerMinute: v.pushTestsPerMinute,
    pushQueueMax: v.pushQueueMax,
    pushConcurrency: v.pushConcurrency,
    pushTimeoutMs: v.pushTimeoutMs,
    pushTtlSeconds: v.pushTtlSeconds,
    pushAllowPrivateEndpoints: v.pushAllowPrivateEndpoints,
    vapidKeys,
    vapidSubject: v.vapidSubject ?? (publicUrl.startsWith("https://") ? publicUrl : "mailto:parley@localhost"),
    smtpUrl: v.smtpUrl ?? null,
    smtpFrom: v.smtpFrom ?? `Parley <parley@${new URL(publicUrl).hostname}>`,
    emailDigestDelayMs: v.emailDigestDelayMs,
    emailQueueMax: v.emailQueueMax,
    publicUrl,
    allowedOrigins: [...origins],
    logLevel: v.logLevel,
    sessionTtlMs: v.sessionTtlDays * 24 * 60 * 60 * 1000,
    sqliteSynchronous: v.sqliteSynchronous,
    commitWindowMs: v.commitWindowMs,
    wsSendBufferBytes: v.wsSendBufferBytes,
    wsStallTimeoutMs: v.wsStallTimeoutMs,
    wsHeartbeatMs: v.wsHeartbeatMs,
    wsCommandsPerSecond: v.wsCommandsPerSecond,
    wsBytesPerSecond: v.wsBytesPerSecond,
    wsInvalidFramesPerMinute: v.wsInvalidFramesPerMinute,
    wsTypingPerSecond: v.wsTypingPerSecond,
    typingTtlMs: v.typingTtlMs,
    receiptsIntervalMs: v.receiptsIntervalMs,
    presenceOfflineGraceMs: v.presenceOfflineGraceMs,
    wsSocketsPerUser: v.wsSocketsPerUser,
    wsSocketsPerAddress: v.wsSocketsPerAddress,
    loginAttemptsPerMinute: v.loginAttemptsPerMinute,
    loginAttemptsPerMinutePerAddress: v.loginAttemptsPerMinutePerAddress,
    signupsPerHourPerAddress: v.signupsPerHourPerAddress,
    passwordHashConcurrency: v.passwordHashConcurrency,
    passwordHashQueue: v.passwordHashQueue,
    roomsPerUser: v.roomsPerUser,
    membersPerRoom: v.membersPerRoom,
    reactionsPerMessage: v.reactionsPerMessage,
    roomsCreatedPerHour: v.roomsCreatedPerHour,
    memberAddsPerMinute: v.memberAddsPerMinute,
    httpMessagesPerMinute: v.httpMessagesPerMinute,
    trustProxy: parseTrustedProxies(v.trustProxy),
    webDir: v.webDir,
    metricsPort: v.metricsPort ?? null,
    metricsHost: v.metricsHost,
    secureCookies: publicUrl.startsWith("https:"),
    shutdownGraceMs: v.shutdownGraceMs,
  };
}

/**
 * A SQLite file's directory must exist, so that a typo does not silently
 * start an empty database somewhere new. The data directory is the
 * exception: it is created at start-up, so only its parent must exist.
 * @throws ConfigError naming --database-url or --data-dir
 */
function checkSqliteDirectory(databaseUrl: string, dataDir: string): void {
  if (!databaseUrl.startsWith("sqlite:") || databaseUrl === "sqlite::memory:") return;
  const dir = path.dirname(path.resolve(databaseUrl.slice("sqlite:".length)));
  if (dir === dataDir) {
    const parent = path.dirname(dataDir);
    if (!isDirectory(dataDir) && !isDirectory(parent)) {
      throw new ConfigError(`Invalid ${named("dataDir")} = ${JSON.stringify(dataDir)}: its parent directory ${parent} does not exist`);
    }
  } else if (!isDirectory(dir)) {
    throw new ConfigError(`Invalid ${named("databaseUrl")} = ${JSON.stringify(databaseUrl)}: the directory ${dir} does not exist`);
  }
}

const isDirectory = (dir: string): boolean => {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
};

/**
 * The trusted-proxy list: addresses or CIDR ranges (Fastify's trustProxy,
 * via proxy-addr). "Trust every hop" is refused: any client could then
 * claim any address by sending X-Forwarded-For (OWASP: trust only known proxies).
 * @throws ConfigError for `true`/`*` or an entry that is not an address or range
 */
function parseTrustedProxies(value: string): string[] {
  const entries = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (entries.length === 1 && ["false", "0", "no", "none"].includes(entries[0]!.toLowerCase())) return [];
  for (const e of entries) {
    if (["true", "1", "yes", "*"].includes(e.toLowerCase())) {
      throw new ConfigError(
        `Invalid ${named("trustProxy")} = ${JSON.stringify(value)}: list the proxies' addresses (e.g. 127.0.0.1,10.0.0.0/8); trusting every hop lets any client forge its address`,
      );
    }
    const [addr, bits, ...rest] = e.split("/");
    const ipv = isIP(addr ?? "");
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (ipv === 6 ? 128 : 32));
    if (ipv === 0 || !bitsOk || rest.length > 0) {
      throw new ConfigError(`Invalid ${named("trustProxy")}: ${JSON.stringify(e)} is not an IP address or CIDR range`);
    }
  }
  return entries;
}

/** A setting's default as the operator would type it, or null when it has none (unset). */
function defaultOf(key: keyof Settings): string | null {
  const parsed = settings[key].schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return null;
  return parsed.data === "" ? null : String(parsed.data);
}

/** The --help text: every flag with its variable, default and purpose. */
export function configHelp(): string {
  const lines = (Object.keys(settings) as (keyof Settings)[]).map((k) => {
    const d = defaultOf(k);
    return `  --${kebab(k)} <value>  (${settings[k].env}${d === null ? "" : `, default ${d}`})\n      ${settings[k].doc}`;
  });
  return `Usage: parley [--flag value ...]\n\nSettings (flag, environment variable, default). A flag wins over its variable.\n${lines.join("\n")}\n`;
}
