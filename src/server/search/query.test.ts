import { describe, expect, it } from "vitest";
import { parseSearchQuery } from "@shared/protocol/search.js";
import { compileTerms, correctableWords, EXPANSIONS_MAX, vocabularyLookups, type Expansions } from "./query.js";
import { ftsMatch } from "./sqlite.js";
import { tsquery } from "./postgres.js";
import { closestFirst } from "./service.js";

const vocabulary = ["deploy", "deploying", "deployment", "redeploy", "employ", "deadline"];
/** The lookups a service would make, answered from `vocabulary`. */
function expand(q: string): Expansions {
  const lookups = vocabularyLookups(parseSearchQuery(q).terms);
  return { containing: new Map(lookups.map((part) => [part, vocabulary.filter((w) => w.includes(part))])) };
}
const compile = (q: string) => compileTerms(parseSearchQuery(q).terms, expand(q));

describe("search query compilation", () => {
  it("matches a word by its stem or, at three characters or more, as any vocabulary word containing it", () => {
    const { match } = compile("Ploy");
    expect(ftsMatch(match!)).toBe('({stems} : "ploy" OR ({words} : "deploy" OR {words} : "deploying" OR {words} : "deployment" OR {words} : "redeploy" OR {words} : "employ"))');
    expect(tsquery(match!)).toBe("('ploy':B | ('w:deploy':A | 'w:deploying':A | 'w:deployment':A | 'w:redeploy':A | 'w:employ':A))");
    expect(vocabularyLookups(parseSearchQuery('ploy de* "x y" go -abc').terms)).toEqual(["ploy", "abc"]);
  });

  it("matches a short word whole, a prefix by the index's prefix search, a phrase as stems in order", () => {
    expect(ftsMatch(compile("go").match!)).toBe('({stems} : "go" OR {words} : "go")');
    expect(ftsMatch(compile("deplo*").match!)).toBe('{words} : "deplo" *');
    expect(tsquery(compile("deplo*").match!)).toBe("'w:deplo':*A");
    expect(ftsMatch(compile('"Release notes"').match!)).toBe('{stems} : "releas note"');
  });

  it("adds the index's prefix search when more words contain a part than were looked up", () => {
    const many = Array.from({ length: EXPANSIONS_MAX }, (_, i) => `xploy${i}`);
    const { match } = compileTerms(parseSearchQuery("ploy").terms, { containing: new Map([["ploy", many]]) });
    expect(ftsMatch(match!)).toMatch(/ OR \{words\} : "ploy" \*\)$/);
    const few = compileTerms(parseSearchQuery("ploy").terms, { containing: new Map([["ploy", many.slice(1)]]) });
    expect(ftsMatch(few.match!)).not.toContain("*");
  });

  it("matches unspaced text by its character pairs, one character alone in grams", () => {
    expect(ftsMatch(compile("東京都").match!)).toBe('{words} : "東京 京都"');
    expect(ftsMatch(compile("猫").match!)).toBe('{grams} : "猫"');
  });

  it("leaves excluded terms out with NOT, and never lets typed syntax through", () => {
    expect(ftsMatch(compile("deploy -failed").match!)).toMatch(/^\(\(.*\) NOT \{stems\} : "fail"\)$/);
    expect(tsquery(compile("deploy -failed").match!)).toMatch(/ & !'fail':B\)$/);
    for (const hostile of ['" OR 1=1 --', "NEAR(a b)", "{words}: x", "a*b*", "'\\"]) {
      const { match } = compile(hostile);
      if (match) {
        // Every token is quoted: nothing outside quotes but the syntax this module writes.
        const outside = ftsMatch(match).replace(/"[^"]*"/g, "");
        expect(outside.replace(/\{(words|stems|grams)\}|OR|AND|NOT/g, "")).toMatch(/^[\s():*]*$/);
      }
    }
  });

  it("finds nothing to search for in punctuation, and says so", () => {
    expect(compile("% *").match).toBeNull();
    expect(compile("% *").emptyTerms).toBe(2);
  });

  it("offers only plain words of four letters or more for correction, and picks the closest", () => {
    expect(correctableWords(parseSearchQuery('deploymnet "a phrase" -nope x* abc 東京').terms)).toEqual(["deploymnet"]);
    expect(closestFirst("deploymnet", ["employment", "deploymentx", "deployment", "deploy"])).toEqual(["deployment"]);
    expect(closestFirst("cat", ["cart", "cut", "cat"])).toEqual(["cart", "cut"]);
    expect(closestFirst("deploymnet", ["banana"])).toEqual([]);
  });
});
