import { describe, expect, it } from "vitest";
import { MAX_SEARCH_TERMS, isEmptySearch, parseSearchQuery, type ParsedSearchQuery } from "@shared/protocol/search.js";

/**
 * parseSearchQuery (shared/protocol/search.ts): the query syntax of issue 18
 * cut into terms and filters, the same for the server, the client and the
 * tests. It never throws; what it cannot read becomes a problem.
 */
const none: ParsedSearchQuery = { terms: [], from: [], in: [], before: null, after: null, hasFile: false, mentionsMe: false, problems: [] };
const parsed = (over: Partial<ParsedSearchQuery>): ParsedSearchQuery => ({ ...none, ...over });
const word = (text: string, negated = false) => ({ kind: "word" as const, text, negated });
const prefix = (text: string, negated = false) => ({ kind: "prefix" as const, text, negated });
const phrase = (text: string, negated = false) => ({ kind: "phrase" as const, text, negated });

describe("parseSearchQuery", () => {
  it("words are space-separated terms, as typed (folding and stemming are the server's)", () => {
    expect(parseSearchQuery("Deploying  the\tCafé")).toEqual(parsed({ terms: [word("Deploying"), word("the"), word("Café")] }));
    expect(parseSearchQuery("東京都に行きます")).toEqual(parsed({ terms: [word("東京都に行きます")] }));
    expect(parseSearchQuery("")).toEqual(none);
    expect(parseSearchQuery("   ")).toEqual(none);
  });

  it("a quoted phrase keeps its words and their order; an unclosed quote runs to the end; empty quotes are nothing", () => {
    expect(parseSearchQuery('"release notes" ready')).toEqual(parsed({ terms: [phrase("release notes"), word("ready")] }));
    expect(parseSearchQuery('"notes release"')).toEqual(parsed({ terms: [phrase("notes release")] }));
    expect(parseSearchQuery('before "unclosed quote here')).toEqual(parsed({ terms: [word("before"), phrase("unclosed quote here")] }));
    expect(parseSearchQuery('"  padded  "')).toEqual(parsed({ terms: [phrase("padded")] }));
    expect(parseSearchQuery('""')).toEqual(none);
    expect(parseSearchQuery('" "')).toEqual(none);
  });

  it("word* is a prefix (stars trimmed); a lone * is a word", () => {
    expect(parseSearchQuery("deplo*")).toEqual(parsed({ terms: [prefix("deplo")] }));
    expect(parseSearchQuery("deplo**")).toEqual(parsed({ terms: [prefix("deplo")] }));
    expect(parseSearchQuery("*")).toEqual(parsed({ terms: [word("*")] }));
  });

  it("-term excludes a word, a prefix or a phrase; a lone - is a word", () => {
    expect(parseSearchQuery('deploy -staging -prod* -"dry run"')).toEqual(
      parsed({ terms: [word("deploy"), word("staging", true), prefix("prod", true), phrase("dry run", true)] }),
    );
    expect(parseSearchQuery("-")).toEqual(parsed({ terms: [word("-")] }));
  });

  it("filters: from (lower case, without @, several), in (without #, as typed), before/after days, has:file, is:mention", () => {
    expect(parseSearchQuery("from:@Alice from:bob in:#Ops-Room in:general before:2026-12-01 after:2026-11-01 has:file is:mention deploy")).toEqual(
      parsed({
        terms: [word("deploy")],
        from: ["alice", "bob"],
        in: ["Ops-Room", "general"],
        before: "2026-12-01",
        after: "2026-11-01",
        hasFile: true,
        mentionsMe: true,
      }),
    );
    // Filter names in any case; has: and is: take their synonyms.
    expect(parseSearchQuery("FROM:@Al HAS:Files IS:Mentioned")).toEqual(parsed({ from: ["al"], hasFile: true, mentionsMe: true }));
    expect(parseSearchQuery("has:attachment")).toEqual(parsed({ hasFile: true }));
  });

  it("a filter without its value, a bad day, has: or is: of something else are problems", () => {
    expect(parseSearchQuery("from: deploy").problems).toHaveLength(1);
    expect(parseSearchQuery("deploy in:").problems).toHaveLength(1);
    for (const q of ["before:2026-13-01", "after:2026-02-30", "before:yesterday", "after:2026-1-1", "has:link", "is:starred"]) {
      const result = parseSearchQuery(q);
      expect(result.problems, q).toHaveLength(1);
      expect(result.before, q).toBeNull();
      expect(result.after, q).toBeNull();
      expect(result.hasFile, q).toBe(false);
      expect(result.mentionsMe, q).toBe(false);
    }
    // A leap day is a day.
    expect(parseSearchQuery("after:2024-02-29")).toEqual(parsed({ after: "2024-02-29" }));
  });

  it("an unknown name:value, SQL and FTS syntax are text, never filters or problems", () => {
    expect(parseSearchQuery("col:val")).toEqual(parsed({ terms: [word("col:val")] }));
    expect(parseSearchQuery("{words}: x")).toEqual(parsed({ terms: [word("{words}:"), word("x")] }));
    expect(parseSearchQuery("NEAR(a b)")).toEqual(parsed({ terms: [word("NEAR(a"), word("b)")] }));
    expect(parseSearchQuery("a AND b")).toEqual(parsed({ terms: [word("a"), word("AND"), word("b")] }));
    expect(parseSearchQuery("' OR 1=1 --")).toEqual(parsed({ terms: [word("'"), word("OR"), word("1=1"), word("-", true)] }));
    expect(parseSearchQuery("%_\\ )(")).toEqual(parsed({ terms: [word("%_\\"), word(")(")] }));
    // A negated filter is not a filter: it is excluded text.
    expect(parseSearchQuery("-from:bob")).toEqual(parsed({ terms: [word("from:bob", true)] }));
  });

  it("more than the most terms is a problem; filters do not count as terms", () => {
    const many = Array.from({ length: MAX_SEARCH_TERMS + 1 }, (_, i) => `w${i}`).join(" ");
    expect(parseSearchQuery(many).problems).toHaveLength(1);
    const enough = Array.from({ length: MAX_SEARCH_TERMS }, (_, i) => `w${i}`).join(" ");
    expect(parseSearchQuery(`${enough} from:@a in:#b has:file is:mention`).problems).toEqual([]);
  });

  it("isEmptySearch: true only with no term and no filter", () => {
    expect(isEmptySearch(parseSearchQuery(""))).toBe(true);
    expect(isEmptySearch(parseSearchQuery('""'))).toBe(true);
    expect(isEmptySearch(parseSearchQuery("from:"))).toBe(true);
    for (const q of ["x", "from:@a", "in:#r", "before:2026-01-01", "after:2026-01-01", "has:file", "is:mention", "-x"]) {
      expect(isEmptySearch(parseSearchQuery(q)), q).toBe(false);
    }
  });
});
