import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import pg from "pg";
import type { Message, Self } from "@shared/protocol/entities.js";
import type { NotificationSettingsResponse } from "@shared/protocol/notifications.js";
import { openStore } from "@server/store/store.js";
import { checkCopy, copyDatabase, CopyCheckError, COPY_TABLES, type CopyProgress } from "@server/store/copy.js";
import { createTestPostgresDatabase, startTestServer, type TestServer } from "../support/server.js";
import { Caller, PASSWORD, SocketClient, createRoom, postMessage, signup, signupBot } from "../support/client.js";
import { pendingUpload } from "../support/uploads.js";
import { makeKeys } from "../support/push-service.js";

/**
 * The SQLite → PostgreSQL copy (docs/moving-data.md): a real installation
 * made through the API on SQLite, copied, and served by a node on
 * PostgreSQL; an interrupted copy resumed; a foreign target refused; a
 * count difference reported.
 */

const TABLES = Object.keys(COPY_TABLES);
const repoRoot = path.resolve(import.meta.dirname, "../..");

interface HistoryPage {
  messages: Message[];
  hasMore: boolean;
}

/** Every message of a room, in pages of 100 through the `after` cursor. */
async function fullHistory(caller: Caller, roomId: string): Promise<Message[]> {
  const all: Message[] = [];
  let after = 0;
  for (;;) {
    const res = await caller.get<HistoryPage>(`/rooms/${roomId}/messages?after=${after}&limit=100`);
    expect(res.status).toBe(200);
    all.push(...res.body.messages);
    if (!res.body.hasMore) return all;
    after = res.body.messages.at(-1)!.seq;
  }
}

async function pgQuery<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function targetCounts(url: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) counts[table] = Number((await pgQuery<{ n: string }>(url, `select count(*) as n from ${table}`))[0]!.n);
  return counts;
}

/** The same identity on another node: a copy of the caller with its cookie, CSRF token or Bearer token. */
function onNode(caller: Caller, node: TestServer): Caller {
  const moved = new Caller(node.baseUrl);
  moved.cookie = caller.cookie;
  moved.csrfToken = caller.csrfToken;
  moved.bearer = caller.bearer;
  moved.user = caller.user;
  return moved;
}

