import { describe, expect, it } from "vitest";
import { MAX_FILE_NAME_CHARS } from "@shared/protocol/attachments.js";
import { cleanFileName } from "./names.js";

describe("cleanFileName", () => {
  it("keeps an ordinary name as it is, NFC-normalized", () => {
    expect(cleanFileName("report 2026.pdf")).toBe("report 2026.pdf");
    expect(cleanFileName("résumé.pdf")).toBe("résumé.pdf");
    // e + COMBINING ACUTE ACCENT becomes é.
    expect(cleanFileName("re\u0301sume\u0301.pdf")).toBe("résumé.pdf");
    expect(cleanFileName("👩‍💻 notes.txt")).toBe("👩‍💻 notes.txt");
    expect(cleanFileName("می‌خواهم.txt")).toBe("می‌خواهم.txt");
    expect(cleanFileName(".bashrc")).toBe(".bashrc");
  });

  it("keeps the base name only, whatever the separator", () => {
    expect(cleanFileName("../../etc/passwd")).toBe("passwd");
    expect(cleanFileName("C:\\Users\\ada\\cv.pdf")).toBe("cv.pdf");
    expect(cleanFileName("/abs/path/to/a.png")).toBe("a.png");
    expect(cleanFileName("mixed/dir\\name.txt")).toBe("name.txt");
  });

  it("removes control characters, bidi controls and invisible format characters", () => {
    expect(cleanFileName("bell\u0007\u001b[31m.txt")).toBe("bell[31m.txt");
    expect(cleanFileName("nul\u0000.txt")).toBe("nul.txt");
    expect(cleanFileName("line\r\nbreak\u2028.txt")).toBe("linebreak.txt");
    expect(cleanFileName("c1\u0085\u009b.txt")).toBe("c1.txt");
    expect(cleanFileName("invoice\u202Efdp.exe")).toBe("invoicefdp.exe");
    expect(cleanFileName("a\u2066b\u2069\u200E\u200F\u061C.txt")).toBe("ab.txt");
    expect(cleanFileName("zero\u200Bwidth\uFEFF\u00AD.txt")).toBe("zerowidth.txt");
    expect(cleanFileName("tag\u{E0041}\u{E0042}.txt")).toBe("tag.txt");
  });

  it("replaces a lone surrogate rather than keep a string that is not text", () => {
    expect(cleanFileName("a\uD800b.txt")).toBe("a\uFFFDb.txt");
    expect(cleanFileName("a\uDC00.txt")).toBe("a\uFFFD.txt");
  });

  it("falls back to \"file\" when nothing is left, or only dots", () => {
    for (const raw of [undefined, "", "   ", ".", "..", "...", "a/", "dir/..", "\u202E", "\u0000\u0001"]) expect(cleanFileName(raw), JSON.stringify(raw)).toBe("file");
  });

  it("cuts a long name to 255 UTF-16 units in its stem, keeping the extension, never inside a surrogate pair", () => {
    expect(cleanFileName(`${"a".repeat(400)}.pdf`)).toBe(`${"a".repeat(251)}.pdf`);
    expect(cleanFileName("b".repeat(300))).toBe("b".repeat(MAX_FILE_NAME_CHARS));
    // 😀 is two units: a cut that would fall between them drops the whole character.
    const emoji = cleanFileName(`xy${"😀".repeat(200)}.png`);
    expect(emoji.length).toBeLessThanOrEqual(MAX_FILE_NAME_CHARS);
    expect(emoji.endsWith(".png")).toBe(true);
    expect(emoji).toBe(`xy${"😀".repeat(124)}.png`);
  });
});
