import { afterEach, describe, expect, it, vi } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { PASSWORD, signup, unique, type HttpAnswer } from "../support/client.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import { addressKey } from "@server/http/client-address.js";

/**
 * Issue 8, items 4 and 7: login and signup floods, the password hash queue,
 * and which X-Forwarded-For is believed. Every limit is set low here; the
 * test server's defaults are lenient. Nothing waits on time or machine speed:
 * the hash queue is filled by holding its only slot.
 */

const ADDRESS_A = "203.0.113.10";
const ADDRESS_B = "198.51.100.20";
const WRONG = "wrong-password-9";

/** POSTs JSON to /api/v1`path`, optionally claiming to come through a proxy for `forwardedFor`. */
async function post(t: TestServer, path: string, body: unknown, forwardedFor?: string): Promise<HttpAnswer<ErrorBody>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (forwardedFor !== undefined) headers["x-forwarded-for"] = forwardedFor;
  const res = await fetch(`${t.baseUrl}/api/v1${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as ErrorBody, headers: res.headers };
}

const login = (t: TestServer, username: string, password: string, forwardedFor?: string) =>
  post(t, "/auth/login", { username, password }, forwardedFor);

const signupBody = (username = `ab_${unique()}`) => ({
  email: `${username}@example.test`,
  username,
  password: PASSWORD,
  passwordConfirm: PASSWORD,
});

/** Contract v1's 429: rate_limited in the error shape, with a positive Retry-After in seconds. */
function expectRateLimited(res: HttpAnswer<ErrorBody>): void {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe("rate_limited");
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
}

let servers: TestServer[] = [];
async function start(overrides: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const t = await startTestServer(overrides);
  servers.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(servers.map((t) => t.destroy()));
  servers = [];
});

describe("login flood from one address", () => {
  it("a flood of fresh usernames hits the per-address limit; another address still logs in", async () => {
    const t = await start({ loginAttemptsPerMinutePerAddress: 5, trustProxy: "127.0.0.1" });
    const user = await signup(t.baseUrl, "victim");
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(t, `fresh_${unique()}`, WRONG, ADDRESS_A)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // A fresh name no longer buys a fresh budget.
    expectRateLimited(await login(t, `fresh_${unique()}`, WRONG, ADDRESS_A));
    // Even the right password, from the flooding address, waits.
    expectRateLimited(await login(t, user.user.username, PASSWORD, ADDRESS_A));
    // Another address is not held up by the first one's flood.
    expect((await login(t, user.user.username, PASSWORD, ADDRESS_B)).status).toBe(200);
  });

  it("an account named by username and by email shares one budget; an unknown name counts under its lowercased self", async () => {
    const t = await start({ loginAttemptsPerMinute: 2 });
    const user = await signup(t.baseUrl, "shared");
    const other = await signup(t.baseUrl, "other");
    expect((await login(t, user.user.username, WRONG)).status).toBe(401);
    expect((await login(t, user.user.email.toUpperCase(), WRONG)).status).toBe(401);
    // The third attempt is refused whichever name it uses, the right password included.
    expectRateLimited(await login(t, user.user.email, PASSWORD));
    expectRateLimited(await login(t, user.user.username.toUpperCase(), PASSWORD));
    // Another account has its own budget.
    expect((await login(t, other.user.email, PASSWORD)).status).toBe(200);

    const ghost = `Ghost_${unique()}`;
    expect((await login(t, ghost, WRONG)).status).toBe(401);
    expect((await login(t, ghost.toUpperCase(), WRONG)).status).toBe(401);
    expectRateLimited(await login(t, ghost.toLowerCase(), WRONG));
  });
});

describe("signup flood from one address", () => {
  it("past signupsPerHourPerAddress an address is refused, and the refused signup creates nothing", async () => {
    const t = await start({ signupsPerHourPerAddress: 2, trustProxy: "127.0.0.1" });
    expect((await post(t, "/auth/signup", signupBody(), ADDRESS_A)).status).toBe(201);
    // A taken email counts too: probing for accounts spends the same budget.
    const first = signupBody();
    expect((await post(t, "/auth/signup", first, ADDRESS_B)).status).toBe(201);
    const probe = await post(t, "/auth/signup", { ...signupBody(), email: first.email }, ADDRESS_A);
    expect([probe.status, probe.body.error.code]).toEqual([409, "email_taken"]);

    const refused = signupBody();
    expectRateLimited(await post(t, "/auth/signup", refused, ADDRESS_A));
    expectRateLimited(await post(t, "/auth/signup", { ...signupBody(), email: first.email }, ADDRESS_A));
    // Nothing was written: the same username and email are still free for another address.
    expect((await post(t, "/auth/signup", refused, ADDRESS_B)).status).toBe(201);
  });
});

describe("X-Forwarded-For", () => {
  it("from an untrusted peer it is ignored: the rate-limit key stays the peer's address", async () => {
    const t = await start({ loginAttemptsPerMinutePerAddress: 2 });
    expect((await login(t, `x_${unique()}`, WRONG, ADDRESS_A)).status).toBe(401);
    expect((await login(t, `x_${unique()}`, WRONG, ADDRESS_B)).status).toBe(401);
    // Two different claimed addresses, one real peer (127.0.0.1): its budget of 2 is spent.
    expectRateLimited(await login(t, `x_${unique()}`, WRONG, "192.0.2.30"));
    expectRateLimited(await login(t, `x_${unique()}`, WRONG));
  });

  it("from a trusted proxy it names the client: each forwarded address has its own budget", async () => {
    const t = await start({ loginAttemptsPerMinutePerAddress: 2, trustProxy: "127.0.0.1" });
    expect((await login(t, `x_${unique()}`, WRONG, ADDRESS_A)).status).toBe(401);
    expect((await login(t, `x_${unique()}`, WRONG, ADDRESS_A)).status).toBe(401);
    expectRateLimited(await login(t, `x_${unique()}`, WRONG, ADDRESS_A));
    expect((await login(t, `x_${unique()}`, WRONG, ADDRESS_B)).status).toBe(401);
    // The proxy's own requests (no header) are a third client.
    expect((await login(t, `x_${unique()}`, WRONG)).status).toBe(401);
  });
});

describe("IPv6 clients", () => {
  it("are limited by their /64: one subscriber's many addresses share a budget", async () => {
    const t = await start({ loginAttemptsPerMinutePerAddress: 2, trustProxy: "127.0.0.1" });
    expect((await login(t, `x_${unique()}`, WRONG, "2001:db8:1:2::a")).status).toBe(401);
    expect((await login(t, `x_${unique()}`, WRONG, "2001:db8:1:2:ffff:1:2:3")).status).toBe(401);
    expectRateLimited(await login(t, `x_${unique()}`, WRONG, "2001:DB8:1:2::b"));
    // The next /64 is another client.
    expect((await login(t, `x_${unique()}`, WRONG, "2001:db8:1:3::a")).status).toBe(401);
  });

  it("addressKey: IPv4 as is (mapped ones too), IPv6 by /64 in one spelling", () => {
    expect(addressKey("203.0.113.10")).toBe("203.0.113.10");
    expect(addressKey("::ffff:203.0.113.10")).toBe("203.0.113.10");
    expect(addressKey("2001:db8:1:2::a")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0DB8:0001:0002:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("1:2:3::4.5.6.7")).toBe("1:2:3:0::/64");
    expect(addressKey("::2:3:4:5:6:7:8")).toBe("0:2:3:4::/64");
  });
});

describe("password hash queue", () => {
  it("past passwordHashQueue waiting hashes, login and signup answer 429 at once and change nothing", async () => {
    const t = await start({ passwordHashConcurrency: 1, passwordHashQueue: 1 });
    const user = await signup(t.baseUrl, "queued");
    const hasher = t.server.services.auth.passwords;
    // Hold the only slot, so whatever is admitted next waits, however fast this machine hashes.
    let release!: () => void;
    const held = hasher.run(() => new Promise<void>((resolve) => (release = resolve)));
    expect(hasher.active + hasher.waiting).toBe(1);

    const answers: HttpAnswer<ErrorBody>[] = [];
    const logins = Array.from({ length: 5 }, () => login(t, user.user.username, WRONG).then((a) => (answers.push(a), a)));
    const refusedSignup = signupBody();
    try {
      // One login takes the one place in the queue; the other four are refused without waiting for the slot.
      await vi.waitFor(() => expect(answers).toHaveLength(4), { timeout: 10_000 });
      for (const a of answers) expectRateLimited(a);
      expect(hasher.waiting).toBe(1);
      expectRateLimited(await post(t, "/auth/signup", refusedSignup));
    } finally {
      release();
      await held;
    }
    const all = await Promise.all(logins);
    expect(all.map((a) => a.status).sort()).toEqual([401, 429, 429, 429, 429]);
    // The refused signup wrote nothing: it succeeds now that the queue is free.
    expect((await post(t, "/auth/signup", refusedSignup)).status).toBe(201);
  });
});
