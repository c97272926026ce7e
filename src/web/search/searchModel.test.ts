import { describe, expect, it } from "vitest";
import { parseSearchQuery, type SearchHit } from "@shared/protocol/search.js";
import {
  addFilter,
  appendPage,
  correctedWords,
  filterChips,
  groupHits,
  hitTime,
  hitsInShownOrder,
  jumpTargetOf,
  removeFilter,
  snippetRuns,
  snippetText,
  totalLabel,
  wordsOf,
} from "./searchModel";

function hit(id: string, room: { id: string; name: string; kind?: "public" | "private" | "direct" }): SearchHit {
  return {
    message: {
      id,
      roomId: room.id,
      seq: 1,
      author: { id: "u1", username: "ada", displayName: "Ada" },
      body: `text ${id}`,
      clientId: null,
      createdAt: "2026-12-01T10:00:00.000Z",
    },
    room: { id: room.id, name: room.name, kind: room.kind ?? "public" },
    snippet: [{ text: `text ${id}` }],
  } as SearchHit;
}

const general = { id: "r1", name: "general" };
const random = { id: "r2", name: "random" };
const bob = { id: "r3", name: "Bob", kind: "direct" as const };

describe("groupHits", () => {
  it("groups by room in the order of each room's first hit, hits in the server's order", () => {
    const hits = [hit("a", random), hit("b", general), hit("c", random), hit("d", bob), hit("e", general)];
    const groups = groupHits(hits);
    expect(groups.map((g) => g.title)).toEqual(["#random", "#general", "Bob"]);
    expect(groups.map((g) => g.hits.map((h) => h.message.id))).toEqual([["a", "c"], ["b", "e"], ["d"]]);
    // ↑/↓ walk the hits as shown, group by group.
    expect(hitsInShownOrder(groups).map((h) => h.message.id)).toEqual(["a", "c", "b", "e", "d"]);
  });

  it("keeps the groups already shown in place when a next page is appended", () => {
    const first = [hit("a", random), hit("b", general)];
    const all = appendPage(first, [hit("c", general), hit("d", bob), hit("a", random)]);
    expect(all.map((h) => h.message.id)).toEqual(["a", "b", "c", "d"]); // "a" again is left out
    expect(groupHits(all).map((g) => g.roomId)).toEqual(["r2", "r1", "r3"]);
  });

  it("is empty for no hits", () => {
    expect(groupHits([])).toEqual([]);
  });
});

describe("snippetRuns", () => {
  it("keeps text as text and marks the matches, joining neighbours of the same kind", () => {
    const runs = snippetRuns([
      { text: "…we " },
      { text: "deploy", match: true },
      { text: "" },
      { text: " on " },
      { text: "friday", match: false },
      { text: "<b>x</b>" },
      { text: "Deploys", match: true },
    ]);
    expect(runs).toEqual([
      { text: "…we ", match: false },
      { text: "deploy", match: true },
      { text: " on friday<b>x</b>", match: false },
      { text: "Deploys", match: true },
    ]);
  });

  it("joins the parts into plain text", () => {
    expect(snippetText([{ text: "a " }, { text: "b", match: true }])).toBe("a b");
  });
});

