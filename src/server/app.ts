import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import cookie from "@fastify/cookie";
import rateLimit from "@fastify/rate-limit";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import pino, { type Logger } from "pino";
import type { Config } from "./config.js";
import type { Deps } from "./deps.js";
import { openStore, type Store } from "./store/store.js";
import os from "node:os";
import { randomBytes } from "node:crypto";
import { openBus } from "./bus/open.js";
import { echoRequestId, healthRoutes, requestId } from "./http/health.js";
import type { Bus } from "./bus/bus.js";
import { createServices, type Services } from "./services.js";
import { openFileStorage } from "./files/open-storage.js";
import type { FileStorage } from "./files/storage.js";
import { FileSweeper } from "./files/sweeper.js";
import { SearchBackfill, type BackfillOptions } from "./search/backfill.js";
import { Gateway } from "./realtime/gateway.js";
import { RedisSocketCounts, noSocketCounts } from "./realtime/socket-counts.js";
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from "./http/errors.js";
import { registerJsonBody } from "./http/json-body.js";
import { OpenApiDocumentSchema, swaggerOptions } from "./http/openapi.js";
import { ErrorCode, type ErrorBody } from "@shared/protocol/errors.js";
import { MAX_FRAME_BYTES } from "@shared/protocol/limits.js";
import { AppError, notFound } from "./errors.js";
import { authRoutes } from "./auth/routes.js";
import { userRoutes } from "./users/routes.js";
import { roomRoutes } from "./rooms/routes.js";
import { receiptRoutes } from "./rooms/receipts-routes.js";
import { messageRoutes } from "./messages/routes.js";
import { fileRoutes } from "./files/routes.js";
import { searchAdmission, searchRoutes } from "./search/routes.js";
import { notificationChangeHook, notificationRoutes } from "./notifications/routes.js";
import { pushRoutes } from "./notifications/push/routes.js";
import type { PushTls } from "./notifications/push/sender.js";
import { emailRoutes } from "./notifications/email/routes.js";
import { createMetrics, registerSocketGauges, type Metrics } from "./metrics/registry.js";
import { startMetricsListener, type MetricsListener } from "./metrics/listener.js";
import { queryObserver, watchEventLoop } from "./metrics/event-loop.js";

