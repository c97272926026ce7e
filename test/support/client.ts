import WebSocket from "ws";
import { ServerFrameSchema, type ServerFrame, type AckFrame, type ErrorFrame } from "@shared/protocol/frames.js";
import type { Message, Self } from "@shared/protocol/entities.js";
import type { SessionResponse } from "@shared/protocol/http.js";

/**
 * Test clients: an HTTP caller that keeps a session cookie and CSRF token
 * or a Bearer token, and a WebSocket client that logs every frame it gets
 * and lets a test wait for frames and acks.
 */

let counter = 0;
/** A unique suffix so parallel tests never collide on usernames. */
export const unique = (): string => `${process.pid.toString(36)}${Date.now().toString(36)}${(counter++).toString(36)}`;

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** An HTTP caller bound to one identity (cookie + CSRF, or Bearer). */
export class Caller {
  cookie: string | undefined;
  csrfToken: string | undefined;
  bearer: string | undefined;
  user!: Self;

  constructor(readonly baseUrl: string) {}

  /** `csrf: false` leaves the X-CSRF-Token header out (to test that it is required). */
  async request<T = unknown>(method: string, path: string, body?: unknown, opts: { csrf?: boolean; raw?: string } = {}): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = {};
    if (body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    else if (this.cookie) {
      headers.cookie = this.cookie;
      if (opts.csrf !== false && this.csrfToken && method !== "GET") headers["x-csrf-token"] = this.csrfToken;
    }
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers,
      body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const setCookie = res.headers.get("set-cookie");
    if (setCookie) {
      const pair = setCookie.split(";")[0]!;
      this.cookie = pair.endsWith("=") ? undefined : pair;
    }
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
  }

  get<T = unknown>(path: string) {
    return this.request<T>("GET", path);
  }
  post<T = unknown>(path: string, body?: unknown, opts?: { csrf?: boolean; raw?: string }) {
    return this.request<T>("POST", path, body, opts);
  }
}

export const PASSWORD = "tangerine-violet-42";

/** Signs up a fresh user (cookie session); `name` prefixes the unique username. */
export async function signup(baseUrl: string, name = "user"): Promise<Caller> {
  const caller = new Caller(baseUrl);
  const username = `${name}_${unique()}`.slice(0, 32);
  const res = await caller.post<SessionResponse>("/auth/signup", {
    email: `${username}@example.test`,
    username,
    password: PASSWORD,
    passwordConfirm: PASSWORD,
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  caller.user = res.body.user;
  caller.csrfToken = res.body.csrfToken;
  return caller;
}

/** Signs up and switches the caller to a personal API token (as a bot would). */
export async function signupBot(baseUrl: string, name = "bot"): Promise<Caller> {
  const caller = await signup(baseUrl, name);
  const res = await caller.post<{ token: string }>("/tokens", { name: "test" });
  if (res.status !== 201) throw new Error(`token failed: ${res.status}`);
  caller.bearer = res.body.token;
  caller.cookie = undefined;
  return caller;
}

/** Creates a room and returns its id. */
export async function createRoom(caller: Caller, kind: "public" | "private" = "public", name = "room"): Promise<string> {
  const res = await caller.post<{ room: { id: string } }>("/rooms", { name: `${name} ${unique()}`, kind });
  if (res.status !== 201) throw new Error(`create room failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.room.id;
}

/** Posts a message over HTTP (a fresh clientId; `extra` adds fields such as `replyTo`) and returns it; fails unless 201. */
export async function postMessage(caller: Caller, roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<Message> {
  const res = await caller.post<{ message: Message }>(`/rooms/${roomId}/messages`, { body, clientId: `c-${unique()}`, ...extra });
  if (res.status !== 201) throw new Error(`post message failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.message;
}

/** A WebSocket test client: every server frame is validated against the protocol schema and logged. */
export class SocketClient {
  readonly frames: ServerFrame[] = [];
  readonly invalid: unknown[] = [];
  private waiters: { test: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];
  private nextId = 0;
  closeInfo: { code: number; reason: string } | null = null;
  private closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const parsed = ServerFrameSchema.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) {
        this.invalid.push(JSON.parse(data.toString()));
        return;
      }
      this.frames.push(parsed.data);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(parsed.data)) return true;
        w.resolve(parsed.data);
        return false;
      });
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
      }),
    );
  }

  /** Connects as `caller` (its Bearer token, or its cookie with an Origin) and waits for `ready`. */
  static async connect(wsUrl: string, caller: Caller, opts: { origin?: string } = {}): Promise<SocketClient> {
    const headers: Record<string, string> = {};
    if (caller.bearer) headers.authorization = `Bearer ${caller.bearer}`;
    else if (caller.cookie) {
      headers.cookie = caller.cookie;
      headers.origin = opts.origin ?? caller.baseUrl;
    }
    const ws = new WebSocket(wsUrl, { headers });
    const client = new SocketClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    await client.waitFor((f) => f.type === "ready");
    return client;
  }

  /** Resolves with the first frame (already received or future) that passes `test`. */
  waitFor<T extends ServerFrame = ServerFrame>(test: (f: ServerFrame) => boolean, timeoutMs = 5_000): Promise<T> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.map((f) => f.type))}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f as T);
        },
      });
    });
  }

  /** Frames received from now on that pass `test`, after waiting `ms` (for asserting what did NOT come). */
  async collect(test: (f: ServerFrame) => boolean, ms: number): Promise<ServerFrame[]> {
    const start = this.frames.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.slice(start).filter(test);
  }

  /** Sends a command with a fresh id and resolves with its ack or error frame. */
  async command(frame: Record<string, unknown>): Promise<AckFrame | ErrorFrame> {
    const id = `c${this.nextId++}`;
    this.ws.send(JSON.stringify({ ...frame, id }));
    return this.waitFor<AckFrame | ErrorFrame>((f) => (f.type === "ack" || f.type === "error") && f.id === id, 10_000);
  }

  /** Sends raw text; resolves with the next error frame. */
  async sendRaw(text: string | Buffer, opts: { binary?: boolean } = {}): Promise<ErrorFrame> {
    const before = this.frames.length;
    this.ws.send(text, { binary: opts.binary ?? false });
    return this.waitFor<ErrorFrame>((f) => f.type === "error" && this.frames.indexOf(f) >= before);
  }

  /** The message.created events received so far, optionally for one room. */
  messages(roomId?: string) {
    return this.frames.flatMap((f) => (f.type === "message.created" && (roomId === undefined || f.roomId === roomId) ? [f] : []));
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }

  whenClosed(): Promise<{ code: number; reason: string }> {
    return this.closed;
  }
}

/**
 * The sockets a describe block opens: `connect` opens one (to the node `wsUrl()`
 * names when called) and keeps it; `closeAll`, in afterAll, closes them all.
 */
export function socketPool(wsUrl: () => string): { connect: (caller: Caller) => Promise<SocketClient>; closeAll: () => Promise<void> } {
  const sockets: SocketClient[] = [];
  return {
    connect: async (caller) => {
      const s = await SocketClient.connect(wsUrl(), caller);
      sockets.push(s);
      return s;
    },
    closeAll: async () => {
      for (const s of sockets.splice(0)) await s.close();
    },
  };
}
