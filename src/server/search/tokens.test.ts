import { describe, expect, it } from "vitest";
import { fold, indexTerms, pairsOf, stemOf, tokenize, trigramsOf } from "./tokens.js";

describe("search tokens", () => {
  it("folds case and accents, keeps offsets into the original", () => {
    expect(fold("Café ÉTÉ naïve")).toBe("cafe ete naive");
    const tokens = tokenize("Hé, Déploiement!");
    expect(tokens.map((t) => t.text)).toEqual(["he", "deploiement"]);
    expect(tokens.map((t) => "Hé, Déploiement!".slice(t.start, t.end))).toEqual(["Hé", "Déploiement"]);
  });

  it("cuts unspaced scripts into pairs and splits where the script changes", () => {
    const tokens = tokenize("東京tower に行く");
    expect(tokens.map((t) => [t.text, t.unspaced])).toEqual([
      ["東京", true],
      ["tower", false],
      ["に行く", true],
    ]);
    expect(pairsOf("東京都")).toEqual(["東京", "京都"]);
    expect(pairsOf("猫")).toEqual(["猫"]);
  });

  it("keeps Japanese long-vowel marks inside their run, and does not cut unspaced runs", () => {
    expect(tokenize("新しいサーバーを買いました").map((t) => t.text)).toEqual(["新しいサーバーを買いました"]);
    const long = "東".repeat(300);
    expect(tokenize(long)[0]!.text).toHaveLength(300);
    expect(tokenize("x".repeat(300))[0]!.text).toHaveLength(64);
  });

  it("cuts a folded token again where folding made punctuation (½ → 1⁄2)", () => {
    expect(tokenize("add ½ cup").map((t) => t.text)).toEqual(["add", "1", "2", "cup"]);
  });

  it("keeps Thai marks inside their word", () => {
    expect(tokenize("สวัสดีครับ").map((t) => t.text).join("")).toBe(fold("สวัสดีครับ"));
    expect(tokenize("สวัสดีครับ")).toHaveLength(1);
  });

  it("stems English words only, and makes trigrams of words of three or more", () => {
    expect(stemOf("deployments")).toBe("deploy");
    expect(stemOf("привет")).toBe("привет");
    expect(trigramsOf("deploy")).toEqual(["dep", "epl", "plo", "loy"]);
    expect(trigramsOf("go")).toEqual([]);
  });

  it("gives aligned words and stems, unspaced characters alone with a gap after each run, and the vocabulary", () => {
    const terms = indexTerms(["Deploying the servers 東京", "report.pdf"]);
    expect(terms.words).toEqual(["deploying", "the", "servers", "東京", null, "report", "pdf"]);
    expect(terms.stems).toEqual(["deploy", "the", "server", "東京", null, "report", "pdf"]);
    expect(terms.grams).toEqual(["東", "京", null]);
    expect(terms.vocabulary).toEqual(["deploying", "the", "servers", "report", "pdf"]);
  });
});