/** A running Parley node: HTTP, WebSocket, services and storage, and how to stop it. */
export interface ParleyServer {
  app: FastifyInstance;
  gateway: Gateway;
  services: Services;
  store: Store;
  /** Where uploaded files' bytes live (the same object as `Deps["files"]`). */
  files: FileStorage;
  config: Config;
  log: Logger;
  /** The node's metrics (the same object as `Deps["metrics"]`); registry null when metrics are off. */
  metrics: Metrics;
  /**
   * Where the metrics listener serves, `http://host:port/metrics` with the
   * port actually bound (so `metricsPort: 0` can be scraped); null before
   * `listen` resolved, after `close`, and when metrics are off.
   */
  readonly metricsUrl: string | null;
  /**
   * Starts listening; resolves with the base URL (http://host:port). With a
   * metrics port configured, it first starts the separate metrics listener
   * (see `metricsUrl`), so a taken metrics port stops the start.
   */
  listen(): Promise<string>;
  /**
   * Graceful stop, in two steps (docs/scaling.md, "Graceful shutdown"):
   * first a drain of `graceMs` (default 0; `main` passes
   * --shutdown-grace-ms) while /readyz answers 503, requests are still
   * served (each answer ends its keep-alive connection) and new WebSocket
   * upgrades are refused with 503; then the listener closes, requests
   * still arriving on open connections get 503 with Retry-After, requests
   * in flight and group commits finish, sockets close with 1012, and the
   * database closes. Logs "stopped after N ms" at the end.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

/**
 * A start-up failure the operator can act on (a port in use, a database
 * or Redis that does not answer): `main` prints its message as one line,
 * without a stack (the cause is logged at debug).
 */
export class StartupError extends Error {
  override name = "StartupError";
}

/** A URL fit for a log line or an error: its password (userinfo) hidden. */
const redactUrl = (url: string): string => url.replace(/\/\/[^@/]*@/, "//***@");

/** An error's message, without the "Error: " its String() form would repeat. */
const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The message of a 404 for a method and path no route serves (the query left out; the path cut short at 200 characters). */
function noRoute(method: string, url: string): string {
  const path = url.split("?")[0] ?? "";
  return `No route ${method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}.`;
}

/** Where the web client's service worker is served (built by vite.config.ts; registered by app/serviceWorker.ts). */
const SERVICE_WORKER_PATH = "/sw.js";

/** Where the built web client lives when none is configured: dist/web beside dist/server. */
function defaultWebDir(): string {
  return fileURLToPath(new URL("../web", import.meta.url));
}

/**
 * Assembles one node from a configuration; `listen` starts it.
 * `opts.pushTls`: the CA the Web Push agent trusts instead of the system's (a test's push service).
 */
export async function createServer(config: Config, opts: { logger?: Logger; bus?: Bus; searchBackfill?: BackfillOptions; pushTls?: PushTls } = {}): Promise<ParleyServer> {
  // Names this process in every log line and on the bus: host, pid and a random suffix (a restarted pid is another node).
  const nodeId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const log = (opts.logger ?? pino({ level: config.logLevel })).child({ node: nodeId });
  // Metrics only when a metrics port is set: otherwise nothing is collected at all.
  const metrics = createMetrics({ enabled: config.metricsPort !== null });
  const store = await openStore(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    postgresPoolSize: config.databasePoolSize,
    onPostgresError: (err) => log.warn({ err: err.message }, "database connection lost; the pool reconnects when asked"),
    onQuery: queryObserver(log, metrics),
  }).catch((err: unknown) => {
    throw new StartupError(`cannot open the database ${redactUrl(config.databaseUrl)} (--database-url): ${reasonOf(err)}`, { cause: err });
  });
  const opened = await openBus(config, nodeId, log, metrics, opts.bus).catch(async (err: unknown) => {
    await store.close();
    throw new StartupError(`${reasonOf(err)} (--redis-url)`, { cause: err });
  });
  const { bus, cluster } = opened;
  const files = await openFileStorage(config).catch(async (err: unknown) => {
    cluster?.close();
    await bus.close();
    await store.close();
    throw new StartupError(`cannot open the file storage ${redactUrl(config.storageUrl)} (--storage-url): ${reasonOf(err)}`, { cause: err });
  });
  const deps: Deps = { config, store, bus, log, metrics, cluster, files };
  // Stalls of the loop are logged (and counted when metrics are on) for the node's whole life.
  const loopWatch = watchEventLoop(log, { onBlocked: (ms) => metrics.eventLoopBlocked(ms) });
  const services = createServices(deps, opts.pushTls ? { pushTls: opts.pushTls } : {});
  // Before any request: the settings answer carries the public key, and a push signs with the pair.
  await services.pushKeys.load().catch(async (err: unknown) => {
    cluster?.close();
    await bus.close();
    await store.close();
    await files.close();
    loopWatch.stop();
    throw new StartupError(`cannot read or create the Web Push VAPID keys: ${reasonOf(err)}`, { cause: err });
  });

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Only listed proxies' X-Forwarded-For is believed (proxy-addr); none by default.
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    // A message is ≤ 4,000 chars; 64 KiB covers any valid body with room to spare.
    bodyLimit: MAX_FRAME_BYTES,
    // A reaction's emoji is a path parameter: up to 32 UTF-16 units, each up to 9 characters
    // percent-encoded (288); the default 100 would answer a long ZWJ sequence 404.
    // Longer answers 400 validation_failed (http/errors.ts frameworkErrors), as the router's bad percent-encoding does.
    routerOptions: { maxParamLength: 512 },
    frameworkErrors,
    // What Node's parser refuses (431, a malformed request, a timeout), in contract v1's shape too.
    clientErrorHandler: clientErrorHandler(log as FastifyBaseLogger),
    // Fastify's two lines per request (incoming, completed) are replaced by one, from the
    // onResponse hook below, at a level that depends on the answer (probes at debug, refusals at warn).
    logController: new LogController({ disableRequestLogging: true }),
    // Closing is answered by our own hook below, in contract v1's error shape.
    return503OnClosing: false,
    // A balancer's X-Request-Id names the request in our logs too (http/health.ts).
    requestIdHeader: false,
    genReqId: requestId,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerJsonBody(app);
  echoRequestId(app);
  logRequests(app);
  // Shutdown (close()): draining = readiness off and keep-alive ended; closing = the listener is shut.
  let draining = false;
  let closing = false;
  app.addHook("onRequest", async (request) => {
    if (closing) throw new AppError(ErrorCode.Unavailable, "The server is shutting down; try again shortly.", { retryAfter: 5 });
    // No route for this method and path: 404 now, before a body is read or parsed (which could only answer 400 or 413).
    // GET and HEAD carry no body and go on to the not-found handler, which may serve the web client.
    if (request.is404 && request.method !== "GET" && request.method !== "HEAD") throw notFound(noRoute(request.method, request.url));
  });
  app.addHook("onSend", async (_request, reply) => {
    // A stopping node hands each connection back after its answer, so that a balancer's
    // keep-alive pool holds none of its connections when it stops listening.
    if (draining) void reply.header("connection", "close");
  });
  await app.register(cookie);
  app.decorateRequest("actor", null);
  // Many nodes: the HTTP limits count in Redis, so a client's budget is the same whichever node it reaches.
  // While Redis is down they let requests through (skipOnError): a throttle is not worth an outage.
  await app.register(rateLimit, {
    global: false,
    hook: "preHandler",
    ...(opened.redis ? { redis: opened.redis.commands, nameSpace: `${config.redisKeyPrefix}rate:`, skipOnError: true } : {}),
  });

