import { describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
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
      const deadline = Date.now() + 5_000;
      while (fs.statSync(file).size < 2_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(fs.statSync(file).size).toBeGreaterThan(2_000_000);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
