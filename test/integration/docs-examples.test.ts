import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { SocketClient, createRoom, signup, signupBot, type Caller } from "../support/client.js";

const BOT = path.resolve(import.meta.dirname, "../../docs/examples/bot.mjs");
const PROTOCOL_MD = path.resolve(import.meta.dirname, "../../docs/protocol.md");

describe("docs/protocol.md is self-contained", () => {
  const text = fs.readFileSync(PROTOCOL_MD, "utf8");

  it("embeds docs/examples/bot.mjs verbatim", () => {
    const marker = text.indexOf("docs/examples/bot.mjs verbatim");
    expect(marker).toBeGreaterThan(0);
    const block = /```js\n([\s\S]*?)```/.exec(text.slice(marker));
    expect(block?.[1]).toBe(fs.readFileSync(BOT, "utf8"));
  });

  it("points to nothing an outside developer does not have (DESIGN.md, source files)", () => {
    expect(text).not.toMatch(/DESIGN\.md/);
    expect(text).not.toMatch(/\bsrc\/|\b[\w-]+\.tsx?\b/);
  });
});

/** A TCP relay in front of the server: cutting it drops the bot's connections as a network failure would. */
class Relay {
  private readonly sockets = new Set<net.Socket>();
  private blocked = false;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: URL): Promise<Relay> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const relay = new Relay(server, (server.address() as net.AddressInfo).port);
    server.on("connection", (client) => {
      if (relay.blocked) return client.destroy();
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        relay.sockets.add(a);
        a.pipe(b);
        a.on("error", () => b.destroy());
        a.on("close", () => {
          relay.sockets.delete(a);
          b.destroy();
        });
      }
    });
    return relay;
  }

  /** Drops every connection, and refuses new ones until `open`. */
  cut(): void {
    this.blocked = true;
    for (const s of this.sockets) s.destroy();
  }

  open(): void {
    this.blocked = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * docs/examples/bot.mjs, the sample bot that docs/protocol.md embeds, run
 * against a real server: it answers live, then follows the documented
 * reconnect procedure (list rooms, resume every room) after a dropped
 * connection, including a room it was added to while away.
 */
describe("the sample bot of docs/protocol.md", () => {
  let t: TestServer;
  let human: Caller;
  let bot: Caller;
  let watcher: SocketClient;
  let relay: Relay;
  let child: ChildProcess;
  let output = "";

  /** Resolves once the bot has printed a line matching `pattern` `count` times. */
  const printed = async (pattern: RegExp, count = 1): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while ((output.match(new RegExp(pattern, "g")) ?? []).length < count) {
      if (Date.now() > deadline) throw new Error(`the bot never printed ${pattern}; it printed:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** Waits for the bot's reply `body` in `roomId`, as the human's socket sees it. */
  const reply = (roomId: string, body: string) =>
    watcher.waitFor((f) => f.type === "message.created" && f.roomId === roomId && f.message.author.id === bot.user.id && f.message.body === body, 10_000);
  const say = async (roomId: string, body: string) => {
    const res = await human.post(`/rooms/${roomId}/messages`, { body });
    expect(res.status).toBe(201);
  };
  const addBot = async (roomId: string) => {
    expect((await human.post(`/rooms/${roomId}/members`, { userId: bot.user.id })).status).toBe(201);
  };

  beforeAll(async () => {
    t = await startTestServer();
    human = await signup(t.baseUrl, "human");
    bot = await signupBot(t.baseUrl, "echo");
    watcher = await SocketClient.connect(t.wsUrl, human);
    relay = await Relay.start(new URL(t.baseUrl));
  });
  afterAll(async () => {
    child?.kill();
    await watcher?.close();
    await relay?.close();
    await t.destroy();
  });

  it("answers live, and after a dropped connection catches up every room, including one joined while away", async () => {
    const lobby = await createRoom(human, "public", "lobby");
    expect((await bot.post(`/rooms/${lobby}/join`)).status).toBe(200);
    await say(lobby, "!echo from before the bot ran");

    child = spawn(process.execPath, [BOT], {
      env: { ...process.env, PARLEY_URL: `http://127.0.0.1:${relay.port}`, PARLEY_TOKEN: bot.bearer, PARLEY_RECONNECT_MS: "100" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await printed(/resumed \d+ rooms/);

    await say(lobby, "!echo one");
    await reply(lobby, "one");

    // Added while connected: the bot hears its own member.joined live.
    const team = await createRoom(human, "private", "team");
    await addBot(team);
    await say(team, "!echo two");
    await reply(team, "two");

    // The network drops; meanwhile the lobby goes on and the bot is added to a new room.
    relay.cut();
    await printed(/closed \d+/);
    await say(lobby, "!echo three");
    const later = await createRoom(human, "private", "later");
    await addBot(later);
    await say(later, "!echo four");
    relay.open();
    await reply(lobby, "three");
    await reply(later, "four");
    await printed(/resumed \d+ rooms/, 2);

    // Each command answered exactly once, and nothing from before the bot first ran.
    const history = async (roomId: string) =>
      ((await human.get<{ messages: { body: string; author: { id: string } }[] }>(`/rooms/${roomId}/messages`)).body.messages)
        .filter((m) => m.author.id === bot.user.id)
        .map((m) => m.body);
    expect(await history(lobby)).toEqual(["one", "three"]);
    expect(await history(team)).toEqual(["two"]);
    expect(await history(later)).toEqual(["four"]);
  });
});