  // The document's frame, security, error answers and component schemas: http/openapi.ts.
  await app.register(swagger, swaggerOptions("1.0.0"));
  await app.register(swaggerUi, { routePrefix: "/api/docs" });

  // One search budget per user for GET /search, ?search= on a room's messages and the socket's `search`.
  const search = searchAdmission(app, config);
  // One budget per user for every notification change over HTTP (settings, rooms' levels, push subscriptions).
  const notificationChanges = notificationChangeHook(app, config);
  await app.register(
    async (api) => {
      await api.register(authRoutes, { services, config });
      await api.register(userRoutes, { services });
      await api.register(roomRoutes, { services, config });
      await api.register(receiptRoutes, { services });
      await api.register(messageRoutes, { services, config, search });
      await api.register(fileRoutes, { services, config });
      await api.register(searchRoutes, { services, search });
      await api.register(notificationRoutes, { services, changeLimit: notificationChanges });
      await api.register(pushRoutes, { services, config, changeLimit: notificationChanges });
      await api.register(emailRoutes, { services });
      api.get(
        "/openapi.json",
        { schema: { tags: ["meta"], summary: "This OpenAPI description of the HTTP API", security: [], response: { 200: OpenApiDocumentSchema } } },
        async () => app.swagger(),
      );
    },
    { prefix: "/api/v1" },
  );
  healthRoutes(app, { db: store.db, redisReady: () => opened.redis?.ready ?? true, draining: () => draining });
  // Metrics are served only by their own listener. Without this route the SPA fallback
  // would answer a scraper pointed at the public port with index.html and a 200.
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    const body: ErrorBody = { error: { code: ErrorCode.NotFound, message: "No route GET /metrics." } };
    return reply.code(404).send(body);
  });

  const webDir = config.webDir ?? defaultWebDir();
  const hasWeb = fs.existsSync(path.join(webDir, "index.html"));
  if (hasWeb) {
    await app.register(fastifyStatic, { root: webDir, wildcard: false, index: ["index.html"] });
    // The service worker (src/web/sw.ts): the browser must ask for it on every check, or a fixed or new
    // worker would wait out a cache's lifetime. @fastify/static writes its own Cache-Control last, so this
    // is set as the answer leaves. Scope "/" is the script's own directory: no Service-Worker-Allowed needed.
    app.addHook("onSend", async (request, reply) => {
      if (request.routeOptions.url === SERVICE_WORKER_PATH && reply.statusCode === 200) void reply.header("cache-control", "no-cache");
    });
  } else {
    log.warn({ webDir }, "no built web client found; run `npm run build` to serve it");
  }
  app.setNotFoundHandler((request, reply) => {
    const isApi = request.url.startsWith("/api/");
    if (!isApi && hasWeb && request.method === "GET") {
      // Client-side routes (/rooms/…) load the SPA, which routes itself.
      return reply.type("text/html").sendFile("index.html");
    }
    const body: ErrorBody = { error: { code: ErrorCode.NotFound, message: noRoute(request.method, request.url) } };
    return reply.code(404).send(body);
  });

  // Many nodes: the socket caps per user and per address count every node's sockets.
  const socketCounts =
    opened.redis && cluster ? new RedisSocketCounts(opened.redis.commands, config.redisKeyPrefix, cluster, config.nodeTimeoutMs, log) : noSocketCounts;
  const gateway = new Gateway(deps, services, (header) => app.parseCookie(header), socketCounts, search);
  gateway.attach(app.server);
  opened.onBusLost(() => gateway.busLost());
  opened.onBusBack(() => void gateway.resync().catch((err: unknown) => log.error({ err }, "catch-up after the bus outage failed")));
  cluster?.hello();
  registerSocketGauges(metrics, { sockets: () => gateway.size, queuedBytes: () => gateway.bufferedBytes });
  // Expired pending uploads, deleted messages' files and stray objects: swept from `listen` until `close`.
  const sweeper = new FileSweeper(deps);
  // Messages stored before the search index existed: indexed in the background from `listen` until done or `close`.
  const backfill = new SearchBackfill(deps, opts.searchBackfill);

  let metricsListener: MetricsListener | null = null;
  let closed: Promise<void> | null = null;
  return {
    app,
    gateway,
    services,
    store,
    files,
    config,
    log,
    metrics,
    get metricsUrl() {
      return metricsListener?.url ?? null;
    },
    async listen() {
      if (metrics.registry && config.metricsPort !== null) {
        metricsListener = await startMetricsListener(metrics.registry, { host: config.metricsHost, port: config.metricsPort }).catch((err: unknown) => {
          throw listenError(err, config.metricsHost, config.metricsPort ?? 0, "--metrics-port", "--metrics-host");
        });
        // With --metrics-port 0 the port is only known now: the scraper's configuration needs it.
        log.info({ metricsUrl: metricsListener.url }, `metrics at ${metricsListener.url}`);
      }
      try {
        await app.listen({ port: config.port, host: config.host });
      } catch (err) {
        await metricsListener?.close();
        metricsListener = null;
        throw listenError(err, config.host, config.port, "--port", "--host");
      }
      sweeper.start();
      services.vocabulary.start();
      backfill.start();
      services.emailDigests.start();
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
      return `http://${host}:${port}`;
    },
    close(closeOpts = {}) {
      closed ??= (async () => {
        const started = performance.now();
        const graceMs = closeOpts.graceMs ?? 0;
        draining = true;
        gateway.refuseNewSockets();
        if (graceMs > 0) {
          log.info({ graceMs }, `draining: /readyz answers 503; serving ${graceMs} ms more for the load balancer to notice`);
          await new Promise((resolve) => setTimeout(resolve, graceMs));
        }
        closing = true;
        try {
          // Fastify stops listening at once (new connections are refused, a balancer tries another node)
          // and resolves once the requests in flight are answered; meanwhile the sockets close with 1012.
          const appClosed = app.close();
          // Awaited below; until then a rejection must not count as unhandled.
          appClosed.catch(() => undefined);
          await gateway.close();
          // After the sockets closed: their pending presence and typing timers announce nothing now.
          services.presence.close();
          services.typing.close();
          await services.receipts.close();
          await appClosed;
          await services.writer.drain();
          // The last messages' notifications (their candidate query), before the store closes.
          await services.notifications.drain();
          // Pushes in flight finish (each within --push-timeout-ms); what waits is dropped, logged. Before the store closes.
          await services.push.stop();
          // The last sends' new words, before the store closes.
          await services.vocabulary.stop();
          // Before the store and the storage close: a sweep under way finishes first.
          await sweeper.stop();
          await backfill.stop();
          // What the last sends queued for email, then the digest under way (and the SMTP transport).
          await services.emailSink.drain();
          await services.emailDigests.stop();
          // Goodbye: the other nodes take back this node's presence and typists now, not after the timeout.
          cluster?.close();
          await socketCounts.close();
          services.remoteTypists?.close();
          await bus.close();
          await store.close();
          await files.close();
        } finally {
          loopWatch.stop();
          // Last, so the node can be scraped while it drains; even after a failed step, so its port is freed.
          const listener = metricsListener;
          metricsListener = null;
          await listener?.close();
        }
        const ms = Math.round(performance.now() - started);
        log.info({ ms }, `stopped after ${ms} ms`);
      })();
      return closed;
    },
  };
}

