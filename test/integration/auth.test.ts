import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../support/server.js";
import { Caller, PASSWORD, SocketClient, signup, signupBot, unique } from "../support/client.js";
import type { ErrorBody } from "@shared/protocol/errors.js";
import type { SessionResponse, SessionStateResponse } from "@shared/protocol/http.js";

const signupBody = (username: string, email = `${username}@example.test`, password = PASSWORD) => ({
  email,
  username,
  password,
  passwordConfirm: password,
});

describe("accounts and sessions", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.destroy());

  it("every endpoint requires authentication", async () => {
    const anon = new Caller(t.baseUrl);
    const paths: [string, string][] = [
      ["GET", "/me"],
      ["GET", "/users"],
      ["GET", "/rooms"],
      ["GET", "/rooms/public"],
      ["POST", "/rooms"],
      ["GET", "/rooms/x"],
      ["POST", "/rooms/x/join"],
      ["POST", "/rooms/x/leave"],
      ["POST", "/rooms/x/members"],
      ["GET", "/rooms/x/messages"],
      ["POST", "/rooms/x/messages"],
      ["POST", "/direct"],
      ["POST", "/tokens"],
      ["POST", "/auth/logout"],
    ];
    for (const [method, path] of paths) {
      const res = await anon.request<ErrorBody>(method, path, method === "POST" ? {} : undefined);
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 401, "unauthenticated"]);
    }
  });

  it("signs up, sets an HttpOnly SameSite=Lax session cookie, and answers GET /me", async () => {
    const caller = new Caller(t.baseUrl);
    const name = `Zoe_${unique()}`;
    const res = await caller.post<SessionResponse>("/auth/signup", signupBody(name));
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ username: name, displayName: name });
    expect(res.body.user).not.toHaveProperty("passwordHash");
    expect(res.body.csrfToken.length).toBeGreaterThan(20);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // served over http here
    const me = await caller.get<SessionResponse>("/me");
    expect(me.body.user.id).toBe(res.body.user.id);
    expect(me.body.csrfToken).toBe(res.body.csrfToken);
  });

  it("refuses taken usernames (ignoring case) and emails, bad fields, and common passwords", async () => {
    const caller = new Caller(t.baseUrl);
    const name = `taken_${unique()}`;
    expect((await caller.post("/auth/signup", signupBody(name))).status).toBe(201);
    const again = new Caller(t.baseUrl);
    const dupName = await again.post<ErrorBody>("/auth/signup", signupBody(name.toUpperCase(), `other_${unique()}@example.test`));
    expect([dupName.status, dupName.body.error.code]).toEqual([409, "username_taken"]);
    const dupEmail = await again.post<ErrorBody>("/auth/signup", signupBody(`x_${unique()}`, `${name.toUpperCase()}@EXAMPLE.TEST`));
    expect([dupEmail.status, dupEmail.body.error.code]).toEqual([409, "email_taken"]);

    const bad = async (body: Record<string, unknown>, field: string) => {
      const res = await again.post<ErrorBody>("/auth/signup", body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.details?.map((d) => d.path).join(" ")).toContain(field);
    };
    const u = () => `u_${unique()}`;
    await bad(signupBody("ab"), "username");
    await bad(signupBody("a".repeat(33)), "username");
    await bad(signupBody("has space"), "username");
    await bad(signupBody(u(), "not-an-email"), "email");
    await bad(signupBody(u(), undefined, "short"), "password");
    await bad({ ...signupBody(u()), passwordConfirm: "different-thing-1" }, "passwordConfirm");
    await bad(signupBody(u(), undefined, "password123"), "password");
    await bad(signupBody(u(), undefined, "qwertyuiop"), "password");
  });

  it("logs in by username or email; wrong credentials answer the same whether the user exists or not", async () => {
    const user = await signup(t.baseUrl, "login");
    const byName = new Caller(t.baseUrl);
    expect((await byName.post("/auth/login", { username: user.user.username.toUpperCase(), password: PASSWORD })).status).toBe(200);
    const byEmail = new Caller(t.baseUrl);
    const res = await byEmail.post<SessionResponse>("/auth/login", { username: user.user.email, password: PASSWORD });
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(user.user.id);
    // A new login is a new session: its cookie differs from the signup's.
    expect(byEmail.cookie).not.toBe(user.cookie);

    const wrong = await new Caller(t.baseUrl).post<ErrorBody>("/auth/login", { username: user.user.username, password: "wrong-password-9" });
    const nobody = await new Caller(t.baseUrl).post<ErrorBody>("/auth/login", { username: `nobody_${unique()}`, password: "wrong-password-9" });
    expect(wrong.status).toBe(401);
    expect(nobody.status).toBe(401);
    expect(nobody.body).toEqual(wrong.body);
  });

  it("requires the CSRF token on cookie-authenticated changes, but not on Bearer ones", async () => {
    const user = await signup(t.baseUrl, "csrf");
    const noToken = await user.post<ErrorBody>("/rooms", { name: "x", kind: "public" }, { csrf: false });
    expect([noToken.status, noToken.body.error.code]).toEqual([403, "forbidden"]);
    user.csrfToken = "forged";
    expect((await user.post("/rooms", { name: "x", kind: "public" })).status).toBe(403);
    const rooms = await user.get<{ rooms: unknown[] }>("/rooms");
    expect(rooms.body.rooms).toHaveLength(0);

    const bot = await signupBot(t.baseUrl, "bot");
    expect((await bot.post("/rooms", { name: "by bot", kind: "public" })).status).toBe(201);
  });

  it("logout ends the session and closes its sockets with 4401", async () => {
    const user = await signup(t.baseUrl, "logout");
    const s = await SocketClient.connect(t.wsUrl, user);
    const cookie = user.cookie;
    expect((await user.post("/auth/logout")).status).toBe(204);
    expect((await s.whenClosed()).code).toBe(4401);
    const stale = new Caller(t.baseUrl);
    stale.cookie = cookie;
    expect((await stale.get("/me")).status).toBe(401);
  });

  it("GET /session answers 200 whether or not the caller is signed in (GET /me stays 401)", async () => {
    const anon = new Caller(t.baseUrl);
    const none = await anon.get<SessionStateResponse>("/session");
    expect([none.status, none.body]).toEqual([200, { authenticated: false }]);
    expect((await anon.get("/me")).status).toBe(401);

    const user = await signup(t.baseUrl, "probe");
    const yes = await user.get<SessionStateResponse>("/session");
    expect(yes.status).toBe(200);
    expect(yes.body).toEqual({ authenticated: true, user: expect.objectContaining({ id: user.user.id }), csrfToken: user.csrfToken });

    const bot = await signupBot(t.baseUrl, "probebot");
    expect((await bot.get<SessionStateResponse>("/session")).body).toMatchObject({ authenticated: true, csrfToken: "" });
    const fake = new Caller(t.baseUrl);
    fake.bearer = "prl_not-a-real-token";
    expect((await fake.get<SessionStateResponse>("/session")).body).toEqual({ authenticated: false });

    // A session that ended: its cookie says nothing any more.
    const cookie = user.cookie;
    expect((await user.post("/auth/logout")).status).toBe(204);
    const stale = new Caller(t.baseUrl);
    stale.cookie = cookie;
    expect((await stale.get<SessionStateResponse>("/session")).body).toEqual({ authenticated: false });
  });

  it("an API token authenticates HTTP and the WebSocket; a bad token is refused", async () => {
    const bot = await signupBot(t.baseUrl, "tok");
    const me = await bot.get<SessionResponse>("/me");
    expect(me.status).toBe(200);
    const s = await SocketClient.connect(t.wsUrl, bot);
    expect(s.frames[0]).toMatchObject({ type: "ready", user: { id: bot.user.id } });
    await s.close();
    const fake = new Caller(t.baseUrl);
    fake.bearer = "prl_not-a-real-token";
    expect((await fake.get("/me")).status).toBe(401);
    await expect(SocketClient.connect(t.wsUrl, fake)).rejects.toThrow(/401/);
  });

  it("refuses a cookie-authenticated upgrade from a foreign Origin, and one with no credentials", async () => {
    const user = await signup(t.baseUrl, "origin");
    await expect(SocketClient.connect(t.wsUrl, user, { origin: "https://evil.example" })).rejects.toThrow(/403/);
    await expect(SocketClient.connect(t.wsUrl, user, { origin: "::not a url::" })).rejects.toThrow(/403/);
    const ok = await SocketClient.connect(t.wsUrl, user);
    await ok.close();
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(t.wsUrl);
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => resolve(101));
    });
    expect(status).toBe(401);
  });

  it("finds users by prefix, never the caller, never their email", async () => {
    const a = await signup(t.baseUrl, "findme");
    const b = await signup(t.baseUrl, "findme");
    const res = await a.get<{ users: Record<string, unknown>[] }>(`/users?q=FINDME_`);
    const ids = res.body.users.map((u) => u.id);
    expect(ids).toContain(b.user.id);
    expect(ids).not.toContain(a.user.id);
    expect(res.body.users.every((u) => !("email" in u))).toBe(true);
    // LIKE wildcards are literal.
    expect((await a.get<{ users: unknown[] }>(`/users?q=%25`)).body.users).toHaveLength(0);
  });
});

describe("login rate limit", () => {
  it("answers 429 rate_limited with Retry-After past the account's limit, however the account is named", async () => {
    const t = await startTestServer({ loginAttemptsPerMinute: 3 });
    const user = await signup(t.baseUrl, "limited");
    // Username, email and case variants all name the same account: one budget.
    const names = [user.user.username, user.user.email, user.user.username.toUpperCase(), user.user.email.toUpperCase(), user.user.username];
    const statuses: number[] = [];
    let last;
    for (const name of names) {
      last = await new Caller(t.baseUrl).post<ErrorBody>("/auth/login", { username: name, password: "wrong-password-9" });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(last!.body.error.code).toBe("rate_limited");
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    await t.destroy();
  });
});

describe("session expiry", () => {
  it("an expired session no longer authenticates", async () => {
    const t = await startTestServer();
    const user = await signup(t.baseUrl, "brief");
    expect((await user.get("/me")).status).toBe(200);
    // Expired by moving its end into the past, not by waiting: no race with a slow machine.
    await t.server.store.db.updateTable("sessions").set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where("user_id", "=", user.user.id).execute();
    expect((await user.get("/me")).status).toBe(401);
    await t.destroy();
  });
});
