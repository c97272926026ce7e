import { beforeEach, describe, expect, it } from "vitest";
import type { ClientCommand, Message, RoomEvent, Self } from "@shared/protocol/index.js";
import type { Outbox } from "./outbox";
import {
  RealtimeConnection,
  resumeBatches,
  type Clock,
  type ConnectionSnapshot,
  type RealtimeHandlers,
  type WebSocketLike,
} from "./socket";

/** A WebSocket double: records what the client sends, lets the test play the server. */
class FakeSocket implements WebSocketLike {
  onopen: WebSocketLike["onopen"] = null;
  onmessage: WebSocketLike["onmessage"] = null;
  onclose: WebSocketLike["onclose"] = null;
  onerror: WebSocketLike["onerror"] = null;
  sent: ClientCommand[] = [];
  closedWith: number | null = null;

  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientCommand);
  }
  close(code = 1000): void {
    this.closedWith = code;
  }
  serverSends(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  serverCloses(code = 1006): void {
    this.onclose?.({ code, reason: "" });
  }
  sentOfType<T extends ClientCommand["type"]>(type: T): Extract<ClientCommand, { type: T }>[] {
    return this.sent.filter((c): c is Extract<ClientCommand, { type: T }> => c.type === type);
  }
}

/** Manual timers: nothing runs until the test advances time. */
class FakeClock implements Clock {
  time = 1_000_000;
  private timers: { at: number; run: () => void; handle: number }[] = [];
  private nextHandle = 1;
  now(): number {
    return this.time;
  }
  setTimeout(run: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.timers.push({ at: this.time + ms, run, handle });
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.handle !== handle);
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > until) break;
      this.timers.shift();
      this.time = due.at;
      due.run();
    }
    this.time = until;
  }
}

const me: Self = { id: "u1", username: "ada", displayName: "Ada", createdAt: "2025-01-01T00:00:00Z", email: "a@x.io" };

function stored(roomId: string, seq: number, clientId: string, body: string): Message {
  return {
    id: `m${seq}`,
    roomId,
    seq,
    author: { id: me.id, username: me.username, displayName: me.displayName },
    body,
    clientId,
    createdAt: "2025-01-01T00:00:00Z",
  };
}

