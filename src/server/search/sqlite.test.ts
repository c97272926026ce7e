import { describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { parseSearchQuery } from "@shared/protocol/search.js";
import { sqliteSearch } from "./sqlite.js";
import { compileTerms } from "./query.js";
import { indexTerms } from "./tokens.js";
import type { SearchPlan } from "./dialect.js";

/** The SQLite index's statements against a real FTS5 table in memory. */
describe("search on SQLite", () => {
  it("answers the same whether the rooms are named in the MATCH (few of all) or filtered after", async () => {
    const raw = new Database(":memory:");
    await sqliteSearch.createTables(new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) }));
    const run = (q: { sql: string; parameters: readonly unknown[] }) => {
      const statement = raw.prepare(q.sql);
      return statement.reader ? statement.all(...(q.parameters as unknown[])) : (statement.run(...(q.parameters as unknown[])), []);
    };
    const rooms = ["0190aaaa-0000-7000-8000-000000000001", "0190aaaa-0000-7000-8000-000000000002", "0190aaaa-0000-7000-8000-000000000003"];
    const bodies = ["deploy the api", "deploy the web", "nothing here", "deployed again", "deploy once more"];
    bodies.forEach((body, i) => {
      const doc = { messageId: `m${i}`, roomId: rooms[i % 3]!, authorId: "u", createdAt: "2026-12-07T00:00:00.000Z", hasFiles: false, terms: indexTerms([body]) };
      for (const q of sqliteSearch.insert(doc)) run(q);
    });
    const { match } = compileTerms(parseSearchQuery("deploy").terms);
    for (const sort of ["date", "relevance"] as const) {
      const plan: SearchPlan = { match, roomIds: rooms.slice(0, 2), fewOfAll: false, authorIds: null, after: null, before: null, hasFiles: false, mentionsOf: null, sort, window: 100, cursor: null, limit: 10 };
      const filtered = run(sqliteSearch.page(plan)).map((r) => (r as { message_id: string }).message_id);
      const named = sqliteSearch.page({ ...plan, fewOfAll: true });
      expect(named.sql).toContain("SELECT");
      expect(String(named.parameters[0])).toContain("{room}");
      expect(run(named).map((r) => (r as { message_id: string }).message_id).sort()).toEqual([...filtered].sort());
      expect([...filtered].sort()).toEqual(["m0", "m1", "m3", "m4"]);
    }
  });
});
