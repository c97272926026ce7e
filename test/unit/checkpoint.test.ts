import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { openSqlite } from "@server/store/sqlite.js";

describe("SQLite WAL checkpointer", () => {
  it("copies committed pages into the database file from its worker, not at commit", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-ckpt-"));
    const file = path.join(dir, "t.db");
    const store = openSqlite(file, { synchronous: "normal" });
    try {
      expect(store.raw.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      store.raw.exec("create table t (body text)");
      const insert = store.raw.prepare("insert into t (body) values (?)");
      store.raw.transaction(() => {
        for (let i = 0; i < 3000; i++) insert.run("x".repeat(1000));
      })();
      // Committed, but still in the WAL: the commit did no checkpoint.
      expect(fs.statSync(file).size).toBeLessThan(100_000);
      // Waits for the worker however slow the machine; the test's timeout is only a safety net.
      while (fs.statSync(file).size < 2_000_000) await new Promise((r) => setTimeout(r, 50));
      expect(fs.statSync(file).size).toBeGreaterThan(2_000_000);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("restarts the WAL under writes that never pause, so it stays about the restart size", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-restart-"));
    const file = path.join(dir, "t.db");
    const store = openSqlite(file, { synchronous: "normal", checkpointIntervalMs: 100, walRestartBytes: 256 * 1024 });
    try {
      store.raw.exec("create table t (body text)");
      const insert = store.raw.prepare("insert into t (body) values (?)");
      const row = "x".repeat(1000);
      let written = 0;
      let held = 0;
      // Counted, not timed: a slow machine writes less per checkpoint interval but needs as many
      // restarts, so the loop runs until enough restarts and bytes, however long that takes.
      // As the group-commit writer does: ask the store before every batch, and wait when told to.
      while (held < 12 || written < 10_000_000) {
        const wait = store.dialect.beforeCommit();
        if (wait) {
          held++;
          await wait;
        }
        store.raw.transaction(() => {
          for (let i = 0; i < 20; i++) insert.run(row);
        })();
        written += 20 * row.length;
        await new Promise((r) => setImmediate(r));
      }
      // Without restarts the WAL would hold everything written (plus frame headers); with them,
      // it is as long as the most written between two restarts, about written / held.
      expect(fs.statSync(`${file}-wal`).size).toBeLessThan(written / 3);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("never holds the writer while the WAL is below the restart size", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-norestart-"));
    const file = path.join(dir, "t.db");
    const store = openSqlite(file, { synchronous: "normal", checkpointIntervalMs: 20, walRestartBytes: 64 * 1024 * 1024 });
    try {
      store.raw.exec("create table t (body text)");
      const insert = store.raw.prepare("insert into t (body) values (?)");
      const row = "x".repeat(1000);
      // Many checkpoint intervals' worth of batches, 4 MB in all: far below the restart size.
      const intervals = { start: performance.now() };
      let held = 0;
      let batches = 0;
      while (batches < 200 || performance.now() - intervals.start < 10 * 20) {
        if (store.dialect.beforeCommit()) held++;
        store.raw.transaction(() => {
          for (let i = 0; i < 20; i++) insert.run(row);
        })();
        batches++;
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(held).toBe(0);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("lets a process with nothing else to do finish closing the store", () => {
    // The checkpointer worker is unref'd; close() must still wait for it rather than let the process exit mid-close.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-close-"));
    const script = `
      import { openStore } from "./src/server/store/store.ts";
      const s = await openStore("sqlite:${path.join(dir, "x.db")}", { sqliteSynchronous: "full" });
      await s.close();
      console.log("closed");
    `;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      encoding: "utf8",
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.stdout.trim()).toBe("closed");
    expect(run.status).toBe(0);
  }, 30_000);

  it("keeps a process alive while a writer waits for the tail of a checkpoint", () => {
    // The worker is unref'd when idle; a writer awaiting it in a process with no sockets or timers must not be dropped.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parley-tail-"));
    const script = `
      import { openSqlite } from "./src/server/store/sqlite.ts";
      const s = openSqlite("${path.join(dir, "x.db")}", { synchronous: "normal", checkpointIntervalMs: 20 });
      s.raw.exec("create table t (body text)");
      let held = 0;
      const until = Date.now() + 300;
      while (Date.now() < until || held < 2) {
        const wait = s.dialect.beforeCommit();
        if (wait) { held++; await wait; }
        s.raw.prepare("insert into t (body) values (?)").run("x".repeat(500));
        await new Promise((r) => setImmediate(r));
      }
      await s.close();
      console.log("held " + (held >= 2));
    `;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      encoding: "utf8",
      timeout: 20_000,
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.stdout.trim()).toBe("held true");
    expect(run.status).toBe(0);
  }, 30_000);
});
