import { parseArgs } from "node:util";
import path from "node:path";
import { z } from "zod";

/**
 * Parley's configuration: each setting from a `--flag`, else an environment
 * variable, else its default; validated once at start-up. A bad value stops
 * the process with a message that names the setting (README lists them all).
 */

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes");

/** Every setting: flag name, environment variable, schema, and what it is for. */
export const settings = {
  port: { env: "PARLEY_PORT", schema: z.coerce.number().int().min(0).max(65535).default(3000), doc: "TCP port for HTTP and WebSocket (0 = any free port)." },
  host: { env: "PARLEY_HOST", schema: z.string().min(1).default("0.0.0.0"), doc: "Address to listen on." },
  dataDir: { env: "PARLEY_DATA_DIR", schema: z.string().min(1).default("./data"), doc: "Where the SQLite database and uploaded files live." },
  databaseUrl: { env: "PARLEY_DATABASE_URL", schema: z.string().optional(), doc: "Database; empty = SQLite file `<dataDir>/parley.db`. `sqlite::memory:` for a throwaway one." },
  publicUrl: { env: "PARLEY_PUBLIC_URL", schema: z.url().optional(), doc: "The URL people open, e.g. https://chat.example.com. Default http://localhost:<port>. An https URL makes cookies Secure." },
  allowedOrigins: { env: "PARLEY_ALLOWED_ORIGINS", schema: z.string().optional(), doc: "Comma-separated extra origins allowed to open a cookie-authenticated WebSocket. The public URL's origin is always allowed." },
  logLevel: { env: "PARLEY_LOG_LEVEL", schema: LogLevel.default("info"), doc: "pino log level." },
  sessionTtlDays: { env: "PARLEY_SESSION_TTL_DAYS", schema: z.coerce.number().positive().max(365).default(30), doc: "Days a login session lasts." },
  sqliteSynchronous: { env: "PARLEY_SQLITE_SYNCHRONOUS", schema: z.enum(["full", "normal"]).default("full"), doc: "`full`: the WAL is fsynced (off the event loop, once per group commit) before any ack, so no acked message is lost on power loss; `normal`: no fsync before the ack, faster, may lose the last acked messages on power loss, never corrupts." },
  commitWindowMs: { env: "PARLEY_COMMIT_WINDOW_MS", schema: z.coerce.number().int().min(0).max(50).default(1), doc: "How long an idle writer waits for more sends to commit together (ms); trades up to that much latency for fewer transactions and fsyncs. 0 = commit at the end of the event-loop turn." },
  wsSendBufferBytes: { env: "PARLEY_WS_SEND_BUFFER_BYTES", schema: z.coerce.number().int().min(64 * 1024).default(4 * 1024 * 1024), doc: "A socket whose unsent data passes this is closed (4408) and resumes by seq later." },
  wsCommandsPerSecond: { env: "PARLEY_WS_COMMANDS_PER_SECOND", schema: z.coerce.number().positive().default(50), doc: "Sustained commands per second per socket; bursts of 4× are allowed, beyond that `rate_limited`." },
  loginAttemptsPerMinute: { env: "PARLEY_LOGIN_ATTEMPTS_PER_MINUTE", schema: z.coerce.number().int().positive().default(10), doc: "Login attempts per minute per address and username." },
  trustProxy: { env: "PARLEY_TRUST_PROXY", schema: bool.default(false), doc: "Trust X-Forwarded-* headers (behind a reverse proxy)." },
  webDir: { env: "PARLEY_WEB_DIR", schema: z.string().optional(), doc: "Directory of the built web client. Default: dist/web next to the server." },
} as const;

type Settings = typeof settings;
export type ConfigInput = { [K in keyof Settings]?: z.input<Settings[K]["schema"]> };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `sqlite:<file>`, `sqlite::memory:`, or `postgres://…`. */
  databaseUrl: string;
  publicUrl: string;
  /** Origins (scheme://host[:port]) allowed for cookie-authenticated WebSocket upgrades. */
  allowedOrigins: string[];
  logLevel: z.infer<typeof LogLevel>;
  sessionTtlMs: number;
  sqliteSynchronous: "full" | "normal";
  /** Group-commit window, ms. */
  commitWindowMs: number;
  wsSendBufferBytes: number;
  wsCommandsPerSecond: number;
  loginAttemptsPerMinute: number;
  trustProxy: boolean;
  webDir: string | undefined;
  /** True when publicUrl is https: cookies get the Secure flag. */
  secureCookies: boolean;
}

/** Thrown for a bad setting; main prints its message and exits 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Builds the configuration from explicit values (tests), command-line
 * flags and the environment, in that order of precedence.
 * @throws ConfigError naming the flag and variable of the first bad setting.
 */
export function loadConfig(opts: { argv?: string[]; env?: NodeJS.ProcessEnv; values?: ConfigInput } = {}): Config {
  const env = opts.env ?? {};
  const options = Object.fromEntries(Object.keys(settings).map((k) => [kebab(k), { type: "string" as const }]));
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({ args: opts.argv ?? [], options: { ...options, help: { type: "boolean" } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Run with --help to list the settings.`);
  }

  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(settings) as (keyof Settings)[]) {
    const explicit = opts.values?.[key];
    const fromFlag = flags[kebab(key)];
    const fromEnv = env[settings[key].env];
    const value = explicit ?? fromFlag ?? (fromEnv === "" ? undefined : fromEnv);
    const parsed = settings[key].schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]?.message ?? "invalid";
      throw new ConfigError(
        `Invalid setting ${key} (--${kebab(key)} / ${settings[key].env}) = ${JSON.stringify(value)}: ${issue}`,
      );
    }
    raw[key] = parsed.data;
  }
  const v = raw as { [K in keyof Settings]: z.output<Settings[K]["schema"]> };

  const dataDir = path.resolve(v.dataDir);
  const databaseUrl = v.databaseUrl ?? `sqlite:${path.join(dataDir, "parley.db")}`;
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(databaseUrl)) {
    throw new ConfigError(
      `Invalid setting databaseUrl (--database-url / PARLEY_DATABASE_URL) = ${JSON.stringify(databaseUrl)}: must start with sqlite: or postgres://`,
    );
  }
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
      throw new ConfigError(`Invalid setting allowedOrigins (--allowed-origins / PARLEY_ALLOWED_ORIGINS): ${JSON.stringify(o)} is not a URL`);
    }
    origins.add(origin);
  }

  return {
    port: v.port,
    host: v.host,
    dataDir,
    databaseUrl,
    publicUrl,
    allowedOrigins: [...origins],
    logLevel: v.logLevel,
    sessionTtlMs: v.sessionTtlDays * 24 * 60 * 60 * 1000,
    sqliteSynchronous: v.sqliteSynchronous,
    commitWindowMs: v.commitWindowMs,
    wsSendBufferBytes: v.wsSendBufferBytes,
    wsCommandsPerSecond: v.wsCommandsPerSecond,
    loginAttemptsPerMinute: v.loginAttemptsPerMinute,
    trustProxy: v.trustProxy,
    webDir: v.webDir,
    secureCookies: publicUrl.startsWith("https:"),
  };
}

/** The --help text: every flag with its variable and purpose. */
export function configHelp(): string {
  const lines = Object.entries(settings).map(([k, s]) => `  --${kebab(k)}  (${s.env})\n      ${s.doc}`);
  return `Usage: parley [--flag value ...]\n\nSettings (flag, environment variable):\n${lines.join("\n")}\n`;
}