describe("RealtimeConnection", () => {
  let sockets: FakeSocket[];
  let clock: FakeClock;
  let statuses: ConnectionSnapshot[];
  let outboxes: Outbox[];
  let events: RoomEvent[];
  let acked: Message[];
  let sessionEnded: number;
  let cursor: Record<string, number>;
  let online: boolean;
  let ids: number;

  function connection(extra: Partial<ConstructorParameters<typeof RealtimeConnection>[0]> = {}): RealtimeConnection {
    const handlers: RealtimeHandlers = {
      ready: () => {},
      roomEvent: (e) => events.push(e),
      unknownRoomEvent: () => {},
      roomRead: () => {},
      resumed: () => {},
      messageAcked: (m) => acked.push(m),
      statusChanged: (s) => statuses.push(s),
      outboxChanged: (o) => outboxes.push(o),
      sessionEnded: () => {
        sessionEnded += 1;
      },
    };
    return new RealtimeConnection({
      url: "ws://test/ws",
      handlers,
      resumeCursor: () => cursor,
      createSocket: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      clock,
      random: () => 1,
      newClientId: () => `client-${++ids}`,
      isOnline: () => online,
      ...extra,
    });
  }

  const last = (): FakeSocket => sockets[sockets.length - 1]!;
  const state = (): string | undefined => statuses[statuses.length - 1]?.state;

  beforeEach(() => {
    sockets = [];
    clock = new FakeClock();
    statuses = [];
    outboxes = [];
    events = [];
    acked = [];
    sessionEnded = 0;
    cursor = { r1: 4, r2: 0 };
    online = true;
    ids = 0;
  });

  it("resumes with the last seq per room on ready, and again after a reconnect", () => {
    const conn = connection();
    conn.start();
    expect(state()).toBe("connecting");
    last().serverSends({ type: "ready", user: me });
    expect(state()).toBe("connected");
    expect(last().sentOfType("resume")[0]?.rooms).toEqual({ r1: 4, r2: 0 });

    cursor = { r1: 9, r2: 2 };
    last().serverCloses(1006);
    expect(state()).toBe("offline");
    clock.advance(500);
    expect(sockets).toHaveLength(2);
    last().serverSends({ type: "ready", user: me });
    expect(last().sentOfType("resume")[0]?.rooms).toEqual({ r1: 9, r2: 2 });
  });

  it("backs off exponentially between failed attempts, up to 15 s, and resets after ready", () => {
    const conn = connection();
    conn.start();
    const waits: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      last().serverCloses(1006);
      const snapshot = statuses[statuses.length - 1]!;
      waits.push(snapshot.retryAt! - clock.now());
      clock.advance(snapshot.retryAt! - clock.now());
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);

    last().serverSends({ type: "ready", user: me });
    last().serverCloses(1006);
    expect(statuses[statuses.length - 1]!.retryAt! - clock.now()).toBe(500);
  });

  it("holds messages composed offline, in order, and sends them after ready", () => {
    online = false;
    const conn = connection();
    conn.start();
    expect(sockets).toHaveLength(0);
    expect(state()).toBe("offline");

    conn.send("r1", "first");
    conn.send("r1", "second");
    expect(conn.outbox.map((e) => [e.body, e.status])).toEqual([
      ["first", "queued"],
      ["second", "queued"],
    ]);

    conn.networkChanged(true);
    last().serverSends({ type: "ready", user: me });
    const sends = last().sentOfType("message.send");
    // One in flight per room: the second waits for the first's ack.
    expect(sends.map((s) => s.body)).toEqual(["first"]);

    last().serverSends({ type: "ack", id: sends[0]!.id, message: stored("r1", 5, sends[0]!.clientId, "first") });
    expect(last().sentOfType("message.send").map((s) => s.body)).toEqual(["first", "second"]);
    expect(conn.outbox.map((e) => e.body)).toEqual(["second"]);
    expect(acked.map((m) => m.body)).toEqual(["first"]);
  });

  it("resends an unacked message with the same clientId after the socket drops", () => {
    const conn = connection();
    conn.start();
    last().serverSends({ type: "ready", user: me });
    const clientId = conn.send("r1", "hello");
    const firstTry = last().sentOfType("message.send")[0]!;
    expect(firstTry.clientId).toBe(clientId);

    last().serverCloses(1006);
    expect(conn.outbox[0]).toMatchObject({ clientId, status: "queued" });
    clock.advance(500);
    last().serverSends({ type: "ready", user: me });
    const secondTry = last().sentOfType("message.send")[0]!;
    expect(secondTry.clientId).toBe(clientId);
    expect(secondTry.id).not.toBe(firstTry.id);

    // The server stored the first try: the replayed event settles the entry.
    last().serverSends({ type: "message.created", roomId: "r1", seq: 5, message: stored("r1", 5, clientId, "hello") });
    expect(conn.outbox).toHaveLength(0);
    last().serverSends({ type: "ack", id: secondTry.id, message: stored("r1", 5, clientId, "hello") });
    expect(conn.outbox).toHaveLength(0);
  });

  it("marks a refused send failed and retries it with the same clientId on demand", () => {
    const conn = connection();
    conn.start();
    last().serverSends({ type: "ready", user: me });
    const clientId = conn.send("r1", "hi");
    const send = last().sentOfType("message.send")[0]!;
    last().serverSends({ type: "error", id: send.id, code: "rate_limited", message: "Slow down." });
    expect(conn.outbox[0]).toMatchObject({ status: "failed", error: { code: "rate_limited", message: "Slow down." } });

    conn.retry(clientId);
    const again = last().sentOfType("message.send")[1]!;
    expect(again.clientId).toBe(clientId);
  });

  it("hands the notification frames (issue 19) to their handler, and drops a malformed one", () => {
    const got: string[] = [];
    const conn = connection({
      handlers: {
        ready: () => {},
        roomEvent: () => {},
        unknownRoomEvent: () => {},
        roomRead: () => {},
        resumed: () => {},
        messageAcked: () => {},
        statusChanged: () => {},
        outboxChanged: () => {},
        sessionEnded: () => {},
        notifications: (e) => got.push(e.type),
      },
    });
    conn.start();
    last().serverSends({ type: "ready", user: me });
    last().serverSends({ type: "notifications.updated", settings: { roomLevel: "all", directLevel: "all", dndUntil: null, email: false } });
    last().serverSends({ type: "room.notifications.updated", roomId: "r1", notifications: { level: "nothing", muted: true, mutedUntil: null } });
    const notification = {
      roomId: "r1", messageId: "m5", seq: 5, reason: "direct", title: "Ada", body: "Ada: hi", tag: "room:r1",
      url: "/#/rooms/r1/5", createdAt: "2025-01-01T00:00:00.000Z",
    };
    last().serverSends({ type: "notification", notification });
    const warn = console.warn;
    console.warn = () => {};
    try {
      last().serverSends({ type: "notification", notification: { ...notification, seq: 0 } });
    } finally {
      console.warn = warn;
    }
    expect(got).toEqual(["notifications.updated", "room.notifications.updated", "notification"]);
    expect(conn.snapshot.state).toBe("connected");
  });

  it("ignores frames that do not match the protocol, without breaking the connection", () => {
    const conn = connection();
    conn.start();
    last().serverSends({ type: "ready", user: me });
    const warn = console.warn;
    console.warn = () => {};
    try {
      last().onmessage?.({ data: "not json" });
      last().serverSends({ type: "message.created", roomId: "r1", seq: "five" });
      last().serverSends({ type: "nonsense" });
    } finally {
      console.warn = warn;
    }
    last().serverSends({ type: "message.created", roomId: "r1", seq: 5, message: stored("r1", 5, "x", "ok") });
    expect(events.map((e) => e.seq)).toEqual([5]);
    expect(conn.snapshot.state).toBe("connected");
  });

  it("goes to login on close 4401 and stops reconnecting", () => {
    const conn = connection();
    conn.start();
    last().serverSends({ type: "ready", user: me });
    last().serverCloses(4401);
    expect(sessionEnded).toBe(1);
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
  });

  it("drops a socket whose heartbeat goes unanswered and reconnects", () => {
    const conn = connection({ heartbeatMs: 1000, answerTimeoutMs: 500 });
    conn.start();
    last().serverSends({ type: "ready", user: me });
    clock.advance(1000);
    expect(last().sentOfType("ping")).toHaveLength(1);
    clock.advance(500);
    expect(sockets[0]!.closedWith).toBe(4000);
    expect(state()).toBe("offline");
    clock.advance(500);
    expect(sockets).toHaveLength(2);
  });

  it("stops trying while the browser is offline and connects at once when it is back", () => {
    const conn = connection();
    conn.start();
    last().serverSends({ type: "ready", user: me });
    conn.networkChanged(false);
    expect(state()).toBe("offline");
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
    conn.networkChanged(true);
    expect(sockets).toHaveLength(2);
    expect(state()).toBe("connecting");
  });

  it("ends the session when connecting keeps failing and /me says 401", async () => {
    let checks = 0;
    const conn = connection({
      checkSession: () => {
        checks += 1;
        return Promise.resolve(false);
      },
    });
    conn.start();
    last().serverCloses(1006);
    clock.advance(500);
    last().serverCloses(1006);
    await Promise.resolve();
    await Promise.resolve();
    expect(checks).toBeGreaterThan(0);
    expect(sessionEnded).toBe(1);
  });
});

describe("resumeBatches", () => {
  it("splits a large cursor into commands of at most 1,000 rooms and always sends one", () => {
    const cursor = Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`r${i}`, i]));
    const batches = resumeBatches(cursor);
    expect(batches.map((b) => Object.keys(b).length)).toEqual([1000, 1000, 500]);
    expect(Object.assign({}, ...batches)).toEqual(cursor);
    expect(resumeBatches({})).toEqual([{}]);
  });
});
