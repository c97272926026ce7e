/**
 * push.ts's rules against a stand-in browser (Notification, the worker's
 * PushManager, localStorage) and a stand-in server (fetch): what is asked,
 * what is sent, and that a refusal leaves nothing subscribed. The real
 * browser path is e2e/pwa-push.test.ts (headless Chromium cannot subscribe:
 * it has no push service).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@web/app/serviceWorker", () => ({ serviceWorkerEnabled: () => true }));

const { PushError, currentPushEndpoint, currentPushSubscriptionId, forgetPushOnThisBrowser, subscribePush, unsubscribePush } = await import("./push");

/** base64url of bytes 1..65, a stand-in VAPID public key. */
const KEY_BYTES = Uint8Array.from({ length: 65 }, (_, i) => i + 1);
const KEY = Buffer.from(KEY_BYTES).toString("base64url");

class FakeSubscription {
  unsubscribed = false;
  constructor(
    readonly endpoint: string,
    readonly options: { applicationServerKey: ArrayBuffer | null },
    private readonly manager: FakePushManager,
  ) {}
  toJSON() {
    return { endpoint: this.endpoint, expirationTime: null, keys: { p256dh: "BPk", auth: "c2VjcmV0" } };
  }
  async unsubscribe() {
    this.unsubscribed = true;
    if (this.manager.current === this) this.manager.current = null;
    return true;
  }
}

class FakePushManager {
  current: FakeSubscription | null = null;
  made = 0;
  async getSubscription() {
    return this.current;
  }
  async subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }) {
    if (!options.userVisibleOnly) throw new Error("userVisibleOnly must be true");
    this.made++;
    this.current = new FakeSubscription(`https://push.example/s${this.made}`, { applicationServerKey: options.applicationServerKey.slice().buffer }, this);
    return this.current;
  }
}

interface Request {
  method: string;
  path: string;
  csrf: string | null;
  body: unknown;
}

let permission: NotificationPermission;
let askedPermission: number;
let manager: FakePushManager;
let requests: Request[];
let answerPost: () => Response;
let storage: Map<string, string>;