/**
 * One log line per HTTP request, when its answer is sent: method, route
 * pattern, path (never the query, which may carry search text), status and
 * time, under the request's `reqId` (its X-Request-Id). Nothing from the
 * headers or the body is logged: no cookie, Authorization or CSRF token, no
 * password. Levels: /healthz and /readyz at debug (a balancer probes every
 * few seconds); a refused sign-in, a rate limit (429) and a body over the
 * size limit (413) at warn; a 5xx at warn (the error handler logs the cause);
 * everything else at info. WebSocket frames are not requests: not logged here.
 */
function logRequests(app: FastifyInstance): void {
  app.addHook("onResponse", async (request, reply) => {
    const status = reply.statusCode;
    const route = request.routeOptions.url ?? null;
    const line = {
      method: request.method,
      route,
      path: request.url.split("?")[0],
      status,
      ms: Math.round(reply.elapsedTime),
    };
    if (route === "/healthz" || route === "/readyz") request.log.debug(line, "probe");
    else if (status === 401 && route === "/api/v1/auth/login") {
      const body = request.body as { username?: unknown } | undefined;
      // The name tried (who is being guessed at), never the password.
      const login = typeof body?.username === "string" ? body.username.slice(0, 64) : undefined;
      request.log.warn({ ...line, login }, "sign-in failed");
    } else if (status === 429) request.log.warn(line, "refused: rate limit");
    else if (status === 413) request.log.warn(line, "refused: body too large");
    else if (status >= 500) request.log.warn(line, "request failed");
    else request.log.info(line, "request");
  });
}

/**
 * A listen failure as one sentence naming the setting to change.
 * @param flag the port's flag; `hostFlag` the address's
 */
function listenError(err: unknown, host: string, port: number, flag: string, hostFlag: string): StartupError {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  const reason =
    code === "EADDRINUSE"
      ? `the port is in use by another process; choose another with ${flag}`
      : code === "EACCES"
        ? `permission denied (ports below 1024 need privileges); choose another with ${flag}`
        : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
          ? `this machine has no such address; choose another with ${hostFlag}`
          : reasonOf(err);
  return new StartupError(`cannot listen on ${where}: ${reason}`, { cause: err });
}
