import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DiskStorage } from "@server/files/disk.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { openStore, type Store } from "@server/store/store.js";
import { loadConfig } from "@server/config.js";
import { createServices, type Services } from "@server/services.js";
import { noMetrics } from "@server/metrics/registry.js";
import { MemoryBus } from "@server/bus/memory.js";
import { nowIso } from "@server/store/ids.js";
import type { Actor } from "@server/deps.js";

/**
 * Readers never hand out a seq whose batch still waits for its fsync
 * (RoomWriter.readableSeq): history, the seqs a new socket subscribes at,
 * and the head a resume is clamped to.
 */
describe("reads stop at the durable head", () => {
  let store: Store;
  let services: Services;
  let filesDir = "";
  let release: (() => void) | null = null;
  let holdFsync = false;
  const ann: Actor = { userId: "ann", via: "token", credentialHash: "a", csrfToken: null, expiresAt: null };
  const bob: Actor = { userId: "bob", via: "token", credentialHash: "b", csrfToken: null, expiresAt: null };

  beforeEach(async () => {
    store = await openStore("sqlite::memory:", { sqliteSynchronous: "full" });
    // The fsync after a group commit, held by the test when asked.
    store.dialect = { ...store.dialect, durable: () => (holdFsync ? new Promise<void>((r) => (release = r)) : Promise.resolve()) };
    const at = nowIso();
    for (const id of ["ann", "bob"]) {
      await store.db.insertInto("users").values({ id, username: id, username_key: id, email: `${id}@x`, email_key: `${id}@x`, display_name: id, password_hash: "x", created_at: at }).execute();
    }
    await store.db.insertInto("rooms").values({ id: "r", kind: "public", name: "r", topic: "", direct_key: null, created_by: "ann", created_at: at, last_seq: 0, last_activity_at: at, last_message_id: null }).execute();
    for (const id of ["ann", "bob"]) await store.db.insertInto("room_members").values({ room_id: "r", user_id: id, role: "member", joined_at: at, last_read_seq: 0 }).execute();
    const config = loadConfig({ values: { logLevel: "silent", commitWindowMs: 0 } });
    services = createServices({ config, store, bus: new MemoryBus(), log: pino({ level: "silent" }), metrics: noMetrics, cluster: null, files: await DiskStorage.open((filesDir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-unit-files-")))) });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(filesDir, { recursive: true, force: true });
  });

  it("hides a committed message until its batch is durable, then shows it", async () => {
    await services.messages.send(ann, "r", "first", "c1");
    holdFsync = true;
    const second = services.messages.send(ann, "r", "second", "c2");
    while (!release) await new Promise((r) => setImmediate(r));
    // Committed: the room's row says seq 2. Not durable: nobody may see it yet.
    expect((await store.db.selectFrom("rooms").select("last_seq").where("id", "=", "r").executeTakeFirstOrThrow()).last_seq).toBe(2);
    expect((await services.messages.history(bob, "r", {})).messages.map((m) => m.body)).toEqual(["first"]);
    expect(await services.rooms.subscriptions("bob")).toEqual([{ roomId: "r", lastSeq: 1 }]);
    expect(await services.rooms.headForMember(bob, "r")).toBe(1);

    release!();
    expect((await second).seq).toBe(2);
    expect((await services.messages.history(bob, "r", {})).messages.map((m) => m.body)).toEqual(["first", "second"]);
    expect(await services.rooms.subscriptions("bob")).toEqual([{ roomId: "r", lastSeq: 2 }]);
    expect(await services.rooms.headForMember(bob, "r")).toBe(2);
  });
});
