import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/**
 * The metrics listener: a second HTTP server, apart from the public one,
 * that answers only `GET /metrics` with the node's registry in the
 * Prometheus text format. Apart so that the public port never exposes
 * metrics (they tell an outsider the load, the socket count and the
 * disk's speed) and so that it binds where the operator chooses, by default
 * 127.0.0.1 (docs/security.md). Plain node:http: one route needs no
 * framework, and a scrape then never goes through the public app's hooks,
 * rate limits or logging.
 */

/** A started metrics listener. */
export interface MetricsListener {
  /** Where to scrape: `http://<host>:<bound port>/metrics`. */
  url: string;
  /** Stops accepting scrapes and closes open connections; resolves when the server is closed. */
  close(): Promise<void>;
}

/**
 * Starts the listener on `host:port` (port 0 = any free port; `url` has the one bound).
 * @throws the listen error (e.g. EADDRINUSE), so a node with a taken metrics port does not start.
 */
export async function startMetricsListener(registry: Registry, opts: { host: string; port: number }): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const pathname = (req.url ?? "/").split("?")[0];
    if (pathname !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found: only /metrics is served here.\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("Method not allowed.\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: unknown) => {
        // A collector that throws must not take the node down; the scraper sees the failure.
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end(`Collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
  // A scraper keeps its connection alive between scrapes; don't let that hold a closing node open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  // A wildcard address is not one to connect to: name the loopback instead.
  const connectTo = opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host === "::" ? "::1" : opts.host;
  const host = connectTo.includes(":") ? `[${connectTo}]` : connectTo;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
