#!/usr/bin/env node
/**
 * `parley`: starts one node from flags and environment (see config.ts and
 * the README's table). Exits 1 with the bad setting named when the
 * configuration is invalid; stops gracefully on SIGINT and SIGTERM.
 */
import { ConfigError, configHelp, loadConfig } from "./config.js";
import { createServer } from "./app.js";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(configHelp());
    return;
  }
  let config;
  try {
    config = loadConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const server = await createServer(config);
  const url = await server.listen();
  server.log.info({ url, publicUrl: config.publicUrl, dataDir: config.dataDir, database: config.databaseUrl.replace(/\/\/[^@]*@/, "//***@") }, `Parley is up: open ${config.publicUrl}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.log.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      server.log.error("shutdown took over 10 s; exiting");
      process.exit(1);
    }, 10_000);
    force.unref();
    server.close().then(
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
  process.stderr.write(`parley: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