describe("filter chips", () => {
  it("makes one chip per filter in effect, as the shared parser reads the query", () => {
    const chips = filterChips(parseSearchQuery('deploy from:@Alice in:#ops after:2026-11-01 before:2026-12-01 has:file is:mention FROM:alice "from:x"'));
    expect(chips.map((c) => c.label)).toEqual([
      "from:@alice",
      "in:#ops",
      "after:2026-11-01",
      "before:2026-12-01",
      "has:file",
      "is:mention",
    ]);
  });

  it("makes none for a query of words, or a filter the parser refuses", () => {
    expect(filterChips(parseSearchQuery("deploy notes"))).toEqual([]);
    expect(filterChips(parseSearchQuery("before:yesterday has:cats"))).toEqual([]);
  });

  it("removes every spelling of a chip's filter and leaves the rest as typed", () => {
    const query = 'deploy FROM:Alice "release notes" from:@alice in:#ops -draft';
    const from = filterChips(parseSearchQuery(query)).find((c) => c.kind === "from")!;
    expect(removeFilter(query, from)).toBe('deploy "release notes" in:#ops -draft');
    const inOps = filterChips(parseSearchQuery(query)).find((c) => c.kind === "in")!;
    expect(removeFilter(query, inOps)).toBe('deploy FROM:Alice "release notes" from:@alice -draft');
  });

  it("does not remove a filter's words inside a phrase, or another value of the same filter", () => {
    const query = '"from:@alice" from:@alice from:@bob';
    const alice = filterChips(parseSearchQuery(query)).find((c) => c.value === "alice")!;
    expect(removeFilter(query, alice)).toBe('"from:@alice" from:@bob');
  });

  it("removes has:file in its other spellings, and dates", () => {
    const query = "x has:files after:2026-01-02 has:attachment";
    const chips = filterChips(parseSearchQuery(query));
    expect(removeFilter(query, chips.find((c) => c.kind === "has")!)).toBe("x after:2026-01-02");
    expect(removeFilter(query, chips.find((c) => c.kind === "after")!)).toBe("x has:files has:attachment");
  });

  it("adds a filter at the end once", () => {
    expect(addFilter("", "has:file")).toBe("has:file ");
    expect(addFilter("deploy  ", "is:mention")).toBe("deploy is:mention ");
    expect(addFilter("deploy has:files", "has:file")).toBe("deploy has:files");
  });
});

describe("wording", () => {
  it("says how many results, capped or not", () => {
    expect(totalLabel(0, { total: 0, totalCapped: false })).toBe("No results");
    expect(totalLabel(1, { total: 1, totalCapped: false })).toBe("1 result");
    expect(totalLabel(3, { total: 3, totalCapped: false })).toBe("3 results");
    expect(totalLabel(20, { total: 134, totalCapped: false })).toBe("20 of 134 results");
    expect(totalLabel(20, { total: 1000, totalCapped: true })).toBe("20 of 1,000+ results");
    expect(totalLabel(1000, { total: 1000, totalCapped: true })).toBe("1,000 of 1,000+ results");
  });

  it("names the corrected words and the query's words without its filters", () => {
    expect(correctedWords([{ from: "deplyment", to: "deployment" }, { from: "notse", to: "notes" }])).toBe("deployment, notes");
    expect(wordsOf('deploy from:@ada "release notes" -draft pre*')).toBe('deploy "release notes" -draft pre*');
  });
});

describe("opening a hit", () => {
  it("goes to the message, or to the root of a reply kept in its thread", () => {
    const plain = hit("m1", general);
    expect(jumpTargetOf(plain)).toEqual({ roomId: "r1", messageId: "m1", seq: 1 });
    const replyTo = { id: "root", seq: 7, author: { id: "u", username: "u", displayName: "U" }, preview: "", deleted: false };
    const inThread = { ...plain, message: { ...plain.message, seq: 9, inThread: true, replyTo } } as SearchHit;
    expect(jumpTargetOf(inThread)).toEqual({ roomId: "r1", messageId: "m1", seq: 9, thread: { rootId: "root", rootSeq: 7 } });
    // Also sent to the room: it is in the timeline itself.
    const alsoInRoom = { ...inThread, message: { ...inThread.message, alsoInRoom: true } } as SearchHit;
    expect(jumpTargetOf(alsoInRoom).thread).toBeUndefined();
  });

  it("says the time today, the day and time before", () => {
    const now = new Date(2026, 11, 7, 12, 0);
    expect(hitTime(new Date(2026, 11, 7, 9, 5).toISOString(), now)).not.toContain(",");
    expect(hitTime(new Date(2026, 11, 1, 9, 5).toISOString(), now)).toMatch(/Dec.*1.*,/);
    expect(hitTime(new Date(2025, 11, 1, 9, 5).toISOString(), now)).toContain("2025");
  });
});