describe("copying an installation from SQLite to PostgreSQL", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-copy-"));
  const from = `sqlite:${path.join(dataDir, "parley.db")}`;
  const databases: { url: string; drop: () => Promise<void> }[] = [];
  const tempDirs: string[] = [dataDir];
  let alice: Caller;
  let bob: Caller;
  let carol: Caller;
  let bot: Caller;
  let publicRoom: string;
  let privateRoom: string;
  let directRoom: string;
  /** What the API answered on the SQLite node before it stopped. */
  const before: {
    histories: Record<string, Message[]>;
    roomsOfBob: unknown;
    roomsOfCarol: unknown;
    edits: unknown;
    receipts: unknown;
    thread: unknown;
    /** Bob's notification settings, with the VAPID public key his browser subscribed with. */
    notifications: unknown;
    devices: unknown;
    lastSeq: Record<string, number>;
  } = { histories: {}, roomsOfBob: null, roomsOfCarol: null, edits: null, receipts: null, thread: null, notifications: null, devices: null, lastSeq: {} };
  let edited: Message;
  let root: Message;

  async function newTarget(): Promise<string> {
    const db = await createTestPostgresDatabase();
    databases.push(db);
    return db.url;
  }

  beforeAll(async () => {
    // SMTP named (never reached: the first digest pass is a minute away) so that a missed direct message is queued for email.
    const node = await startTestServer({ databaseUrl: from, dataDir, pushAllowPrivateEndpoints: "true", smtpUrl: "smtp://127.0.0.1:9" });
    try {
      alice = await signup(node.baseUrl, "alice");
      bob = await signup(node.baseUrl, "bob");
      carol = await signup(node.baseUrl, "carol");
      bot = await signupBot(node.baseUrl, "bot");

      publicRoom = await createRoom(alice, "public", "lobby");
      privateRoom = await createRoom(alice, "private", "staff");
      expect((await bob.post(`/rooms/${publicRoom}/join`)).status).toBe(200);
      expect((await bot.post(`/rooms/${publicRoom}/join`)).status).toBe(200);
      expect((await alice.post(`/rooms/${privateRoom}/members`, { userId: carol.user.id })).status).toBe(201);
      const direct = await alice.post<{ room: { id: string } }>("/direct", { userId: bob.user.id });
      expect(direct.status).toBe(200);
      directRoom = direct.body.room.id;

      // More rows than a few batches of 5, spread over several rooms, so that batch edges fall inside a room's seqs.
      root = await postMessage(alice, publicRoom, "first message");
      for (let i = 0; i < 24; i++) await postMessage(i % 2 ? alice : bob, publicRoom, `lobby message ${i}`);
      for (let i = 0; i < 7; i++) await postMessage(i % 2 ? alice : carol, privateRoom, `staff message ${i}`);
      await postMessage(bob, publicRoom, `a reply for @${alice.user.username}`, { replyTo: root.id });
      await postMessage(bot, publicRoom, `@${bob.user.username} and @${carol.user.username}: the bot speaks`);
      await postMessage(carol, privateRoom, `@${alice.user.username} see this`);
      // A message with a file (uploads: attached; a pending one beside it).
      await postMessage(alice, publicRoom, "the plan, attached", { attachments: [(await pendingUpload(node, alice, { kind: "image" })).id] });
      await pendingUpload(node, bob, { kind: "file" });

      edited = await postMessage(alice, publicRoom, "draft one");
      expect((await alice.request("PATCH", `/rooms/${publicRoom}/messages/${edited.id}`, { body: "draft two" })).status).toBe(200);
      expect((await alice.request("PATCH", `/rooms/${publicRoom}/messages/${edited.id}`, { body: "final text" })).status).toBe(200);
      const doomed = await postMessage(bob, publicRoom, "to be deleted");
      expect((await bob.request("DELETE", `/rooms/${publicRoom}/messages/${doomed.id}`)).status).toBe(200);

      for (const [who, emoji] of [[alice, "👍"], [bob, "👍"], [bob, "🎉"], [bot, "👀"], [carol, "👍"]] as const) {
        const room = who === carol ? privateRoom : publicRoom;
        const target = who === carol ? (await fullHistory(carol, privateRoom))[0]! : root;
        expect((await who.request("PUT", `/rooms/${room}/messages/${target.id}/reactions/${encodeURIComponent(emoji)}`)).status).toBe(201);
      }
      expect((await bot.request("DELETE", `/rooms/${publicRoom}/messages/${root.id}/reactions/${encodeURIComponent("👀")}`)).status).toBe(200);

      // A send over the WebSocket, in the direct room.
      const socket = await SocketClient.connect(node.wsUrl, bob);
      try {
        const ack = await socket.command({ type: "message.send", roomId: directRoom, body: "hi over the socket", clientId: "ws-1" });
        expect(ack.type).toBe("ack");
      } finally {
        await socket.close();
      }
      // Notifications (issue 19): account settings, a room's level and mute, a push subscription; bob has no socket
      // when "hi back" arrives, so it is queued for his email digest (and pushed to an endpoint nobody answers).
      expect((await bob.request("PATCH", "/notifications/settings", { roomLevel: "all" })).status).toBe(200);
      expect((await bob.request("PUT", `/rooms/${publicRoom}/notifications`, { level: "nothing", muted: true })).status).toBe(200);
      const keys = makeKeys();
      const subscribed = await bob.post("/push/subscriptions", { endpoint: "https://127.0.0.1:9/push/bob", keys: { p256dh: keys.p256dh, auth: keys.auth }, label: "Bob's laptop" });
      expect(subscribed.status).toBe(201);
      await postMessage(alice, directRoom, "hi back");

      // Read and delivered positions.
      expect((await bob.post(`/rooms/${publicRoom}/read`, { seq: 10 })).status).toBe(204);
      expect((await bob.post(`/rooms/${publicRoom}/delivered`, { seq: 20 })).status).toBe(204);
      expect((await carol.post(`/rooms/${privateRoom}/read`, { seq: 3 })).status).toBe(204);

      for (const [room, reader] of [[publicRoom, alice], [privateRoom, alice], [directRoom, bob]] as const) {
        before.histories[room] = await fullHistory(reader, room);
        const info = await reader.get<{ room: { lastSeq: number } }>(`/rooms/${room}`);
        before.lastSeq[room] = info.body.room.lastSeq;
      }
      before.roomsOfBob = (await bob.get("/rooms")).body;
      before.roomsOfCarol = (await carol.get("/rooms")).body;
      before.edits = (await alice.get(`/rooms/${publicRoom}/messages/${edited.id}/edits`)).body;
      // Delivered positions are stored on an interval: wait until they show, so the stop does not race them.
      await vi.waitFor(
        async () => expect((await bob.get<{ delivered: Record<string, number> }>(`/rooms/${publicRoom}/receipts`)).body.delivered[bob.user.id]).toBe(20),
        { timeout: 5_000, interval: 50 },
      );
      before.receipts = (await bob.get(`/rooms/${publicRoom}/receipts`)).body;
      before.thread = (await alice.get(`/rooms/${publicRoom}/messages/${root.id}/replies`)).body;
      const settings = (await bob.get<NotificationSettingsResponse>("/notifications/settings")).body;
      before.notifications = { settings: settings.settings, push: settings.push };
      before.devices = (await bob.get("/push/subscriptions")).body;
    } finally {
      // The operator stops the SQLite node before copying.
      await node.stop();
    }
  });

  afterAll(async () => {
    await Promise.allSettled(databases.map((db) => db.drop()));
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("copies every table, and a node on PostgreSQL serves the same installation", async () => {
    const to = await newTarget();
    const report = await copyDatabase({ from, to });
    expect(report.ok).toBe(true);
    expect(report.seqMismatches).toEqual([]);
    expect(report.tables.map((t) => t.name)).toEqual(TABLES);
    for (const t of report.tables) {
      // Every table has rows in this installation, so an empty copy of one cannot pass as equal.
      expect(t.source, t.name).toBeGreaterThan(0);
      expect(t.target, t.name).toBe(t.source);
    }
    expect(await targetCounts(to)).toEqual(Object.fromEntries(report.tables.map((t) => [t.name, t.source])));

    const node = await startTestServer({ databaseUrl: to });
    tempDirs.push(node.dataDir);
    try {
      // The same password logs the same user in.
      const login = new Caller(node.baseUrl);
      const answer = await login.post<{ user: Self }>("/auth/login", { username: alice.user.username, password: PASSWORD });
      expect(answer.status).toBe(200);
      expect(answer.body.user.id).toBe(alice.user.id);
      // An existing session cookie and an API token still work.
      const aliceThere = onNode(alice, node);
      expect((await aliceThere.get<{ user: Self }>("/me")).body.user?.id).toBe(alice.user.id);
      const botThere = onNode(bot, node);
      const me = await botThere.get<{ user: Self }>("/me");
      expect(me.status).toBe(200);
      expect(me.body.user.id).toBe(bot.user.id);

      const bobThere = onNode(bob, node);
      const carolThere = onNode(carol, node);
      for (const [room, reader] of [[publicRoom, aliceThere], [privateRoom, aliceThere], [directRoom, bobThere]] as const) {
        expect(await fullHistory(reader, room)).toEqual(before.histories[room]);
      }
      expect((await bobThere.get("/rooms")).body).toEqual(before.roomsOfBob);
      expect((await carolThere.get("/rooms")).body).toEqual(before.roomsOfCarol);
      expect((await aliceThere.get(`/rooms/${publicRoom}/messages/${edited.id}/edits`)).body).toEqual(before.edits);
      expect((await bobThere.get(`/rooms/${publicRoom}/receipts`)).body).toEqual(before.receipts);
      expect((await aliceThere.get(`/rooms/${publicRoom}/messages/${root.id}/replies`)).body).toEqual(before.thread);
      // The same VAPID key pair: browsers subscribed before the move are still pushed to.
      const settings = (await bobThere.get<NotificationSettingsResponse>("/notifications/settings")).body;
      expect({ settings: settings.settings, push: settings.push }).toEqual(before.notifications);
      expect((await bobThere.get("/push/subscriptions")).body).toEqual(before.devices);

      // The seq goes on from where SQLite left it, in every kind of room.
      for (const [room, sender] of [[publicRoom, bobThere], [privateRoom, carolThere], [directRoom, aliceThere]] as const) {
        const next = await postMessage(sender, room, "the first message on PostgreSQL");
        expect(next.seq).toBe(before.lastSeq[room]! + 1);
      }
      // The bot's token still sends, and a socket on the new node gets the live event.
      const socket = await SocketClient.connect(node.wsUrl, bobThere);
      try {
        const sent = await postMessage(botThere, publicRoom, "the bot is back");
        expect(sent.seq).toBe(before.lastSeq[publicRoom]! + 2);
        await socket.waitFor((f) => f.type === "message.created" && f.message.id === sent.id);
      } finally {
        await socket.close();
      }
    } finally {
      await node.stop();
    }
  });

  it("resumes an interrupted copy where it stopped, without duplicating a row", async () => {
    const to = await newTarget();
    const stopAfterOneBatch = (p: CopyProgress) => {
      if (p.table === "messages" && p.copied > 0) throw new Error("interrupted by the test");
    };
    await expect(copyDatabase({ from, to, batchRows: 5, onProgress: stopAfterOneBatch })).rejects.toThrow("interrupted by the test");

    const partial = await targetCounts(to);
    const source = await checkCopy({ from, to });
    const sourceCount = (name: string) => source.tables.find((t) => t.name === name)!.source;
    expect(source.ok).toBe(false);
    // Tables before messages are whole, messages holds exactly its first batch, later tables nothing.
    for (const name of ["users", "sessions", "api_tokens", "rooms", "room_members"]) expect(partial[name], name).toBe(sourceCount(name));
    expect(partial.messages).toBe(5);
    expect(partial.room_events).toBe(0);

    const seen: CopyProgress[] = [];
    const report = await copyDatabase({ from, to, batchRows: 5, onProgress: (p) => seen.push(p) });
    expect(report.ok).toBe(true);
    // The second run started messages from the saved point, not from the start.
    expect(seen.find((p) => p.table === "messages")).toMatchObject({ copied: 5, done: false });
    // …and read each source row once in all: a restart from the first row would count past the table's size.
    expect(seen.filter((p) => p.table === "messages").at(-1)).toMatchObject({ copied: sourceCount("messages"), done: true });
    expect(seen.find((p) => p.table === "users")).toMatchObject({ done: true });
    const counts = await targetCounts(to);
    for (const t of report.tables) expect(counts[t.name], t.name).toBe(t.source);

    // Every message is there once, in the same rooms and seqs.
    const copied = await pgQuery<{ id: string; room_id: string; seq: number }>(to, "select id, room_id, seq from messages order by room_id, seq");
    expect(new Set(copied.map((m) => m.id)).size).toBe(copied.length);

    // A third run is a no-op that checks again.
    const again = await copyDatabase({ from, to, batchRows: 5 });
    expect(again.ok).toBe(true);
    expect(await targetCounts(to)).toEqual(counts);

    // The same interrupted at a batch edge inside the composite key of reactions, and with a batch of 1.
    const to2 = await newTarget();
    await expect(
      copyDatabase({ from, to: to2, batchRows: 1, onProgress: (p) => { if (p.table === "reactions" && p.copied === 2) throw new Error("stop"); } }),
    ).rejects.toThrow("stop");
    expect((await targetCounts(to2)).reactions).toBe(2);
    expect((await copyDatabase({ from, to: to2, batchRows: 1 })).ok).toBe(true);
    expect((await targetCounts(to2)).reactions).toBe(sourceCount("reactions"));
  });

  it("refuses a target that holds another installation, and leaves it untouched", async () => {
    const to = await newTarget();
    const other = await openStore(to, { sqliteSynchronous: "full" });
    try {
      await other.db
        .insertInto("users")
        .values({ id: "someone-else", username: "else", username_key: "else", email: "else@example.test", email_key: "else@example.test", display_name: "Else", password_hash: "x", created_at: new Date().toISOString() })
        .execute();
    } finally {
      await other.close();
    }
    await expect(copyDatabase({ from, to })).rejects.toThrow(/already holds data that this copy did not write \(users not empty\)/);
    const counts = await targetCounts(to);
    expect(counts.users).toBe(1);
    expect(counts.rooms).toBe(0);

    // A copy of this installation, then another SQLite installation aimed at it.
    const copied = await newTarget();
    expect((await copyDatabase({ from, to: copied })).ok).toBe(true);
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-copy-other-"));
    tempDirs.push(otherDir);
    const otherFrom = `sqlite:${path.join(otherDir, "parley.db")}`;
    const otherSource = await openStore(otherFrom, { sqliteSynchronous: "full" });
    try {
      await otherSource.db
        .insertInto("users")
        .values({ id: "0000-other", username: "o", username_key: "o", email: "o@example.test", email_key: "o@example.test", display_name: "O", password_hash: "x", created_at: new Date().toISOString() })
        .execute();
    } finally {
      await otherSource.close();
    }
    await expect(copyDatabase({ from: otherFrom, to: copied })).rejects.toThrow(/holds a copy of another installation/);
    expect((await pgQuery<{ n: string }>(copied, "select count(*) as n from users where id = '0000-other'"))[0]!.n).toBe("0");

    // And a source file that does not exist is not created empty.
    const missing = path.join(otherDir, "nothing-here.db");
    await expect(copyDatabase({ from: `sqlite:${missing}`, to: await newTarget() })).rejects.toThrow(/does not exist/);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it("reports a row count that differs and a room whose last_seq does not match its events", async () => {
    const to = await newTarget();
    expect((await copyDatabase({ from, to })).ok).toBe(true);
    expect((await checkCopy({ from, to })).ok).toBe(true);

    await pgQuery(to, "insert into message_mentions (user_id, room_id, seq, message_id) values ($1, $2, 999, 'extra')", [carol.user.id, publicRoom]);
    const counted = await checkCopy({ from, to });
    expect(counted.ok).toBe(false);
    const mentions = counted.tables.find((t) => t.name === "message_mentions")!;
    expect(mentions.target).toBe(mentions.source + 1);
    expect(counted.tables.filter((t) => t.source !== t.target).map((t) => t.name)).toEqual(["message_mentions"]);
    expect(counted.seqMismatches).toEqual([]);
    // copyDatabase, run again, throws with the same report.
    const failure = await copyDatabase({ from, to }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(CopyCheckError);
    expect((failure as CopyCheckError).report.tables).toEqual(counted.tables);
    expect((failure as CopyCheckError).message).toMatch(/message_mentions \(source \d+, target \d+\)/);

    await pgQuery(to, "delete from message_mentions where message_id = 'extra'");
    await pgQuery(to, "update rooms set last_seq = last_seq + 1 where id = $1", [privateRoom]);
    const seqs = await checkCopy({ from, to });
    expect(seqs.ok).toBe(false);
    expect(seqs.tables.every((t) => t.source === t.target)).toBe(true);
    expect(seqs.seqMismatches).toEqual([{ roomId: privateRoom, lastSeq: before.lastSeq[privateRoom]! + 1, maxSeq: before.lastSeq[privateRoom]!, events: before.lastSeq[privateRoom]! }]);
  });

  it("runs as a command: a line per table per tenth off a terminal, the count table, exit 0; exit 1 with the reason", async () => {
    const to = await newTarget();
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "src/server/copy-database.ts"), ...args], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
    const ok = cli(["--from", from, "--to", to, "--batch-rows", "5"]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/^messages: \d+\/\d+ rows, done$/m);
    expect(ok.stderr.split("\n").filter((l) => l.startsWith("room_events:")).length).toBeLessThanOrEqual(12);
    for (const table of TABLES) expect(ok.stdout).toMatch(new RegExp(`^${table}\\s+(\\d+)\\s+\\1$`, "m"));
    expect(ok.stdout).toContain("Copy complete");

    await pgQuery(to, "delete from sessions where token_hash = (select min(token_hash) from sessions)");
    const mismatch = cli(["--from", from, "--to", to]);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stdout).toMatch(/^sessions\s+\d+\s+\d+\s+DIFFERS$/m);
    expect(mismatch.stderr).toMatch(/does not match the source: row counts differ: sessions/);

    const missingTo = cli(["--from", from]);
    expect(missingTo.status).toBe(1);
    expect(missingTo.stderr).toContain("--to is required");
  });
});
