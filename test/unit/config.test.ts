import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, configHelp, loadConfig, settings } from "@server/config.js";

describe("loadConfig", () => {
  it("has working defaults: port 3000, ./data, SQLite in the data dir, localhost origins", () => {
    const c = loadConfig();
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe(path.resolve("data"));
    expect(c.databaseUrl).toBe(`sqlite:${path.resolve("data", "parley.db")}`);
    expect(c.publicUrl).toBe("http://localhost:3000");
    expect(c.allowedOrigins).toEqual(["http://localhost:3000", "http://127.0.0.1:3000"]);
    expect(c.secureCookies).toBe(false);
    expect(c.sqliteSynchronous).toBe("full");
  });

  it("takes flags over environment over defaults", () => {
    const c = loadConfig({ argv: ["--port", "4000"], env: { PARLEY_PORT: "5000", PARLEY_LOG_LEVEL: "debug" } });
    expect(c.port).toBe(4000);
    expect(c.logLevel).toBe("debug");
    expect(loadConfig({ env: { PARLEY_PORT: "5000" } }).port).toBe(5000);
  });

  it("reads the conventional PORT when PARLEY_PORT is unset, and PARLEY_PORT over it", () => {
    expect(loadConfig({ env: { PORT: "8123" } }).port).toBe(8123);
    expect(loadConfig({ env: { PORT: "8123", PARLEY_PORT: "9000" } }).port).toBe(9000);
  });

  it("blames a bad PORT on PORT, not on --port or PARLEY_PORT", () => {
    expect(() => loadConfig({ env: { PORT: "abc" } })).toThrow(/^Invalid PORT \(read for --port because PARLEY_PORT is unset\) = "abc"/);
    expect(() => loadConfig({ env: { PARLEY_PORT: "abc" } })).toThrow(/^Invalid PARLEY_PORT \(the --port setting\) = "abc"/);
    expect(() => loadConfig({ argv: ["--port", "abc"], env: { PORT: "8080" } })).toThrow(/^Invalid --port = "abc"/);
  });

  it("refuses a negative number as out of range, naming the flag, not as an ambiguous argument", () => {
    const attempt = () => loadConfig({ argv: ["--ws-heartbeat-ms", "-5"] });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^Invalid --ws-heartbeat-ms = "-5": Too small/);
    expect(() => loadConfig({ argv: ["--port", "-1"] })).toThrow(/^Invalid --port = "-1"/);
    // A value that merely starts with a dash is still the flag's value, not another option.
    expect(loadConfig({ argv: ["--ws-heartbeat-ms", "5000", "--port", "0"] }).wsHeartbeatMs).toBe(5000);
  });

  it("names settings by their flags and variables, never by internal names", () => {
    const message = (input: Parameters<typeof loadConfig>[0]): string => {
      try {
        loadConfig(input);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error("no error");
    };
    for (const input of [
      { env: { PARLEY_LOG_LEVEL: "loud" } },
      { argv: ["--session-ttl-days", "0"] },
      { env: { PARLEY_TRUST_PROXY: "*" } },
      { env: { PARLEY_REDIS_URL: "redis://x:6379" } },
      { env: { PARLEY_DATABASE_URL: "mysql://x" } },
      { env: { PARLEY_ALLOWED_ORIGINS: "::nope" } },
    ]) {
      const text = message(input);
      expect(text).toMatch(/--[a-z-]+/);
      expect(text).not.toMatch(/\b(logLevel|sessionTtlDays|trustProxy|redisUrl|databaseUrl|allowedOrigins)\b/);
    }
  });

  describe("the SQLite file's directory", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "parley-config-"));

    it("must exist for an explicit sqlite: URL", () => {
      const attempt = () => loadConfig({ argv: ["--database-url", "sqlite:/no/such/dir/parley.db"] });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(/^Invalid --database-url \/ PARLEY_DATABASE_URL = "sqlite:\/no\/such\/dir\/parley.db": the directory \/no\/such\/dir does not exist/);
      expect(fs.existsSync("/no/such/dir")).toBe(false);
      expect(loadConfig({ argv: ["--database-url", `sqlite:${path.join(tmp, "x.db")}`] }).databaseUrl).toBe(`sqlite:${path.join(tmp, "x.db")}`);
    });

    it("may be the data directory, created at start-up, when its parent exists", () => {
      const dataDir = path.join(tmp, "not-yet");
      expect(loadConfig({ argv: ["--data-dir", dataDir] }).databaseUrl).toBe(`sqlite:${path.join(dataDir, "parley.db")}`);
      expect(() => loadConfig({ argv: ["--data-dir", "/no/such/parent/data"] })).toThrow(
        /^Invalid --data-dir \/ PARLEY_DATA_DIR = "\/no\/such\/parent\/data": its parent directory \/no\/such\/parent does not exist/,
      );
    });

    it("is not checked on PostgreSQL or in memory, where no data directory is used", () => {
      expect(loadConfig({ argv: ["--data-dir", "/no/such/parent/data", "--database-url", "postgres://db/parley"] }).databaseUrl).toBe("postgres://db/parley");
      expect(loadConfig({ argv: ["--data-dir", "/no/such/parent/data", "--database-url", "sqlite::memory:"] }).databaseUrl).toBe("sqlite::memory:");
    });
  });

  it("drains for --shutdown-grace-ms before it stops taking connections (5 s by default, 0 to 120 s)", () => {
    expect(loadConfig().shutdownGraceMs).toBe(5_000);
    expect(loadConfig({ env: { PARLEY_SHUTDOWN_GRACE_MS: "0" } }).shutdownGraceMs).toBe(0);
    expect(loadConfig({ argv: ["--shutdown-grace-ms", "15000"] }).shutdownGraceMs).toBe(15_000);
    expect(() => loadConfig({ argv: ["--shutdown-grace-ms", "-1"] })).toThrow(/^Invalid --shutdown-grace-ms/);
    expect(() => loadConfig({ argv: ["--shutdown-grace-ms", "120001"] })).toThrow(/^Invalid --shutdown-grace-ms/);
  });

  it("many nodes: a Redis URL needs a PostgreSQL database, and must be redis:// or rediss://", () => {
    const c = loadConfig({ env: { PARLEY_REDIS_URL: "redis://10.0.0.5:6379", PARLEY_DATABASE_URL: "postgres://db/parley", PARLEY_DATABASE_POOL_SIZE: "25", PARLEY_STORAGE_URL: "s3://parley-files" } });
    expect(c.redisUrl).toBe("redis://10.0.0.5:6379");
    expect(c.databasePoolSize).toBe(25);
    expect(c.redisKeyPrefix).toBe("parley:");
    expect(loadConfig().redisUrl).toBeNull();
    expect(() => loadConfig({ env: { PARLEY_REDIS_URL: "redis://10.0.0.5:6379" } })).toThrow(/many nodes must share one PostgreSQL database/);
    expect(() => loadConfig({ env: { PARLEY_REDIS_URL: "http://x", PARLEY_DATABASE_URL: "postgres://db/p" } })).toThrow(/PARLEY_REDIS_URL/);
    expect(() => loadConfig({ env: { PARLEY_REDIS_KEY_PREFIX: "has space" } })).toThrow(/PARLEY_REDIS_KEY_PREFIX/);
  });

  it("files: local by default, S3 by URL; many nodes need a store they all reach", () => {
    const local = loadConfig({ env: { PARLEY_DATA_DIR: "/srv/parley" } });
    expect(local.storageUrl).toBe("file:/srv/parley/files");
    expect(local.uploadMaxBytes).toBe(25 * 1024 * 1024);
    expect(local.attachmentsPerMessage).toBe(10);
    const s3 = loadConfig({ argv: ["--storage-url", "s3://parley-files/team", "--s3-endpoint", "http://127.0.0.1:9000", "--s3-force-path-style", "false"] });
    expect(s3).toMatchObject({ storageUrl: "s3://parley-files/team", s3Endpoint: "http://127.0.0.1:9000", s3Region: "us-east-1", s3ForcePathStyle: false });
    expect(() => loadConfig({ argv: ["--storage-url", "s3://A_bad_bucket"] })).toThrow(/^Invalid --storage-url/);
    expect(() => loadConfig({ argv: ["--storage-url", "/tmp/files"] })).toThrow(/^Invalid --storage-url/);
    expect(() => loadConfig({ argv: ["--storage-shared", "maybe"] })).toThrow(/^Invalid --storage-shared/);
    const many = { PARLEY_REDIS_URL: "redis://10.0.0.5:6379", PARLEY_DATABASE_URL: "postgres://db/parley" };
    expect(() => loadConfig({ env: many })).toThrow(/^Invalid --storage-url .*many nodes/);
    expect(loadConfig({ env: { ...many, PARLEY_STORAGE_URL: "file:/mnt/shared", PARLEY_STORAGE_SHARED: "true" } }).storageShared).toBe(true);
    for (const flag of ["--upload-max-bytes", "--attachments-per-message", "--uploads-per-minute", "--upload-quota-bytes", "--image-max-pixels", "--pending-upload-ttl-ms", "--file-sweep-interval-ms"]) {
      expect(() => loadConfig({ argv: [flag, "0"] }), flag).toThrow(new RegExp(`^Invalid ${flag}`));
    }
  });

  it("derives Secure cookies and the allowed origin from an https public URL", () => {
    const c = loadConfig({ env: { PARLEY_PUBLIC_URL: "https://chat.example.com/", PARLEY_ALLOWED_ORIGINS: "https://a.example, https://b.example:8443/x" } });
    expect(c.secureCookies).toBe(true);
    expect(c.publicUrl).toBe("https://chat.example.com");
    expect(c.allowedOrigins).toEqual(["https://chat.example.com", "https://a.example", "https://b.example:8443"]);
  });

  it.each([
    [{ env: { PARLEY_PORT: "seventy" } }, /PARLEY_PORT \(the --port setting\)/],
    [{ env: { PARLEY_PORT: "70000" } }, /PARLEY_PORT/],
    [{ env: { PARLEY_LOG_LEVEL: "loud" } }, /PARLEY_LOG_LEVEL \(the --log-level setting\)/],
    [{ env: { PARLEY_PUBLIC_URL: "not a url" } }, /PARLEY_PUBLIC_URL/],
    [{ env: { PARLEY_DATABASE_URL: "mysql://x" } }, /PARLEY_DATABASE_URL/],
    [{ env: { PARLEY_ALLOWED_ORIGINS: "::nope" } }, /PARLEY_ALLOWED_ORIGINS/],
    [{ argv: ["--no-such-flag", "1"] }, /no-such-flag/],
  ])("names the bad setting: %j", (input, pattern) => {
    expect(() => loadConfig(input)).toThrow(ConfigError);
    expect(() => loadConfig(input)).toThrow(pattern);
  });

  describe("trustProxy", () => {
    it("trusts no proxy by default: the peer address is the client", () => {
      expect(loadConfig().trustProxy).toEqual([]);
      expect(loadConfig({ env: { PARLEY_TRUST_PROXY: "" } }).trustProxy).toEqual([]);
      expect(loadConfig({ env: { PARLEY_TRUST_PROXY: "none" } }).trustProxy).toEqual([]);
    });

    it("takes a comma-separated list of IPv4/IPv6 addresses and CIDR ranges", () => {
      expect(loadConfig({ env: { PARLEY_TRUST_PROXY: " 127.0.0.1, 10.0.0.0/8,::1 , fd00::/8" } }).trustProxy).toEqual([
        "127.0.0.1",
        "10.0.0.0/8",
        "::1",
        "fd00::/8",
      ]);
      expect(loadConfig({ argv: ["--trust-proxy", "192.168.1.5"] }).trustProxy).toEqual(["192.168.1.5"]);
      expect(loadConfig({ values: { trustProxy: "172.16.0.0/12" } }).trustProxy).toEqual(["172.16.0.0/12"]);
    });

    it.each(["true", "TRUE", "*", "1", "yes", "10.0.0.1,*", "127.0.0.1, true"])("refuses trusting every hop: %j", (value) => {
      expect(() => loadConfig({ env: { PARLEY_TRUST_PROXY: value } })).toThrow(ConfigError);
      expect(() => loadConfig({ env: { PARLEY_TRUST_PROXY: value } })).toThrow(/--trust-proxy \/ PARLEY_TRUST_PROXY.*forge/);
    });

    it.each(["proxy.example.com", "localhost", "10.0.0.0/33", "::1/129", "10.0.0.0/8/8", "10.0.0.256", "10.0.0.0/x", "10.0.0.0/", "loopback"])(
      "refuses an entry that is not an address or CIDR range: %j",
      (value) => {
        expect(() => loadConfig({ env: { PARLEY_TRUST_PROXY: `127.0.0.1,${value}` } })).toThrow(ConfigError);
        expect(() => loadConfig({ env: { PARLEY_TRUST_PROXY: `127.0.0.1,${value}` } })).toThrow(/PARLEY_TRUST_PROXY.*not an IP address or CIDR range/);
      },
    );
  });

  describe("metrics", () => {
    it("are off unless a metrics port is set, and bind loopback by default", () => {
      const c = loadConfig();
      expect(c.metricsPort).toBeNull();
      expect(c.metricsHost).toBe("127.0.0.1");
      // An empty variable is unset, as for every setting.
      expect(loadConfig({ env: { PARLEY_METRICS_PORT: "" } }).metricsPort).toBeNull();
    });

    it("take the port (0 = any free port) and the address from flags or the environment", () => {
      expect(loadConfig({ env: { PARLEY_METRICS_PORT: "9464" } }).metricsPort).toBe(9464);
      expect(loadConfig({ env: { PARLEY_METRICS_PORT: "0" } }).metricsPort).toBe(0);
      const c = loadConfig({ argv: ["--metrics-port", "9100", "--metrics-host", "10.0.0.5"], env: { PARLEY_METRICS_PORT: "9464", PARLEY_METRICS_HOST: "::1" } });
      expect(c.metricsPort).toBe(9100);
      expect(c.metricsHost).toBe("10.0.0.5");
      expect(loadConfig({ env: { PARLEY_METRICS_HOST: "::1" } }).metricsHost).toBe("::1");
    });

    it.each(["metrics", "-1", "65536", "94.5"])("refuses a bad metrics port: %j", (value) => {
      expect(() => loadConfig({ env: { PARLEY_METRICS_PORT: value } })).toThrow(/PARLEY_METRICS_PORT \(the --metrics-port setting\)/);
    });
  });

  it("documents every setting in --help, with its default, and nothing the product does not have", () => {
    const help = configHelp();
    for (const flag of ["--port", "--host", "--data-dir", "--public-url", "--allowed-origins", "--log-level", "PARLEY_DATABASE_URL", "--shutdown-grace-ms"]) {
      expect(help).toContain(flag);
    }
    expect(help).toContain("--port <value>  (PARLEY_PORT, default 3000)");
    expect(help).toContain("--host <value>  (PARLEY_HOST, default 0.0.0.0)");
    expect(help).toContain("(PARLEY_LOG_LEVEL, default info)");
    expect(help).toContain("(PARLEY_SHUTDOWN_GRACE_MS, default 5000)");
    // Unset settings show no default rather than "undefined".
    expect(help).not.toContain("undefined");
    // Settings are named by their flags there too, never by internal keys (wsSocketsPerUser).
    for (const key of Object.keys(settings)) if (/[A-Z]/.test(key)) expect(help).not.toContain(key);
    expect(help).toContain("--upload-max-bytes <value>  (PARLEY_UPLOAD_MAX_BYTES, default 26214400)");
  });
});
