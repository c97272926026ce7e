import { describe, expect, it } from "vitest";
import { parseSearchQuery } from "@shared/protocol/search.js";
import { compileTerms } from "./query.js";
import { matchRanges, snippetOf, SNIPPET_CHARS } from "./snippets.js";

const marked = (text: string, q: string) => {
  const { highlight } = compileTerms(parseSearchQuery(q).terms);
  return snippetOf(text, matchRanges(text, highlight))
    .map((p) => (p.match ? `[${p.text}]` : p.text))
    .join("");
};

describe("search snippets", () => {
  it("marks whole words by stem, parts of words, prefixes and accented forms", () => {
    expect(marked("We deployed it; redeployment next", "deploying")).toBe("We [deployed] it; redeployment next");
    expect(marked("We deployed it; redeployment next", "deploy")).toBe("We [deployed] it; re[deploy]ment next");
    expect(marked("Café résumé", "cafe RESUME")).toBe("[Café] [résumé]");
    expect(marked("deployment deadline", "dep*")).toBe("[deployment] deadline");
    expect(marked("東京都に行きます", "京都")).toBe("東[京都]に行きます");
  });

  it("keeps markup as text and marks nothing for an excluded word", () => {
    expect(marked("<b>bold</b> move", "bold -move")).toBe("<b>[bold]</b> move");
  });

  it("never cuts a character in two", () => {
    const text = `${"😀".repeat(150)} needle ${"😀".repeat(150)}`;
    const parts = snippetOf(text, matchRanges(text, compileTerms(parseSearchQuery("needle").terms).highlight));
    for (const part of parts) expect(part.text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(parts.find((p) => p.match)?.text).toBe("needle");
  });

  it("cuts a long text around the first match at word boundaries", () => {
    const text = `${"lorem ipsum ".repeat(30)}needle ${"dolor sit ".repeat(30)}`;
    const parts = snippetOf(text, matchRanges(text, compileTerms(parseSearchQuery("needle").terms).highlight));
    const joined = parts.map((p) => p.text).join("");
    expect(joined.startsWith("…")).toBe(true);
    expect(joined.endsWith("…")).toBe(true);
    expect(joined.length).toBeLessThanOrEqual(SNIPPET_CHARS + 2);
    expect(parts.filter((p) => p.match).map((p) => p.text)).toEqual(["needle"]);
    expect(text).toContain(` ${joined.slice(1, 30)}`); // starts at a word
  });
});
