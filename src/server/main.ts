#!/usr/bin/env node
/**
 * `parley`: starts one node from flags and environment (see config.ts and
 * the README's table). A bad setting, a port in use, a database or Redis
 * that does not answer, or a data directory that cannot be made ends the
 * start with one line on stderr naming the cause and exit code 1 (the
 * stack only at --log-level debug). SIGINT and SIGTERM drain and stop the
 * node (app.ts `close`, docs/scaling.md) within --shutdown-grace-ms + 10 s.
 */
import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import { ConfigError, configHelp, loadConfig, type Config } from "./config.js";
import { createServer, StartupError, type ParleyServer } from "./app.js";

/** How long a stop may take past the drain's grace before the process exits anyway (ms). */
const STOP_DEADLINE_MS = 10_000;

/** Ends the start with one line and exit code 1; the error's stack goes to the log at debug. */
function failStart(line: string, err: unknown, config: Config | null): never {
  if (config && err !== null) pino({ level: config.logLevel }, pino.destination({ fd: 1, sync: true })).debug({ err }, "start-up failed");
  process.stderr.write(`parley: ${line}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(configHelp());
    return;
  }
  let config: Config;
  try {
    config = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) failStart(err.message, null, null);
    throw err;
  }
  const sqlite = config.databaseUrl.startsWith("sqlite:") && config.databaseUrl !== "sqlite::memory:";
  if (sqlite && path.dirname(path.resolve(config.databaseUrl.slice("sqlite:".length))) === config.dataDir) {
    // The data directory itself is made here; its parent was checked by loadConfig.
    try {
      fs.mkdirSync(config.dataDir, { recursive: false });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EEXIST" || !fs.statSync(config.dataDir).isDirectory()) {
        failStart(`cannot create the data directory ${config.dataDir} (--data-dir): ${(err as Error).message}`, err, config);
      }
    }
  }

  let server: ParleyServer;
  let url: string;
  try {
    server = await createServer(config);
  } catch (err) {
    if (err instanceof StartupError) failStart(err.message, err.cause ?? err, config);
    failStart(`failed to start: ${err instanceof Error ? err.message : String(err)}`, err, config);
  }
  try {
    url = await server.listen();
  } catch (err) {
    await server.close().catch(() => undefined);
    if (err instanceof StartupError) failStart(err.message, err.cause ?? err, config);
    failStart(`failed to start: ${err instanceof Error ? err.message : String(err)}`, err, config);
  }
  const database = config.databaseUrl.replace(/\/\/[^@/]*@/, "//***@");
  // Where everything is kept: the database, the files, and the data directory (SQLite's file, uploads in progress).
  server.log.info({ url, publicUrl: config.publicUrl, database, files: config.storageUrl.replace(/\/\/[^@/]*@/, "//***@"), dataDir: config.dataDir }, `Parley is up: open ${config.publicUrl}`);

  let stopping = false;
  const stop = (signal: string) => {
    // A terminal's Ctrl-C reaches a whole process group (npm run cluster and its nodes): a second signal is no hurry.
    if (stopping) return;
    stopping = true;
    server.log.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
    const deadline = config.shutdownGraceMs + STOP_DEADLINE_MS;
    const force = setTimeout(() => {
      server.log.error(`shutdown took over ${deadline} ms; exiting`);
      process.exit(1);
    }, deadline);
    force.unref();
    server.close({ graceMs: config.shutdownGraceMs }).then(
      () => process.exit(0),
      (err: unknown) => {
        server.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  process.stderr.write(`parley: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