beforeEach(() => {
  permission = "default";
  askedPermission = 0;
  manager = new FakePushManager();
  requests = [];
  storage = new Map();
  answerPost = () =>
    Response.json({ subscription: { id: "sub1", label: "Chrome on Linux", service: "push.example", createdAt: "2026-12-07T09:00:00.000Z", lastPushAt: null } }, { status: 201 });
  const registration = { pushManager: manager };
  vi.stubGlobal("window", { PushManager: class {}, Notification: {} });
  vi.stubGlobal("Notification", {
    get permission() {
      return permission;
    },
    requestPermission: async () => {
      askedPermission++;
      return permission === "default" ? "granted" : permission;
    },
  });
  vi.stubGlobal("navigator", {
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36",
    serviceWorker: { ready: Promise.resolve(registration), getRegistration: async () => registration },
  });
  vi.stubGlobal("localStorage", {
    getItem: (k: string) => storage.get(k) ?? null,
    setItem: (k: string, v: string) => void storage.set(k, v),
    removeItem: (k: string) => void storage.delete(k),
  });
  vi.stubGlobal("fetch", async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    const method = init.method ?? "GET";
    requests.push({ method, path, csrf: headers.get("x-csrf-token"), body: init.body ? JSON.parse(String(init.body)) : undefined });
    if (path === "/api/v1/me") return Response.json({ user: {}, csrfToken: "csrf-1" });
    if (path === "/api/v1/push/subscriptions" && method === "POST") return answerPost();
    if (path.startsWith("/api/v1/push/subscriptions/") && method === "DELETE") return new Response(null, { status: 204 });
    return Response.json({ error: { code: "not_found", message: "No route." } }, { status: 404 });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("subscribePush", () => {
  it("asks for permission once, subscribes with the server's key and stores the subscription with a device label and the CSRF token", async () => {
    const json = await subscribePush(KEY);
    expect(askedPermission).toBe(1);
    expect(json.endpoint).toBe("https://push.example/s1");
    expect(new Uint8Array(manager.current?.options.applicationServerKey ?? new ArrayBuffer(0))).toEqual(KEY_BYTES);
    const post = requests.find((r) => r.method === "POST");
    expect(post).toEqual({
      method: "POST",
      path: "/api/v1/push/subscriptions",
      csrf: "csrf-1",
      body: { endpoint: "https://push.example/s1", keys: { p256dh: "BPk", auth: "c2VjcmV0" }, label: "Chrome on Linux" },
    });
    expect(await currentPushEndpoint()).toBe("https://push.example/s1");
    expect(await currentPushSubscriptionId()).toBe("sub1");
  });

  it("blocked: says so, never subscribes, never calls the server", async () => {
    permission = "denied";
    const error = await subscribePush(KEY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushError);
    expect(error).toMatchObject({ code: "denied", message: "Notifications are blocked by your browser: allow them in the site settings." });
    expect(manager.made).toBe(0);
    expect(requests).toEqual([]);
  });

  it("no key from the server yet: unsupported, and permission is not asked for nothing", async () => {
    await expect(subscribePush("")).rejects.toMatchObject({ code: "unsupported" });
    expect(askedPermission).toBe(0);
  });

  it("a subscription made with another server key is replaced; one with the same key is kept", async () => {
    permission = "granted";
    await subscribePush(KEY);
    const first = manager.current;
    await subscribePush(KEY);
    expect(manager.current).toBe(first);
    const otherKey = Buffer.from(Uint8Array.from({ length: 65 }, (_, i) => 100 - i)).toString("base64url");
    await subscribePush(otherKey);
    expect(first?.unsubscribed).toBe(true);
    expect(manager.current?.endpoint).toBe("https://push.example/s2");
  });

  it("refused by the server (its device limit): the server's code, and the browser is left unsubscribed", async () => {
    permission = "granted";
    answerPost = () => Response.json({ error: { code: "limit_reached", message: "At most 10 devices." } }, { status: 409 });
    await expect(subscribePush(KEY)).rejects.toMatchObject({ code: "limit_reached", message: "At most 10 devices." });
    expect(await currentPushEndpoint()).toBeNull();
    expect(await currentPushSubscriptionId()).toBeNull();
  });

  it("the server unreachable: network_error, nothing left subscribed", async () => {
    permission = "granted";
    answerPost = () => {
      throw new TypeError("Failed to fetch");
    };
    await expect(subscribePush(KEY)).rejects.toMatchObject({ code: "network_error" });
    expect(await currentPushEndpoint()).toBeNull();
  });
});

describe("unsubscribePush and sign-out", () => {
  it("deletes this device on the server first, then unsubscribes the browser", async () => {
    permission = "granted";
    await subscribePush(KEY);
    const subscription = manager.current;
    await unsubscribePush();
    expect(requests.at(-1)).toMatchObject({ method: "DELETE", path: "/api/v1/push/subscriptions/sub1", csrf: "csrf-1" });
    expect(subscription?.unsubscribed).toBe(true);
    expect(await currentPushSubscriptionId()).toBeNull();
  });

  it("the server unreachable: the browser stays subscribed (the toggle stays on, the person can retry)", async () => {
    permission = "granted";
    await subscribePush(KEY);
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(unsubscribePush()).rejects.toMatchObject({ code: "network_error" });
    expect(await currentPushEndpoint()).toBe("https://push.example/s1");
  });

  it("signing out unsubscribes the browser without the server (the session is gone)", async () => {
    permission = "granted";
    await subscribePush(KEY);
    const before = requests.length;
    await forgetPushOnThisBrowser();
    expect(requests.length).toBe(before);
    expect(await currentPushEndpoint()).toBeNull();
    expect(storage.size).toBe(0);
  });
});
